"""Coalesce an account's diffs before painting: a burst of thousands of updates becomes a few flushes.

Pending changes are merged per row (the latest balance or order wins, fills accumulate); a single-shot
timer flushes them at most once per interval, so the window repaints at most ~10 times a second
however fast the exchange talks.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from streams.store import Changes


class Coalescer(QObject):
    flushed = Signal(object)  # Changes; object, not dict-like types, so nothing is converted on the way

    def __init__(self, interval_ms: int = 100, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.flushes = 0
        self._pending = Changes()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.flush)

    def add(self, changes: Changes) -> None:
        """Queue a diff; the first one after a flush arms the timer, the rest ride along."""
        self._pending.merge(changes)
        if not self._timer.isActive():
            self._timer.start()

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def flush(self) -> None:
        """Emit everything queued now (the timer calls this; so may a caller that cannot wait)."""
        self._timer.stop()
        batch, self._pending = self._pending, Changes()
        if batch:
            self.flushes += 1
            self.flushed.emit(batch)
