"""Coalesce an account's diffs before painting: a burst of thousands of updates becomes a few flushes.

Pending changes are merged per row (the latest balance or order wins, fills accumulate); a single-shot
timer flushes them at most once per interval, so the window repaints at most ~10 times a second
however fast the exchange talks. The coalescers of one window share a `FlushClock`, so the accounts
flush together: one repaint of the window per interval, not one per account out of step.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from streams.store import Changes


class FlushClock(QObject):
    """One timer for several coalescers: armed by the first that has something, it flushes every one
    that has, in one go."""

    def __init__(self, interval_ms: int = 100, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._waiting: dict[Coalescer, None] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def want(self, coalescer: Coalescer) -> None:
        self._waiting[coalescer] = None
        if not self._timer.isActive():
            self._timer.start()

    def drop(self, coalescer: Coalescer) -> None:
        self._waiting.pop(coalescer, None)

    def _tick(self) -> None:
        waiting, self._waiting = self._waiting, {}
        for coalescer in waiting:
            coalescer.flush()


class Coalescer(QObject):
    flushed = Signal(object)  # Changes; object, not dict-like types, so nothing is converted on the way

    def __init__(
        self, interval_ms: int = 100, parent: QObject | None = None, clock: FlushClock | None = None
    ) -> None:
        super().__init__(parent)
        self.flushes = 0
        self._pending = Changes()
        self._armed = False
        self._clock = clock
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.flush)

    def add(self, changes: Changes) -> None:
        """Queue a diff; the first one after a flush arms the timer, the rest ride along."""
        self._pending.merge(changes)
        if not self._armed:
            self._armed = True
            if self._clock is not None:
                self._clock.want(self)
            else:
                self._timer.start()

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def flush(self) -> None:
        """Emit everything queued now (the timer calls this; so may a caller that cannot wait)."""
        self._timer.stop()
        if self._clock is not None:
            self._clock.drop(self)
        self._armed = False
        batch, self._pending = self._pending, Changes()
        if batch:
            self.flushes += 1
            self.flushed.emit(batch)
