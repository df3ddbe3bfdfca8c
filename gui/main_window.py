"""The main window: an Overview tab, then one tab per account; geometry and tab survive a restart."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QByteArray, QSettings, QSize, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import QMainWindow, QStyle, QTabWidget, QWidget

from gui.account_tab import AccountTab
from gui.coalescer import FlushClock
from gui.controller import AccountController
from gui.overview_tab import OverviewTab
from gui.style import STATE_ICON_SIZE, state_icon
from gui.text import STATE_TEXT
from streams.model import now_ms

ORGANISATION = "account-monitor"
APPLICATION = "account-monitor"
OVERVIEW_KEY = "overview"  # the saved tab is a key, not an index: accounts may be added or removed


class MainWindow(QMainWindow):
    closed = Signal()  # the user closed the window: the app stops the runners and quits

    def __init__(
        self,
        controllers: Sequence[AccountController],
        settings: QSettings | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Account Monitor")
        self.settings = settings if settings is not None else QSettings(ORGANISATION, APPLICATION)
        self.controllers = list(controllers)
        self.flush_clock = FlushClock(parent=self)  # every account's tables repaint in the same pass
        self.account_tabs = [AccountTab(c, clock=self.flush_clock) for c in self.controllers]
        self.overview = OverviewTab(self.account_tabs)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setIconSize(QSize(STATE_ICON_SIZE, STATE_ICON_SIZE))
        self.tabs.addTab(self.overview, "Overview")
        for tab in self.account_tabs:
            self.tabs.addTab(tab, tab.controller.title)
            tab.controller.status.connect(self._refresh_tab_icons)
        self._refresh_tab_icons()
        self.overview.account_activated.connect(self._show_account)
        self.setCentralWidget(self.tabs)
        self.resize(1180, 760)
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self.tick)
        self._clock.start()
        self.tick()
        self._restore()

    def account_tab(self, account_id: str) -> AccountTab:
        return next(tab for tab in self.account_tabs if tab.controller.account_id == account_id)

    def tick(self) -> None:
        """Every second: ages ('updated N s ago') move on by themselves."""
        now = now_ms()
        self.overview.tick()
        for tab in self.account_tabs:
            tab.tick(now)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._save()
        super().closeEvent(event)
        self.closed.emit()

    def _refresh_tab_icons(self) -> None:
        warning = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        for index, tab in enumerate(self.account_tabs, start=1):
            controller = tab.controller
            status = controller.last_status
            icon: QIcon = warning if controller.error else state_icon(status.state)
            self.tabs.setTabIcon(index, icon)
            self.tabs.setTabToolTip(index, f"{STATE_TEXT[status.state]}: {status.detail}")

    def _show_account(self, row: int) -> None:
        self.tabs.setCurrentWidget(self.account_tabs[row])

    def _tab_key(self) -> str:
        current = self.tabs.currentWidget()
        return current.controller.account_id if isinstance(current, AccountTab) else OVERVIEW_KEY

    def _save(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/tab", self._tab_key())
        self.settings.sync()

    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        key = self.settings.value("window/tab", OVERVIEW_KEY, type=str)
        for tab in self.account_tabs:
            if tab.controller.account_id == key:
                self.tabs.setCurrentWidget(tab)
