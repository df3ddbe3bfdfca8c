"""One account's tab: its state, balances, open orders and fills; or the reason it cannot run."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QLabel,
    QSplitter,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.account_extras import AccountExtras
from gui.balance_model import BalanceModel
from gui.coalescer import Coalescer, FlushClock
from gui.controller import AccountController
from gui.fills_model import FillsModel
from gui.orders_model import OrdersModel
from gui.status_header import StatusHeader
from gui.style import ERROR_COLOUR
from gui.views import Mode, table_view
from streams.model import State, Status, now_ms
from streams.store import Changes

_FIT = Mode.ResizeToContents


class AccountTab(QWidget):
    """Updates reach the models through a per-account `Coalescer`, so a burst never freezes the window.
    When the account is not live the tables keep their last good rows, greyed, under a stale badge."""

    balances_applied = Signal()  # after a flush changed balances: the overview re-sums its totals

    def __init__(
        self, controller: AccountController, parent: QWidget | None = None, clock: FlushClock | None = None
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.balance_model = BalanceModel(self)
        self.orders_model = OrdersModel(self)
        self.fills_model = FillsModel(self)
        self.coalescer = Coalescer(parent=self, clock=clock)
        self.header = StatusHeader()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(8)
        layout.addWidget(self.header)
        self.extras = AccountExtras(self)  # token expiry/paste, raw payloads; hidden where none apply
        layout.addWidget(self.extras)
        if controller.error is not None:
            layout.addWidget(_error_page(controller.error), 1)
        else:
            layout.addWidget(self._tables(), 1)
        controller.changed.connect(self.coalescer.add)
        self.coalescer.flushed.connect(self.apply)
        controller.status.connect(self.show_status)
        self.show_status(controller.last_status)

    def _tables(self) -> QSplitter:
        self.balance_view = table_view(self.balance_model, modes=(_FIT,))
        self.orders_view = table_view(
            self.orders_model,
            modes=(_FIT, _FIT, _FIT, Mode.Stretch, Mode.Stretch, Mode.Stretch, _FIT, _FIT),
            sort_column=7,  # newest order first
            sort_order=Qt.SortOrder.DescendingOrder,
        )
        self.fills_view = table_view(
            self.fills_model, sortable=False, modes=(_FIT, _FIT, _FIT, _FIT, _FIT, Mode.Stretch)
        )
        self.balance_box = _boxed(self._polled("Balances"), self.balance_view)
        polled_s = self._balances_polled_s()
        if polled_s:
            self.balance_box.setToolTip(
                f"{self.controller.exchange_title} sends no balance updates: balances are read over REST every "
                f"{polled_s:g} s and shortly after each order or trade event"
            )
        self.orders_box = _boxed("Open orders", self.orders_view)
        self.fills_box = _boxed("Activity", self.fills_view)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.setChildrenCollapsible(False)
        top.addWidget(self.balance_box)
        top.addWidget(self.orders_box)
        top.setStretchFactor(0, 2)
        top.setStretchFactor(1, 3)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(top)
        split.addWidget(self.fills_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.splitter = split
        return split

    def apply(self, changes: Changes) -> None:
        """Apply one coalesced diff to the models: row inserts, removals and changes only."""
        if changes.balances:
            self.balance_model.apply(changes.balances)
        if changes.orders:
            self.orders_model.apply(changes.orders)
        if changes.fills:
            self.fills_model.add(changes.fills)
        self._update_titles()
        self._update_stale()
        self.tick(now_ms())  # 'updated 0 s ago' now, not at the next tick of the clock
        if changes.balances:
            self.balances_applied.emit()

    def show_status(self, status: Status) -> None:
        self.header.show_status(status)
        self._update_stale()

    def tick(self, now_ms: int) -> None:
        """Once a second: 'updated N s ago' moves on even when nothing arrives (that is the point)."""
        self.header.tick(self.controller.last_data_ms, now_ms)

    @property
    def stale(self) -> bool:
        """Not live, but showing data from before: greyed rows and the stale badge."""
        has_data = self.balance_model.row_count() > 0 or self.orders_model.row_count() > 0
        return has_data and self.controller.last_status.state is not State.LIVE

    def _update_stale(self) -> None:
        stale = self.stale
        self.balance_model.set_stale(stale)
        self.orders_model.set_stale(stale)
        self.header.show_stale(stale)

    def _update_titles(self) -> None:
        if self.controller.error is None:
            self.balance_box.setTitle(self._polled(f"Balances ({self.balance_model.row_count()})"))
            self.orders_box.setTitle(f"Open orders ({self.orders_model.row_count()})")

    def _balances_polled_s(self) -> float | None:
        spec = self.controller.entry.spec
        return spec.balances_polled_s if spec is not None else None

    def _polled(self, title: str) -> str:
        """Where the exchange gives balances only by polling, the title says so instead of
        pretending they are live."""
        polled_s = self._balances_polled_s()
        return f"{title} · polled every {polled_s:g} s" if polled_s else title


def _boxed(title: str, view: QTableView) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(6, 6, 6, 6)
    layout.addWidget(view)
    return box


def _error_page(error: str) -> QWidget:
    """In place of the tables: why this account cannot run (missing keyring entry, unsupported exchange)."""
    page = QWidget()
    page.setObjectName("errorPage")
    icon = QLabel()
    icon.setPixmap(page.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(48, 48))
    title = QLabel("This account cannot be monitored")
    title.setStyleSheet(f"font-size: 15pt; font-weight: 700; color: {ERROR_COLOUR};")
    message = QLabel(error)
    message.setObjectName("errorText")
    message.setWordWrap(True)
    message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    message.setStyleSheet("font-size: 11pt;")
    hint = QLabel("The other accounts keep running. Fix the cause and restart Account Monitor.")
    hint.setStyleSheet("color: palette(placeholder-text);")
    layout = QVBoxLayout(page)
    layout.setContentsMargins(48, 24, 48, 24)
    layout.addStretch(1)
    for widget in (icon, title, message, hint):
        widget.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(widget)  # full width: a word-wrapped label squeezed by an alignment loses lines
    layout.addStretch(2)
    return page
