"""Wires fill notifications, the Fills tab and the tray into a running window, from the outside.

`install(window, controllers)` adds the Fills tab (last, so the account tabs keep their places),
forwards every controller's updates to the `FillNotifier`, brings the window to an account's tab when
its notification is clicked, shows "no notification service" in the status bar, and handles
close-to-tray with an event filter. MainWindow itself is not changed beyond what it already offers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSettings
from PySide6.QtWidgets import QMainWindow

from gui.controller import AccountController
from gui.fills_tab import FillsTab
from gui.main_window import MainWindow
from gui.notify_settings import NotificationSettings
from gui.privacy import HIDDEN, amounts_hidden
from gui.settings_dialog import NotificationSettingsDialog
from gui.tray import Tray
from streams.alerts import AlertPolicy, num
from streams.ledger import FillLedger, default_ledger_path
from streams.notifier import DesktopSender, FillNotifier, Sender


def display_name(controller: AccountController) -> str:
    """'BitoPro main': the exchange, then the account's label (once, if the label already has it)."""
    title, exchange = controller.title, controller.exchange_title
    return title if title.lower().startswith(exchange.lower()) else f"{exchange} {title}"


class Notifications(QObject):
    """Everything issue 8 adds to a window; `await aclose()` before the window closes for good."""

    def __init__(
        self,
        window: MainWindow,
        controllers: Sequence[AccountController],
        *,
        ledger_path: Path | None = None,
        sender: Sender | None = None,
        settings: QSettings | None = None,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.controllers = list(controllers)
        self.names = {c.account_id: display_name(c) for c in self.controllers}
        self.settings = NotificationSettings(settings if settings is not None else window.settings)
        demo = bool(self.controllers) and all(c.entry.config.simulated for c in self.controllers)
        self.ledger = FillLedger(ledger_path or default_ledger_path(demo=demo))
        policy = AlertPolicy(
            lambda a: self.names.get(a, a),
            self.settings.load,
            amount_text=lambda amount: HIDDEN if amounts_hidden() else num(amount),  # privacy mode
        )
        self.notifier = FillNotifier(
            self.ledger,
            policy,
            sender if sender is not None else DesktopSender(),
            on_activate=self.show_account,
            on_service=self._service,
        )
        accounts = list(self.names.items())
        self.fills_tab = FillsTab(self.ledger, accounts)
        self.notifier.on_ledger_changed = self.fills_tab.ledger_changed
        self.fills_tab.settings_requested.connect(self.edit_settings)
        window.tabs.addTab(self.fills_tab, "Fills")
        for controller in self.controllers:
            self._follow(controller)
        self.tray = Tray(self.controllers, self.names, self)
        window.account_added.connect(self._added)
        window.account_removed.connect(self._removed)
        self.tray.show_requested.connect(self.show_window)
        self.tray.quit_requested.connect(self.quit)
        self._quitting = False
        window.installEventFilter(self)

    def _follow(self, controller: AccountController) -> None:
        spec = controller.entry.spec
        account = controller.account_id
        self.notifier.add_account(account, match_across=bool(spec and spec.match_fills_across_sources))
        controller.status.connect(lambda update, a=account: self.notifier.update(a, update))
        controller.changed.connect(lambda update, a=account: self.notifier.update(a, update))

    def _added(self, controller: AccountController) -> None:
        """An account added (or re-created after an edit) from the accounts dialog while running."""
        self.controllers.append(controller)
        self.names[controller.account_id] = display_name(controller)
        self._follow(controller)
        self.fills_tab.add_account(controller.account_id, self.names[controller.account_id])
        self.tray.add(controller)

    def _removed(self, account_id: str) -> None:
        """Its fills stay in the history; it leaves the tray and the list of running accounts."""
        self.controllers = [c for c in self.controllers if c.account_id != account_id]
        self.tray.remove(account_id)

    # ------------------------------------------------------------------ window

    def show_window(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    def show_account(self, account: str) -> None:
        """A notification was clicked: that account's tab, in front."""
        self.show_window()
        self.window.tabs.setCurrentWidget(self.window.account_tab(account))

    def _service(self, problem: str | None) -> None:
        self.window.statusBar().showMessage(problem or "Desktop notifications are back")

    def edit_settings(self) -> NotificationSettingsDialog:
        dialog = NotificationSettingsDialog(
            self.settings, list(self.names.items()), tray_available=self.tray.available, parent=self.window
        )
        dialog.open()
        return dialog

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Close to tray: the window hides instead of closing, if the user asked and a tray exists."""
        if (
            watched is self.window
            and event.type() == QEvent.Type.Close
            and not self._quitting
            and self.tray.available
            and self.settings.close_to_tray
        ):
            event.ignore()
            QMainWindow.hide(self.window)
            return True
        return super().eventFilter(watched, event)

    def quit(self) -> None:
        """The tray's Quit: close the window for real (the app then stops the runners)."""
        self._quitting = True
        self.window.close()

    async def aclose(self) -> None:
        self._quitting = True
        with contextlib.suppress(RuntimeError):  # the window may be gone already (Qt deleted it)
            self.window.removeEventFilter(self)
        self.tray.hide()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(3):  # a hung notification service must not hang the quit
                await self.notifier.drain()
        await self.notifier.aclose()
        self.notifier.on_ledger_changed = None
        self.fills_tab.detach()
        self.ledger.close()
