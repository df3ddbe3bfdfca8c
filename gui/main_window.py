"""The main window: an Overview tab, then one tab per account; geometry and tab survive a restart."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QByteArray, QSettings, QSize, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import QMainWindow, QStyle, QTabWidget, QWidget

from gui.account_tab import AccountTab
from gui.coalescer import FlushClock
from gui.controller import AccountController
from gui.overview_tab import OverviewTab
from gui.privacy import SHORTCUT as PRIVACY_SHORTCUT
from gui.privacy import privacy
from gui.style import STATE_ICON_SIZE, state_icon
from gui.text import STATE_TEXT
from streams.model import now_ms

ORGANISATION = "account-monitor"
APPLICATION = "account-monitor"
OVERVIEW_KEY = "overview"  # the saved tab is a key, not an index: accounts may be added or removed


class MainWindow(QMainWindow):
    closed = Signal()  # the user closed the window: the app stops the runners and quits
    manage_accounts_requested = Signal()  # Accounts > Manage accounts: the app opens the accounts dialog
    account_added = Signal(object)  # an AccountController got a tab while the app runs
    account_removed = Signal(str)  # an account id lost its tab

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
        self._build_menus()
        self.resize(1180, 760)
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self.tick)
        self._clock.start()
        self.tick()
        self._restore()

    def account_tab(self, account_id: str) -> AccountTab:
        return next(tab for tab in self.account_tabs if tab.controller.account_id == account_id)

    def add_account(self, controller: AccountController, position: int | None = None) -> AccountTab:
        """A tab for an account added (or changed) while the app runs; `position` among the accounts."""
        position = len(self.account_tabs) if position is None else position
        tab = AccountTab(controller)
        self.controllers.insert(position, controller)
        self.account_tabs.insert(position, tab)
        self.tabs.insertTab(position + 1, tab, controller.title)
        self.overview.add_tab(tab, position)
        controller.status.connect(self._refresh_tab_icons)
        self._refresh_tab_icons()
        self.account_added.emit(controller)
        return tab

    def remove_account(self, account_id: str) -> int:
        """Take an account's tab away (its controller must be stopped); returns where it was."""
        tab = self.account_tab(account_id)
        position = self.account_tabs.index(tab)
        tab.controller.status.disconnect(self._refresh_tab_icons)
        self.overview.remove_tab(tab)
        self.tabs.removeTab(self.tabs.indexOf(tab))
        del self.account_tabs[position], self.controllers[position]
        tab.deleteLater()
        self.account_removed.emit(account_id)
        return position

    def _build_menus(self) -> None:
        accounts = self.menuBar().addMenu("&Accounts")
        self.manage_accounts_action = QAction("&Manage accounts…", self)
        self.manage_accounts_action.setShortcut(QKeySequence("Ctrl+Shift+A"))
        self.manage_accounts_action.triggered.connect(self.manage_accounts_requested)
        accounts.addAction(self.manage_accounts_action)
        view = self.menuBar().addMenu("&View")
        switch = privacy()
        switch.restore(self.settings)
        self.privacy_action = QAction("&Hide amounts", self)
        self.privacy_action.setCheckable(True)
        self.privacy_action.setChecked(switch.hidden)
        self.privacy_action.setShortcut(QKeySequence(PRIVACY_SHORTCUT))
        self.privacy_action.setToolTip("Privacy mode: hide every balance, order and fill amount")
        self.privacy_action.toggled.connect(lambda on: switch.set_hidden(on, self.settings))
        switch.changed.connect(self._privacy_changed)
        view.addAction(self.privacy_action)
        self._privacy_changed(switch.hidden)

    def _privacy_changed(self, hidden: bool) -> None:
        self.privacy_action.setChecked(hidden)
        self.setWindowTitle("Account Monitor — amounts hidden" if hidden else "Account Monitor")

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
        for tab in self.account_tabs:
            index = self.tabs.indexOf(tab)
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
