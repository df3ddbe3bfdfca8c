"""Latency of a fill notification: the simulator writes a fill frame -> the Notify call is on D-Bus.

`python -m tests.benchmarks notify` runs it on a private session bus with dunst. By hand, on a session bus
with a notification daemon, e.g. as .ci/test does:

    xvfb-run -a dbus-run-session -- bash -c 'dunst & sleep 1; .venv/bin/python tests/benchmarks/notify_latency.py'

(dunst's own config, default timeouts. With `timeout = 0`, as .ci/test sets it, a thousand notifications
pile up on screen and dunst 1.9 exited during one run here.)

What is measured, per fill: from the moment the BitoPro simulator hands the USER_TRADE frame to its
websocket (wall clock, just before `connection.send`) to the moment the bus delivered our Notify call
to dbus-monitor (its `time=` stamp, same wall clock). In between: websocket, parser, store, the
ledger's SQLite claim (WAL, committed), the policy (which waits for the order frame from the other
stream when the fill frame arrives first), desktop-notifier and dbus-fast. Simulator, engine and
notifier share one asyncio loop in this process.

Coalescing would merge fills closer than 2 s/3 apart into a summary, so the policy runs with the
burst limit off and the fills are spaced (`--spacing`, default 25 ms): this times the path of a single
fill notification, not the summary. Prints figures; asserts only that every fill was announced once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from streams.alerts import AlertPolicy, AlertSettings
from streams.config import AccountConfig
from streams.engine import AccountRunner, Timing
from streams.exchange import Credentials
from streams.exchanges.bitopro import SPEC
from streams.exchanges.bitopro.simulator import TRADES, BitoProSimulator
from streams.ledger import FillLedger
from streams.model import Side, State, Status
from streams.notifier import DesktopSender, FillNotifier
from tests.notify_bus import NotifyWatcher

STEP = Decimal("0.01")
_FILLED = re.compile(r"BUY ([\d.,]+) of")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(fills: int, spacing_s: float) -> dict[str, float]:
    sim = BitoProSimulator(seed=5)
    sim.truth.set_balance("USDT", "10000000")
    await sim.start()
    sent_at: dict[int, float] = {}  # fill number -> wall time its frame was handed to the socket
    numbering: list[int] = []

    def tap_trades() -> None:
        """Wrap the trade stream's send so the frame's departure is stamped."""
        for client in sim.clients(TRADES):
            if getattr(client.connection, "_stamped", False):
                continue
            original = client.connection.send

            async def send(text, *args, _original=original, **kwargs):
                if '"USER_TRADE"' in text and numbering:
                    sent_at[numbering.pop(0)] = time.time()
                return await _original(text, *args, **kwargs)

            client.connection.send = send
            client.connection._stamped = True

    with tempfile.TemporaryDirectory() as folder:
        ledger = FillLedger(Path(folder) / "fills.sqlite3")
        policy = AlertPolicy(lambda a: "BitoPro bench", lambda a: AlertSettings(), burst_count=10**9)
        notifier = FillNotifier(ledger, policy, DesktopSender())
        notifier.add_account("bench", match_across=True)
        states: list[State] = []

        def sink(update):
            notifier.update("bench", update)
            if isinstance(update, Status):
                states.append(update.state)

        account = AccountConfig("bench", "bitopro", "bench", sim.ws_url, sim.rest_url)
        runner = AccountRunner(
            account, SPEC, Credentials(sim.credentials), sink, timing=Timing(resync_s=3600)
        )
        task = asyncio.create_task(runner.run())
        while State.LIVE not in states:
            await asyncio.sleep(0.01)
        tap_trades()
        watcher = NotifyWatcher().start()
        order = sim.truth.place_order("SOL/USDT", Side.BUY, "150", STEP * fills)
        await asyncio.sleep(0.2)
        started = time.perf_counter()
        for n in range(1, fills + 1):
            numbering.append(n)
            sim.truth.fill_order(order.order_id, STEP)
            await asyncio.sleep(spacing_s)
        deadline = time.monotonic() + 60
        while len(watcher.snapshot()) < fills and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        await notifier.drain()
        delivered = len(notifier.sent)  # replies from the daemon: it took each one
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await notifier.aclose()
        await sim.stop()
        watcher.close()
        ledger.close()

    calls = watcher.snapshot()
    latencies = []
    for call in calls:
        match = _FILLED.search(call.summary)
        filled = Decimal(match[1].replace(",", "")) if match else STEP * fills  # the last reads "Filled"
        n = int(filled / STEP)
        latencies.append((call.time - sent_at[n]) * 1000)
    assert len(calls) == fills == delivered, f"{len(calls)} Notify calls, {delivered} taken, {fills} fills"
    print(
        f"fills: {fills}, spacing {spacing_s * 1000:.0f} ms, wall {elapsed:.1f} s, "
        f"Notify calls seen on the bus: {len(calls)}, taken by the daemon: {delivered}"
    )
    print(
        f"fill frame sent -> Notify on the bus: p50 {statistics.median(latencies):.1f} ms, "
        f"p90 {percentile(latencies, 0.90):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
        f"max {max(latencies):.1f} ms, min {min(latencies):.1f} ms"
    )
    return {
        "fills": fills,
        "p50_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fills", type=int, default=1000)
    parser.add_argument("--spacing", type=float, default=0.025, help="seconds between fills")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH")
    args = parser.parse_args()
    figures = asyncio.run(run(args.fills, args.spacing))
    if args.json:
        Path(args.json).write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
