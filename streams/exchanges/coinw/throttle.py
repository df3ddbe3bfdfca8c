"""Client-side rate limits: at most N calls of one REST command in any window of P seconds.

CoinW publishes per-command limits only in places (30 per 2 s for returnOrderTrades); CoinW.Net
throttles the others (protocol notes, section 7). A call's slot is counted from when its answer came
back, not from when it was sent: the server saw it somewhere in between, so a window measured from
the answer is never shorter on the server's clock than on ours.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator


class Throttle:
    def __init__(self, limit: int, period_s: float) -> None:
        if limit < 1 or period_s <= 0:
            raise ValueError("a throttle needs a positive limit and period")
        self.limit = limit
        self.period_s = period_s
        self._done: deque[float] = deque()  # when recent calls finished (loop time)
        self._in_flight = 0
        self._changed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait until a call may go out, then hold its slot while it runs."""
        loop = asyncio.get_running_loop()
        async with self._changed:
            while True:
                now = loop.time()
                while self._done and self._done[0] <= now - self.period_s:
                    self._done.popleft()
                if len(self._done) + self._in_flight < self.limit:
                    break
                timeout = self._done[0] + self.period_s - now if self._done else None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout)
            self._in_flight += 1
        try:
            yield
        finally:
            async with self._changed:
                self._in_flight -= 1
                self._done.append(loop.time())
                self._changed.notify_all()
