"""Footprint of the window process: RSS over time with 5 demo accounts busy, then CPU when idle.

The real window (gui.app.run_gui) runs 5 accounts against simulators in a second process. Phase 1:
each simulator makes one random step of account activity per second (orders placed, filled,
cancelled, deposits: what `--demo` shows) for `--minutes`; RSS (VmRSS) is sampled every few seconds.
Printed: RSS after `--warmup` minutes and at the end, and the growth after the warm-up scaled to
10 minutes (end minus warm-up value, and the least-squares slope of all samples after it). Phase 2:
the activity stops; only keepalives flow (websocket pings); CPU time of the process over
`--idle-seconds` as a share of one core.

`--trace` (for finding a leak, not for the figures: it slows the process and costs memory itself):
tracemalloc snapshots at the end of the warm-up and at the end, and the allocation sites that grew
most in between, with their stacks.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from pathlib import Path
from typing import Any

from tests.benchmarks.report import header, say
from tests.benchmarks.simproc import SimProcess


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def slope_per_10_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per 10 minutes."""
    n = len(samples)
    if n < 2:
        return float("nan")
    mean_t = sum(t for t, _ in samples) / n
    mean_m = sum(m for _, m in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    cov = sum((t - mean_t) * (m - mean_m) for t, m in samples)
    return cov / var * 600 if var else float("nan")


async def _fills(sims: list[SimProcess]) -> int:
    total = 0
    for sim in sims:
        total += sum(len(truth.fills) for truth in await sim.truth())
    return total


def _print_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, top: int = 15) -> None:
    """The allocation sites (whole stacks) that grew most between two snapshots."""
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    before, after = before.filter_traces(ignore), after.filter_traces(ignore)
    stats = after.compare_to(before, "traceback")
    total = sum(s.size_diff for s in stats)
    say(f"tracemalloc: Python allocations {total / 2**20:+.2f} MB between the snapshots; the top {top}:")
    for stat in stats[:top]:
        say(f"  {stat.size_diff / 1024:+9.1f} KiB  {stat.count_diff:+7d} blocks")
        for line in stat.traceback.format(limit=6, most_recent_first=True):
            say(f"      {line}")
    say("by the line that allocated:")
    for stat in after.compare_to(before, "lineno")[:top]:
        say(f"  {stat.size_diff / 1024:+9.1f} KiB  {stat.count_diff:+7d} blocks  {stat.traceback[0]}")


def main(
    accounts: int = 5,
    minutes: float = 20,
    warmup: float = 10,
    idle_seconds: float = 60,
    trace: bool = False,
    step_s: float = 1.0,
) -> dict[str, Any]:
    from tests.benchmarks import guiharness

    warmup = min(warmup, minutes)
    header(
        f"Footprint: {accounts} accounts in the window, activity 1 step every {step_s:g} s each for {minutes:g} min "
        f"(warm-up {warmup:g} min), then {idle_seconds:g} s idle"
    )
    say(f"accounts: {', '.join(guiharness.demo_exchanges(accounts))} (the demo's mix)")
    result: dict[str, Any] = {}

    async def scenario(window: Any, sims: list[SimProcess]) -> None:
        if trace:
            tracemalloc.start(12)
        for sim in sims:
            await sim.activity(step_s)
        start = time.monotonic()
        samples: list[tuple[float, float]] = []
        next_print = 0.0
        at_warmup: tracemalloc.Snapshot | None = None
        while (elapsed := time.monotonic() - start) < minutes * 60:
            if trace and at_warmup is None and elapsed >= warmup * 60:
                at_warmup = tracemalloc.take_snapshot()
            samples.append((elapsed, rss_mb()))
            if elapsed >= next_print:
                say(f"  {elapsed / 60:5.1f} min  RSS {samples[-1][1]:6.1f} MB")
                next_print += 60
            await asyncio.sleep(5)
        samples.append((time.monotonic() - start, rss_mb()))
        if at_warmup is not None:
            _print_growth(at_warmup, tracemalloc.take_snapshot())
            tracemalloc.stop()
        after = [(t, m) for t, m in samples if t >= warmup * 60]
        at_warmup = after[0][1]
        end = samples[-1][1]
        span_min = (samples[-1][0] - after[0][0]) / 60
        result.update(
            rss_start=samples[0][1],
            rss_warmup=at_warmup,
            rss_end=end,
            rss_peak=max(m for _, m in samples),
            growth_endpoints=(end - at_warmup) / span_min * 10 if span_min > 0 else float("nan"),
            growth_slope=slope_per_10_min(after),
            span_min=span_min,
            fills=await _fills(sims),
        )
        for sim in sims:
            await sim.quiet()
        await asyncio.sleep(5)  # the last activity's frames and repaints are done
        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.sleep(idle_seconds)
        result["idle_cpu"] = (time.process_time() - cpu0) / (time.monotonic() - wall0)

    guiharness.run(accounts, scenario)
    say(
        f"RSS: {result['rss_start']:.1f} MB when live, {result['rss_warmup']:.1f} MB after {warmup:g} min, "
        f"{result['rss_end']:.1f} MB at {minutes:g} min (peak {result['rss_peak']:.1f} MB); "
        f"{result['fills']} fills on the simulators"
    )
    say(
        f"growth after the warm-up ({result['span_min']:.1f} min): {result['growth_endpoints']:+.2f} MB per 10 min "
        f"(end - warm-up), {result['growth_slope']:+.2f} MB per 10 min (slope)"
    )
    say(f"idle CPU (keepalives only, {idle_seconds:g} s): {result['idle_cpu']:.2%} of one core")
    return result
