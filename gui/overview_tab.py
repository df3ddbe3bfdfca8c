"""The first tab: every account's state at a glance, and balances summed per asset across accounts."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QSize, Qt, Signal
from PySide6.QtWidgets import QGroupBox, QLabel, QSplitter, QVBoxLayout, QWidget

from gui.account_tab import AccountTab
from gui.accounts_model import AccountsModel
from gui.balance_model import BalanceModel
from gui.style import STATE_ICON_SIZE
from gui.totals import sum_balances
from gui.views import Mode, table_view
from streams.model import Balance, State

_FIT = Mode.ResizeToContents


class OverviewTab(QWidget):
    account_activated = Signal(int)  # the row double-clicked: the window shows that account's tab

    def __init__(self, tabs: Sequence[AccountTab], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tabs = list(tabs)
        self.accounts_model = AccountsModel([tab.controller for tab in self._tabs], self)
        self.totals_model = BalanceModel(self)
        self.accounts_view = table_view(
            self.accounts_model, sortable=False, modes=(_FIT, _FIT, _FIT, Mode.Stretch, _FIT)
        )
        self.accounts_view.doubleClicked.connect(self._activated)
        self.accounts_view.setToolTip("Double-click an account to open its tab")
        self.accounts_view.setIconSize(QSize(STATE_ICON_SIZE, STATE_ICON_SIZE))
        self.totals_view = table_view(self.totals_model, modes=(_FIT,))
        self.totals_note = QLabel()
        self.totals_note.setWordWrap(True)
        self.totals_note.setStyleSheet("color: #7a4b00;")
        self.totals_note.hide()

        accounts_box = QGroupBox("Accounts")
        QVBoxLayout(accounts_box).addWidget(self.accounts_view)
        totals_box = QGroupBox("Totals across accounts")
        totals_layout = QVBoxLayout(totals_box)
        totals_layout.addWidget(self.totals_view)
        totals_layout.addWidget(self.totals_note)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(accounts_box)
        split.addWidget(totals_box)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(split)

        for tab in self._tabs:
            self._watch(tab)
        self.refresh_totals()

    def add_tab(self, tab: AccountTab, row: int | None = None) -> None:
        """An account added while the app runs (accounts dialog): a row, and its balances in the totals."""
        row = len(self._tabs) if row is None else row
        self._tabs.insert(row, tab)
        self.accounts_model.add(tab.controller, row)
        self._watch(tab)
        self.refresh_totals()

    def remove_tab(self, tab: AccountTab) -> None:
        tab.balances_applied.disconnect(self.refresh_totals)
        tab.controller.status.disconnect(self._refresh_stale)
        self._tabs.remove(tab)
        self.accounts_model.remove(tab.controller)
        self.refresh_totals()

    def _watch(self, tab: AccountTab) -> None:
        tab.balances_applied.connect(self.refresh_totals)
        tab.controller.status.connect(self._refresh_stale)

    def refresh_totals(self) -> None:
        """Re-sum every account's shown balances; the totals model gets a diff like any other."""
        totals: dict[str, Balance | None] = dict(
            sum_balances(tab.balance_model.values().values() for tab in self._tabs)
        )
        for asset in self.totals_model.values():
            totals.setdefault(asset, None)
        self.totals_model.apply(totals)
        self._refresh_stale()

    def tick(self) -> None:
        self.accounts_model.tick()

    def _refresh_stale(self) -> None:
        """Totals that include an account which is not live are greyed, and the note names it."""
        behind = [
            tab
            for tab in self._tabs
            if tab.balance_model.row_count() and tab.controller.last_status.state is not State.LIVE
        ]
        self.totals_model.set_stale_keys(asset for tab in behind for asset in tab.balance_model.values())
        self.totals_note.setVisible(bool(behind))
        names = ", ".join(tab.controller.title for tab in behind)
        self.totals_note.setText(f"Greyed totals include the last known balances of {names} (not live).")

    def _activated(self, index: QModelIndex) -> None:
        self.account_activated.emit(index.row())
