"""The activity list: the account's fills, newest first, capped so a busy day cannot grow it forever."""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from PySide6.QtCore import QModelIndex, QObject

from gui.columns import Column, ColumnsModel
from gui.style import LATE_COLOUR, SIDE_COLOURS
from gui.text import clock, date_time
from streams.model import Fill, fmt

MAX_FILLS = 500

_LATE_TIP = "Learnt from the exchange's history after a reconnect: it happened while the stream was down"

FILL_COLUMNS: tuple[Column[Fill], ...] = (
    Column("Time", lambda f: clock(f.time_ms), lambda f: f.time_ms, tooltip=lambda f: date_time(f.time_ms)),
    Column("Market", lambda f: f.market, lambda f: f.market),
    Column("Side", lambda f: f.side.value, lambda f: f.side.value, colour=lambda f: SIDE_COLOURS[f.side]),
    Column("Amount @ Price", lambda f: f"{fmt(f.amount)} @ {fmt(f.price)}", lambda f: f.amount, numeric=True),
    Column("Fee", lambda f: f"{fmt(f.fee)} {f.fee_asset}".rstrip(), lambda f: f.fee, numeric=True),
    Column(
        "",
        lambda f: "late" if f.late else "",
        lambda f: f.late,
        colour=lambda f: LATE_COLOUR,
        tooltip=lambda f: _LATE_TIP if f.late else None,
    ),
)


def _newest_first(fill: Fill) -> int:
    return -fill.time_ms


class FillsModel(ColumnsModel[Fill]):
    """Fills by time, newest on top. A late fill (older, learnt after a gap) goes to its place in time."""

    def __init__(self, parent: QObject | None = None, max_rows: int = MAX_FILLS) -> None:
        super().__init__(FILL_COLUMNS, parent)
        self.max_rows = max_rows
        self._fills: list[Fill] = []

    def add(self, fills: Iterable[Fill]) -> None:
        new = sorted(fills, key=_newest_first)[: self.max_rows]
        if not new:
            return
        if not self._fills or new[-1].time_ms >= self._fills[0].time_ms:
            self.beginInsertRows(QModelIndex(), 0, len(new) - 1)  # the usual case: all newer, one block
            self._fills[:0] = new
            self.endInsertRows()
        else:
            for fill in new:
                row = bisect.bisect_left(self._fills, -fill.time_ms, key=_newest_first)
                if row >= self.max_rows:
                    continue
                self.beginInsertRows(QModelIndex(), row, row)
                self._fills.insert(row, fill)
                self.endInsertRows()
        if len(self._fills) > self.max_rows:
            self.beginRemoveRows(QModelIndex(), self.max_rows, len(self._fills) - 1)
            del self._fills[self.max_rows :]
            self.endRemoveRows()

    def fills(self) -> list[Fill]:
        return list(self._fills)

    def row_count(self) -> int:
        return len(self._fills)

    def value(self, row: int) -> Fill:
        return self._fills[row]
