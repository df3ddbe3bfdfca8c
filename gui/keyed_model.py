"""A table of keyed rows that applies diffs, so the view repaints only the rows that moved.

Rows stay in arrival order; the view sorts through a `SortProxy`. A diff never resets the model unless
it removes so many scattered rows that one reset is clearly cheaper than hundreds of remove signals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

from PySide6.QtCore import QModelIndex, QObject

from gui.columns import Column, ColumnsModel

T = TypeVar("T")

RESET_ABOVE = 512  # more separate runs of removed rows than this: one reset instead


def ranges(rows: Iterable[int]) -> list[tuple[int, int]]:
    """Row numbers folded into sorted inclusive (first, last) runs: one signal per run, not per row."""
    runs: list[tuple[int, int]] = []
    for row in sorted(rows):
        if runs and runs[-1][1] == row - 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs


class KeyedTableModel(ColumnsModel[T]):
    """Rows keyed by a string (asset, order id). `apply` takes {key: value}; `drops` says which values
    remove their row."""

    def __init__(self, columns: Sequence[Column[T]], parent: QObject | None = None) -> None:
        super().__init__(columns, parent)
        self._keys: list[str] = []
        self._values: dict[str, T] = {}
        self._rows: dict[str, int] = {}
        self._stale_keys: frozenset[str] = frozenset()

    def drops(self, value: T) -> bool:
        """Whether a diff value removes its row (None always does). Orders: a closed one."""
        return False

    def apply(self, diff: Mapping[str, T | None]) -> None:
        """Remove, update in place, then append: rowsRemoved/dataChanged/rowsInserted for those rows only."""
        kept: dict[str, T] = {}
        removed: list[str] = []
        for key, value in diff.items():
            if value is None or self.drops(value):
                if key in self._rows:
                    removed.append(key)
            else:
                kept[key] = value
        if removed:
            self._remove(removed)
        changed = [key for key, value in kept.items() if key in self._rows and self._values[key] != value]
        added = [key for key in kept if key not in self._rows]
        columns = self._moved_columns((self._values[key], kept[key]) for key in changed)
        for key in changed:
            self._values[key] = kept[key]
        if columns is not None:
            first_column, last_column = columns
            for first, last in ranges(self._rows[key] for key in changed):
                self.dataChanged.emit(self.index(first, first_column), self.index(last, last_column))
        if added:
            start = len(self._keys)
            self.beginInsertRows(QModelIndex(), start, start + len(added) - 1)
            for row, key in enumerate(added, start):
                self._keys.append(key)
                self._values[key] = kept[key]
                self._rows[key] = row
            self.endInsertRows()

    def _moved_columns(self, pairs: Iterable[tuple[T, T]]) -> tuple[int, int] | None:
        """The span of columns whose value differs between old and new rows. dataChanged over only
        those keeps the sort proxy from re-sorting (and fitted columns from re-measuring) when the
        sorted or fitted column did not move: a balance's asset never does, its amounts do."""
        keys = [column.sort_key for column in self.columns]
        moved = [False] * len(keys)
        for old, new in pairs:
            for index, key in enumerate(keys):
                if not moved[index] and key(old) != key(new):
                    moved[index] = True
            if all(moved):
                break
        if not any(moved):
            return None
        return moved.index(True), len(moved) - 1 - moved[::-1].index(True)

    def _remove(self, keys: list[str]) -> None:
        runs = ranges(self._rows[key] for key in keys)
        if len(runs) > RESET_ABOVE:
            self.beginResetModel()
            self._forget(keys)
            self.endResetModel()
            return
        for first, last in reversed(runs):  # from the bottom, so the row numbers above stay valid
            self.beginRemoveRows(QModelIndex(), first, last)
            for key in self._keys[first : last + 1]:
                del self._values[key]
            del self._keys[first : last + 1]
            self.endRemoveRows()
        self._rows = {key: row for row, key in enumerate(self._keys)}

    def _forget(self, keys: list[str]) -> None:
        for key in keys:
            del self._values[key]
        gone = set(keys)
        self._keys = [key for key in self._keys if key not in gone]
        self._rows = {key: row for row, key in enumerate(self._keys)}

    def set_stale_keys(self, keys: Iterable[str]) -> None:
        """Grey out only these rows (the overview's totals that include an account which is not live)."""
        stale = frozenset(keys)
        moved = stale ^ self._stale_keys
        self._stale_keys = stale
        for first, last in ranges(self._rows[key] for key in moved if key in self._rows):
            self.repaint_rows(first, last)

    def is_stale(self, row: int) -> bool:
        return self._stale or self._keys[row] in self._stale_keys

    def values(self) -> dict[str, T]:
        """The rows as {key: value}, in arrival order."""
        return {key: self._values[key] for key in self._keys}

    def row_count(self) -> int:
        return len(self._keys)

    def value(self, row: int) -> T:
        return self._values[self._keys[row]]
