"""UI responsiveness: 5 accounts in the real window, a burst of balance frames into them.

The simulators (second process) write 10,000 frames/s in total (spread evenly over the accounts, 10 ms
ticks) for 10 s: one-currency BitoPro balance frames, each changing a value. In the GUI process a
10 ms QTimer records its ticks: the event-loop stall is the gap between ticks (p50/p99/max over the
burst). After the last frame is written, the time until every account's balance table holds the
simulator's final values (checked after each coalesced flush) is the catch-up time.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from typing import Any

from tests.benchmarks.report import header, percentile, say
from tests.benchmarks.simproc import SimProcess

FEED = "bitopro-balance-1"


def main(accounts: int = 5, rate: int = 10_000, seconds: float = 10.0) -> dict[str, Any]:
    from tests.benchmarks import guiharness

    header(f"UI responsiveness: {accounts} accounts, {rate:,} frames/s for {seconds:g} s into the window")
    exchanges = ["bitopro"] * accounts  # the burst is BitoPro balance frames (FEED)
    say(f"accounts: {', '.join(exchanges)}")
    result: dict[str, Any] = {}

    async def scenario(window: Any, sims: list[SimProcess]) -> None:
        from PySide6.QtCore import QTimer

        [sim] = sims
        per_account = int(rate * seconds / accounts)
        truths = await sim.prepare(FEED, per_account)
        expected = [dict(t.balances) for t in truths]
        tabs = window.account_tabs
        final_at: list[float] = []
        burst_over = asyncio.Event()

        def check(*_: object) -> None:
            if (
                burst_over.is_set()
                and not final_at
                and all(tab.balance_model.values() == want for tab, want in zip(tabs, expected, strict=True))
            ):
                final_at.append(time.time())

        for tab in tabs:
            tab.coalescer.flushed.connect(check)  # after AccountTab.apply: connected later
        ticks: list[float] = []
        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
        timer.start()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        sent = await sim.blast(rate)
        cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
        burst_ticks = len(ticks)
        burst_over.set()
        check()
        async with asyncio.timeout(60):
            while not final_at:
                await asyncio.sleep(0.005)
                check()
        timer.stop()
        gaps = [(b - a) * 1000 for a, b in itertools.pairwise(ticks[:burst_ticks])]
        if os.environ.get("BENCH_DEBUG"):
            say(
                "long gaps (ms into the burst: gap ms): "
                + ", ".join(
                    f"{(ticks[i] - ticks[0]) * 1000:.0f}: {g:.0f}" for i, g in enumerate(gaps) if g > 30
                )
            )
        result.update(
            frames=sent.frames,
            send_s=sent.last - sent.first,
            stall_p50_ms=percentile(gaps, 50),
            stall_p99_ms=percentile(gaps, 99),
            stall_max_ms=max(gaps),
            ticks=len(gaps),
            final_ms=(final_at[0] - sent.last) * 1000,
            flushes=sum(tab.coalescer.flushes for tab in tabs),
            cpu=cpu,
        )

    guiharness.run(accounts, scenario, exchanges=exchanges)
    say(
        f"burst: {result['frames']:,} frames written in {result['send_s']:.2f} s "
        f"({result['frames'] / result['send_s']:,.0f} frames/s); {result['flushes']} table flushes; "
        f"window process CPU {result['cpu']:.0%} of one core during the burst"
    )
    say(
        f"event-loop stall (gap between 10 ms timer ticks, {result['ticks']} gaps): "
        f"p50 {result['stall_p50_ms']:.1f} ms, p99 {result['stall_p99_ms']:.1f} ms, max {result['stall_max_ms']:.1f} ms"
    )
    say(f"tables final {result['final_ms']:.0f} ms after the last frame was written")
    return result
