"""Sorting on the value, not the text: '10' after '9', '0.00000001' before '0.1', times as integers."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel

from gui.columns import SORT_ROLE, ColumnsModel


class SortProxy(QSortFilterProxyModel):
    """Compares the source's `sort_key` (Decimal stays Decimal: no float, no string order)."""

    def __init__(self, source: ColumnsModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source = source
        self.setSourceModel(source)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)  # a changed price re-sorts its row

    def lessThan(
        self, left: QModelIndex | QPersistentModelIndex, right: QModelIndex | QPersistentModelIndex
    ) -> bool:
        # Read the Python values straight from the model: a data() round trip through Qt costs more,
        # and this runs n*log(n) times for a big insert.
        key = self._source.columns[left.column()].sort_key
        value = self._source.value
        return bool(key(value(left.row())) < key(value(right.row())))
