"""The tray icon: its colour is the worst account state, its tooltip lists the accounts.

Green: every account live. Amber: one is connecting, syncing, stale or reconnecting. Red: one has an
authentication error, is offline, or cannot run. Shown only where the desktop has a tray.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from gui.controller import AccountController
from gui.style import STATE_COLOURS, app_icon
from gui.text import STATE_TEXT
from streams.model import State


class Health(IntEnum):
    LIVE = 0
    STALE = 1
    ERROR = 2


HEALTH_COLOURS = {
    Health.LIVE: STATE_COLOURS[State.LIVE],
    Health.STALE: STATE_COLOURS[State.STALE],
    Health.ERROR: STATE_COLOURS[State.AUTH_ERROR],
}
_HEALTH = {
    State.LIVE: Health.LIVE,
    State.CONNECTING: Health.STALE,
    State.SYNCING: Health.STALE,
    State.STALE: Health.STALE,
    State.RECONNECTING: Health.STALE,
    State.AUTH_ERROR: Health.ERROR,
    State.OFFLINE: Health.ERROR,
}


def health(controller: AccountController) -> Health:
    return Health.ERROR if controller.error else _HEALTH[controller.last_status.state]


def worst(controllers: Sequence[AccountController]) -> Health:
    return max((health(c) for c in controllers), default=Health.LIVE)


def tray_icon(level: Health, size: int = 32) -> QIcon:
    """The app icon with a dot in the health colour in its lower right corner."""
    pixmap = app_icon().pixmap(size, size)
    if pixmap.isNull():
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = QColor(HEALTH_COLOURS[level])
    painter.setPen(QColor("white"))
    painter.setBrush(colour)
    dot = size * 0.55
    painter.drawEllipse(QRectF(size - dot - 0.5, size - dot - 0.5, dot, dot))
    painter.end()
    return QIcon(pixmap)


class Tray(QObject):
    """Owns the QSystemTrayIcon. `show_requested` on a click or 'Show'; `quit_requested` on 'Quit'."""

    show_requested = Signal()
    quit_requested = Signal()

    def __init__(
        self, controllers: Sequence[AccountController], name_of: dict[str, str], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.controllers = list(controllers)
        self.name_of = name_of
        self.available = QSystemTrayIcon.isSystemTrayAvailable()
        self.icon = QSystemTrayIcon(self)
        self.level: Health | None = None
        menu = QMenu()
        show = QAction("Show Account Monitor", menu)
        show.triggered.connect(self.show_requested)
        quit_ = QAction("Quit", menu)
        quit_.triggered.connect(self.quit_requested)
        menu.addAction(show)
        menu.addAction(quit_)
        self._menu = menu
        self.icon.setContextMenu(menu)
        self.icon.activated.connect(self._activated)
        for controller in self.controllers:
            controller.status.connect(self.refresh)
        self.refresh()
        if self.available:
            self.icon.show()

    def add(self, controller: AccountController) -> None:
        self.controllers.append(controller)
        controller.status.connect(self.refresh)
        self.refresh()

    def remove(self, account_id: str) -> None:
        for controller in [c for c in self.controllers if c.account_id == account_id]:
            controller.status.disconnect(self.refresh)
            self.controllers.remove(controller)
        self.refresh()

    def tooltip(self) -> str:
        lines = ["Account Monitor"]
        for c in self.controllers:
            state = "Cannot run" if c.error else STATE_TEXT[c.last_status.state]
            lines.append(f"{self.name_of.get(c.account_id, c.title)}: {state}")
        return "\n".join(lines)

    def refresh(self) -> None:
        level = worst(self.controllers)
        if level != self.level:
            self.level = level
            self.icon.setIcon(tray_icon(level))
        self.icon.setToolTip(self.tooltip())

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.show_requested.emit()

    def hide(self) -> None:
        self.icon.hide()
