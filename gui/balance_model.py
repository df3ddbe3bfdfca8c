"""Balances of one account (or the totals of all), one row per asset."""

from __future__ import annotations

from PySide6.QtCore import QObject

from gui.columns import Column
from gui.keyed_model import KeyedTableModel
from streams.model import Balance, fmt

BALANCE_COLUMNS: tuple[Column[Balance], ...] = (
    Column("Asset", lambda b: b.asset, lambda b: b.asset),
    Column("Total", lambda b: fmt(b.total), lambda b: b.total, numeric=True),
    Column("Available", lambda b: fmt(b.available), lambda b: b.available, numeric=True),
    Column("Locked", lambda b: fmt(b.locked), lambda b: b.locked, numeric=True),
)


class BalanceModel(KeyedTableModel[Balance]):
    """Keyed by asset; a `None` in `Changes.balances` removes the asset."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(BALANCE_COLUMNS, parent)
