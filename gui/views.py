"""Table views configured once, so every table in the app looks and behaves the same."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from gui.columns import ColumnsModel
from gui.sort_proxy import SortProxy

Mode = QHeaderView.ResizeMode


def table_view(
    model: ColumnsModel,
    *,
    sortable: bool = True,
    modes: Sequence[Mode] = (),
    sort_column: int = 0,
    sort_order: Qt.SortOrder = Qt.SortOrder.AscendingOrder,
    parent: QWidget | None = None,
) -> QTableView:
    """A read-only, row-selecting table with alternating rows. `sortable` puts a `SortProxy` between
    the model and the view (click a header to sort on the value). `modes` sets per-column resizing;
    columns without one stretch. The initial sort is `sort_column`, `sort_order`."""
    view = QTableView(parent)
    shown: QAbstractItemModel = SortProxy(model, view) if sortable else model
    view.setModel(shown)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setMinimumSectionSize(48)
    # Fit columns to the rows on screen only: measuring every row on each change is what freezes a
    # big table (Qt's default looks at 1000 rows, through Python, for every dataChanged).
    header.setResizeContentsPrecision(0)
    for column in range(model.columnCount()):
        mode = modes[column] if column < len(modes) else Mode.Stretch
        header.setSectionResizeMode(column, mode)
    if sortable:
        view.setSortingEnabled(True)
        view.sortByColumn(sort_column, sort_order)
    return view
