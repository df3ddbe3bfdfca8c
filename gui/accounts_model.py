"""The overview's account list: one row per account with its state light, detail and data age."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QObject

from gui.columns import Column, ColumnsModel
from gui.controller import AccountController
from gui.style import STATE_COLOURS, state_icon
from gui.text import STATE_TEXT, ago
from streams.model import now_ms

ACCOUNT_COLUMNS: tuple[Column[AccountController], ...] = (
    Column("Account", lambda c: c.title, lambda c: c.title, tooltip=lambda c: c.account_id),
    Column("Exchange", lambda c: c.exchange_title, lambda c: c.exchange_title),
    Column(
        "State",
        lambda c: STATE_TEXT[c.last_status.state],
        lambda c: c.last_status.state.value,
        colour=lambda c: STATE_COLOURS[c.last_status.state],
        icon=lambda c: state_icon(c.last_status.state),
    ),
    Column(
        "Detail",
        lambda c: c.last_status.detail,
        lambda c: c.last_status.detail,
        tooltip=lambda c: c.last_status.detail,
    ),
    Column("Updated", lambda c: ago(c.last_data_ms, now_ms()), lambda c: -c.last_data_ms),
)
_UPDATED = len(ACCOUNT_COLUMNS) - 1


class AccountsModel(ColumnsModel[AccountController]):
    """One row per account, in tab order; rows come and go as the accounts dialog adds or removes
    accounts. Cells follow each controller."""

    def __init__(self, controllers: Sequence[AccountController], parent: QObject | None = None) -> None:
        super().__init__(ACCOUNT_COLUMNS, parent)
        self._controllers = list(controllers)
        for controller in self._controllers:
            controller.status.connect(self._repaint)

    def add(self, controller: AccountController, row: int | None = None) -> None:
        row = len(self._controllers) if row is None else row
        self.beginInsertRows(QModelIndex(), row, row)
        self._controllers.insert(row, controller)
        self.endInsertRows()
        controller.status.connect(self._repaint)

    def remove(self, controller: AccountController) -> None:
        row = self._controllers.index(controller)
        controller.status.disconnect(self._repaint)
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._controllers[row]
        self.endRemoveRows()

    def _repaint(self) -> None:
        """A state changed: repaint every row (a handful of accounts; cheaper than finding the one)."""
        if self._controllers:
            self.dataChanged.emit(
                self.index(0, 0),
                self.index(len(self._controllers) - 1, len(self.columns) - 1),
            )

    def tick(self) -> None:
        """Repaint the 'Updated' column: the age grows even when nothing arrives."""
        if self._controllers:
            self.dataChanged.emit(self.index(0, _UPDATED), self.index(len(self._controllers) - 1, _UPDATED))

    def row_count(self) -> int:
        return len(self._controllers)

    def value(self, row: int) -> AccountController:
        return self._controllers[row]
