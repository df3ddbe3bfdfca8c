"""The Fills tab: the ledger's history of all accounts, newest first, filterable, exportable as CSV.

Backed by the ledger (not by the in-memory activity lists), so it shows fills from earlier runs too,
and what became of each fill's notification. Reloads at most every quarter second after a change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.columns import Column, ColumnsModel
from gui.style import LATE_COLOUR, SIDE_COLOURS
from gui.text import date_time
from gui.views import Mode, table_view
from streams.ledger import FillLedger, LedgerFill, Outcome, write_csv
from streams.model import fmt

# The table holds the newest PAGE_ROWS fills and reads the next page from the ledger when the user
# scrolls to its end (Qt's fetchMore): memory follows what was scrolled to, not the whole history.
# The CSV export has them all.
PAGE_ROWS = 500
ALL = ""

OUTCOME_TEXT = {
    Outcome.PENDING: "…",
    Outcome.NOTIFIED: "notified",
    Outcome.SUMMARISED: "in a summary",
    Outcome.HISTORY: "before first sync",
    Outcome.MUTED: "muted by settings",
    Outcome.UNDELIVERED: "no notification service",
}
LATE_TEXT = "late (while disconnected)"


def history_columns(name_of: Callable[[str], str]) -> tuple[Column[LedgerFill], ...]:
    return (
        Column("Time", lambda r: date_time(r.fill.time_ms), lambda r: r.fill.time_ms),
        Column("Account", lambda r: name_of(r.account), lambda r: name_of(r.account)),
        Column("Market", lambda r: r.fill.market, lambda r: r.fill.market),
        Column(
            "Side",
            lambda r: r.fill.side.value,
            lambda r: r.fill.side.value,
            colour=lambda r: SIDE_COLOURS[r.fill.side],
        ),
        Column("Amount", lambda r: fmt(r.fill.amount), lambda r: r.fill.amount, numeric=True),
        Column("Price", lambda r: fmt(r.fill.price), lambda r: r.fill.price, numeric=True),
        Column(
            "Fee",
            lambda r: f"{fmt(r.fill.fee)} {r.fill.fee_asset}".rstrip(),
            lambda r: r.fill.fee,
            numeric=True,
        ),
        Column(
            "",
            lambda r: LATE_TEXT if r.fill.late else "",
            lambda r: r.fill.late,
            colour=lambda r: LATE_COLOUR,
        ),
        Column("Notification", lambda r: OUTCOME_TEXT[r.outcome], lambda r: r.outcome.value),
    )


class HistoryModel(ColumnsModel[LedgerFill]):
    def __init__(self, name_of: Callable[[str], str], parent: QObject | None = None) -> None:
        super().__init__(history_columns(name_of), parent)
        self._rows: list[LedgerFill] = []
        self.more = False  # the ledger holds older fills than these
        self.fetch_more: Callable[[], None] = lambda: None  # set by the tab: read the next page

    def set_rows(self, rows: list[LedgerFill], more: bool = False) -> None:
        self.more = more
        if rows == self._rows:
            return
        if rows[: len(self._rows)] == self._rows and self._rows:  # a page more: keep the scroll position
            self.beginInsertRows(QModelIndex(), len(self._rows), len(rows) - 1)
            self._rows = rows
            self.endInsertRows()
            return
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return self.more and not parent.isValid()

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> None:  # noqa: B008
        if not parent.isValid():
            self.fetch_more()

    def rows(self) -> list[LedgerFill]:
        return list(self._rows)

    def row_count(self) -> int:
        return len(self._rows)

    def value(self, row: int) -> LedgerFill:
        return self._rows[row]


class FillsTab(QWidget):
    """`accounts`: (id, display name) pairs for the account filter."""

    settings_requested = Signal()

    def add_account(self, account: str, name: str) -> None:
        """An account added while the app runs joins the account filter."""
        self._names[account] = name
        if self.account_filter.findData(account) < 0:
            self.account_filter.addItem(name, account)

    def __init__(
        self, ledger: FillLedger, accounts: Sequence[tuple[str, str]], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ledger: FillLedger | None = ledger
        self._names = dict(accounts)
        self.model = HistoryModel(lambda account: self._names.get(account, account), self)
        self.model.fetch_more = self._show_more
        self._limit = PAGE_ROWS
        self.account_filter = QComboBox()
        self.account_filter.addItem("All accounts", ALL)
        for account, name in accounts:
            self.account_filter.addItem(name, account)
        self.market_filter = QComboBox()
        self.market_filter.addItem("All markets", ALL)
        self.count_label = QLabel()
        export = QPushButton("Export CSV…")
        export.clicked.connect(self._ask_export)
        settings = QPushButton("Notification settings…")
        settings.clicked.connect(self.settings_requested)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Account:"))
        bar.addWidget(self.account_filter)
        bar.addWidget(QLabel("Market:"))
        bar.addWidget(self.market_filter)
        bar.addStretch(1)
        bar.addWidget(self.count_label)
        bar.addWidget(export)
        bar.addWidget(settings)
        fit = Mode.ResizeToContents
        self.view = table_view(self.model, sortable=False, modes=(fit,) * 8 + (Mode.Stretch,))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self._reload = QTimer(self)
        self._reload.setSingleShot(True)
        self._reload.setInterval(250)
        self._reload.timeout.connect(self.refresh)
        self.account_filter.currentIndexChanged.connect(self._filter_changed)
        self.market_filter.currentIndexChanged.connect(self._filter_changed)
        self.refresh()

    def ledger_changed(self) -> None:
        """New fills or outcomes in the ledger: reload soon (bursts become one reload)."""
        if self.ledger is not None and not self._reload.isActive():
            self._reload.start()

    def _filters(self) -> dict[str, object]:
        account = self.account_filter.currentData()
        market = self.market_filter.currentData()
        return {"accounts": [account] if account else None, "market": market or None}

    def detach(self) -> None:
        """The ledger is about to close: keep the rows shown, read no more."""
        self._reload.stop()
        self.ledger = None

    def _filter_changed(self) -> None:
        self._limit = PAGE_ROWS
        self.refresh()

    def _show_more(self) -> None:
        self._limit += PAGE_ROWS
        self.refresh()

    def refresh(self) -> None:
        if self.ledger is None:
            return
        self._refresh_markets()
        rows = self.ledger.fills(**self._filters(), limit=self._limit + 1)  # type: ignore[arg-type]
        more = len(rows) > self._limit
        rows = rows[: self._limit]
        self.model.set_rows(rows, more)
        self.count_label.setText(
            f"newest {len(rows):,} fills (scroll for older)" if more else f"{len(rows):,} fills"
        )

    def _refresh_markets(self) -> None:
        assert self.ledger is not None
        known = [self.market_filter.itemData(i) for i in range(1, self.market_filter.count())]
        markets = self.ledger.markets()
        if markets == known:
            return
        current = self.market_filter.currentData()
        self.market_filter.blockSignals(True)
        self.market_filter.clear()
        self.market_filter.addItem("All markets", ALL)
        for market in markets:
            self.market_filter.addItem(market, market)
        self.market_filter.setCurrentIndex(max(0, self.market_filter.findData(current)))
        self.market_filter.blockSignals(False)

    def export_csv(self, path: Path) -> int:
        """Every fill matching the filters (not only those shown) to `path`; returns the count."""
        assert self.ledger is not None
        with path.open("w", encoding="utf-8", newline="") as out:
            return write_csv(self.ledger.fills(**self._filters()), out)  # type: ignore[arg-type]

    def _ask_export(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export fills", "fills.csv", "CSV files (*.csv)")
        if name:
            self.export_csv(Path(name))
