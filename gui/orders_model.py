"""Open orders of one account, one row per order id; an order that closed leaves the table."""

from __future__ import annotations

from PySide6.QtCore import QObject

from gui.columns import Column
from gui.keyed_model import KeyedTableModel
from gui.style import SIDE_COLOURS
from gui.text import date_time
from streams.model import Order, fmt

ORDER_COLUMNS: tuple[Column[Order], ...] = (
    Column("Market", lambda o: o.market, lambda o: o.market),
    Column("Side", lambda o: o.side.value, lambda o: o.side.value, colour=lambda o: SIDE_COLOURS[o.side]),
    Column("Type", lambda o: o.kind.replace("_", " "), lambda o: o.kind),
    Column("Price", lambda o: fmt(o.price), lambda o: o.price, numeric=True),
    Column("Amount", lambda o: fmt(o.amount), lambda o: o.amount, numeric=True),
    Column("Filled", lambda o: fmt(o.filled), lambda o: o.filled, numeric=True),
    Column("Status", lambda o: o.status.value.replace("_", " "), lambda o: o.status.value),
    Column(
        "Time",
        lambda o: date_time(o.created_ms),
        lambda o: o.created_ms,
        tooltip=lambda o: f"order {o.order_id}, updated {date_time(o.updated_ms)}",
    ),
)


class OrdersModel(KeyedTableModel[Order]):
    """Keyed by order id. A filled, cancelled or rejected order in a diff removes its row."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(ORDER_COLUMNS, parent)

    def drops(self, value: Order) -> bool:
        return not value.status.is_open
