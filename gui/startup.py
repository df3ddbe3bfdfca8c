"""Start-up marks: with -v the app logs when its window was first painted and when the first balance
reached a table, each with the wall-clock time and the time since the process started. The start-up
benchmark (`python -m tests.benchmarks startup`) reads these lines from a real `account-monitor
--demo -v`; no sleeps, no guessing."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, QTimer

log = logging.getLogger(__name__)
_LOADED = time.monotonic()


def since_process_start() -> float:
    """Seconds since the process started (Linux: /proc, 10 ms steps; elsewhere: since this module
    was imported)."""
    try:
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            started_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
            return float(uptime.read().split()[0]) - started_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _LOADED


def mark(step: str) -> None:
    """One log line: the step, the wall-clock time, the time since the process started and the CPU
    time it used so far (which a busy machine does not inflate the way it does wall-clock time)."""
    log.info(
        "startup: %s at=%.6f (%.3f s after process start, cpu %.3f s)",
        step,
        time.time(),
        since_process_start(),
        time.process_time(),
    )


class _FirstPaint(QObject):
    """Application-wide filter that waits for the window's first paint event, then logs once that
    paint pass is done (the next turn of the event loop) and removes itself."""

    def __init__(self, app: QObject) -> None:
        super().__init__(app)
        self._app = app
        app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self._app.removeEventFilter(self)
            QTimer.singleShot(0, lambda: mark("window painted"))
        return False


def watch(app: QObject, tabs: Sequence[object]) -> None:
    """Log the first paint of the window and the first balance shown in any account's table."""
    if not log.isEnabledFor(logging.INFO):
        return
    mark("window shown")
    _FirstPaint(app)
    done: list[bool] = []

    def first_balance() -> None:
        if not done:
            done.append(True)
            mark("first balance shown")

    for tab in tabs:
        tab.balances_applied.connect(first_balance)  # type: ignore[attr-defined]
