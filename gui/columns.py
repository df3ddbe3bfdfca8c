"""What every table here shares: columns described once (title, text, sort value, colour), and the
Qt read side of a model built from them. Subclasses only say how many rows there are and which value
sits in a row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QIcon

from gui.privacy import HIDDEN, amounts_hidden, privacy
from gui.style import STALE_TEXT

T = TypeVar("T")
Index = QModelIndex | QPersistentModelIndex

SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # the value the proxy sorts on: Decimal, int or str

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_STALE_TIP = "Last known value: the connection is not live"


@dataclass(frozen=True, slots=True)
class Column(Generic[T]):
    """One column: its title, the text shown, the value sorted on (a Decimal stays a Decimal) and,
    optionally, colour, tooltip and icon. `numeric` columns are right-aligned so digits line up, and
    they are the amounts: privacy mode (`gui.privacy`) masks their text."""

    title: str
    text: Callable[[T], str]
    sort_key: Callable[[T], Any]
    numeric: bool = False
    colour: Callable[[T], str | None] | None = None
    tooltip: Callable[[T], str | None] | None = None
    icon: Callable[[T], QIcon | None] | None = None


class ColumnsModel(QAbstractTableModel, Generic[T]):
    """A flat table whose cells come from `columns`; `set_stale` greys every row out."""

    def __init__(self, columns: Sequence[Column[T]], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.columns = tuple(columns)
        self._stale = False
        privacy().changed.connect(self._privacy_changed)

    def row_count(self) -> int:
        raise NotImplementedError

    def value(self, row: int) -> T:
        raise NotImplementedError

    @property
    def stale(self) -> bool:
        return self._stale

    def is_stale(self, row: int) -> bool:
        """Whether a row is shown greyed; the whole table, unless a subclass can tell rows apart."""
        return self._stale

    def set_stale(self, stale: bool) -> None:
        """Grey the rows out (data kept from before the connection dropped), or bring the colour back.
        Repaints every row but keeps them: the last good data stays readable."""
        if stale == self._stale:
            return
        self._stale = stale
        if self.row_count():
            self.repaint_rows(0, self.row_count() - 1)

    def repaint_rows(self, first: int, last: int) -> None:
        """Only the colour and tooltip of these rows changed (staleness): no text, no re-sort."""
        self.dataChanged.emit(
            self.index(first, 0),
            self.index(last, len(self.columns) - 1),
            [Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.ToolTipRole],
        )

    def _privacy_changed(self) -> None:
        """Amounts were hidden or shown again: repaint every row's text (no re-sort: values are the same)."""
        if self.row_count():
            self.dataChanged.emit(
                self.index(0, 0),
                self.index(self.row_count() - 1, len(self.columns) - 1),
                [Qt.ItemDataRole.DisplayRole],
            )

    # ------------------------------------------------------------------ Qt model interface

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else self.row_count()

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        column = self.columns[index.column()]
        value = self.value(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            return HIDDEN if column.numeric and amounts_hidden() else column.text(value)
        if role == SORT_ROLE:
            return column.sort_key(value)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column.numeric else _LEFT
        if role == Qt.ItemDataRole.ForegroundRole:
            stale = self.is_stale(index.row())
            colour = STALE_TEXT if stale else column.colour(value) if column.colour else None
            return QColor(colour) if colour else None
        if role == Qt.ItemDataRole.DecorationRole:
            return column.icon(value) if column.icon else None
        if role == Qt.ItemDataRole.ToolTipRole:
            if self.is_stale(index.row()):
                return _STALE_TIP
            return column.tooltip(value) if column.tooltip else None
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].title
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if self.columns[section].numeric else _LEFT
        return None
