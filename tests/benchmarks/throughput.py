"""Stream throughput per feed over a loopback simulator socket: bare client vs ours vs ccxt.pro.

For every feed (tests/benchmarks/feeds/), three clients in turn, each against a fresh simulator in a
second process that writes the same pre-encoded burst on the client's socket:

- bare: a plain websockets client loop, json.loads(parse_float=Decimal) + a Decimal per amount;
- ours: the real engine (AccountRunner: parser, store, change notification to a discarding sink);
- ccxt.pro: the library's watch call, where it has the stream (every URL on the simulator).

Frames/s are counted from the first to the last burst frame processed. Each client's final state is
compared with the simulator's truth and printed. Nothing about speed is asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from streams.config import AccountConfig
from streams.engine import AccountRunner
from streams.exchange import Credentials
from streams.exchanges import EXCHANGES
from streams.model import State, Status
from tests.benchmarks.feeds import Feed, all_feeds
from tests.benchmarks.report import FrameCounter, header, median, say
from tests.benchmarks.simproc import SimProcess


@dataclass(slots=True)
class Run:
    rate: float
    exact: bool
    summary: str


async def _finish(counter: FrameCounter, n: int) -> None:
    async with asyncio.timeout(max(120.0, n / 500)):
        await counter.done.wait()


async def run_bare(feed: Feed, n: int) -> Run:
    assert feed.bare is not None
    async with SimProcess(feed.exchange) as sim:
        [info] = sim.infos
        ws = await feed.bare.open(info)
        try:
            state: dict[str, Any] = {}
            decode = feed.bare.decode
            for _ in range(feed.bare.welcome):
                decode(await ws.recv(), state)
            [truth] = await sim.prepare(feed.key, n)
            counter = FrameCounter()
            counter.arm(n)
            blast = asyncio.create_task(sim.blast())
            async with asyncio.timeout(max(120.0, n / 500)):
                while not counter.done.is_set():
                    decode(await ws.recv(), state)
                    counter.tick()
            await blast
        finally:
            await ws.close()
        exact, summary = feed.bare.compare(state, truth)
        return Run(counter.rate(), exact, summary)


async def run_ours(feed: Feed, n: int) -> Run:
    async with SimProcess(feed.exchange) as sim:
        [info] = sim.infos
        counter = FrameCounter()
        live = asyncio.Event()
        fills: list[Any] = []

        last_update = [time.monotonic()]

        def sink(update: Any) -> None:
            last_update[0] = time.monotonic()
            if isinstance(update, Status):
                if update.state is State.LIVE:
                    live.set()
            elif feed.counts(update):
                counter.tick()
                fills.extend(update.fills)

        account = AccountConfig("bench", feed.exchange, "", info.ws_url, info.rest_url)
        runner = AccountRunner(account, EXCHANGES[feed.exchange], Credentials(info.credentials), sink)
        task = asyncio.create_task(runner.run())
        try:
            async with asyncio.timeout(30):
                await live.wait()
                # Settled, as the peers are before their burst: the REST rounds that follow the
                # subscriptions' acks (Bitstamp reads the new markets' fills) are done.
                while runner.refresh_pending or time.monotonic() - last_update[0] < 0.3:
                    await asyncio.sleep(0.05)
            [truth] = await sim.prepare(feed.key, n)
            counter.arm(n)
            blast = asyncio.create_task(sim.blast())
            await _finish(counter, n)
            await blast
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        exact, summary = feed.compare_ours(runner.store, fills, truth)
        if runner.malformed_frames or runner.reconnects:
            summary += f" (malformed {runner.malformed_frames}, reconnects {runner.reconnects})"
        return Run(counter.rate(), exact, summary)


async def run_ccxt(feed: Feed, n: int) -> Run:
    assert feed.ccxt is not None
    async with SimProcess(feed.exchange) as sim:
        [info] = sim.infos
        counter = FrameCounter()
        exchange = feed.ccxt.make(info, counter.tick)
        ccxt = feed.ccxt

        async def watching() -> None:  # what a ccxt.pro user writes
            while True:
                await ccxt.watch(exchange)

        watcher = asyncio.create_task(watching())
        try:
            async with asyncio.timeout(30):  # subscribed: its snapshot or ack handled
                while counter.total < ccxt.welcome:
                    if watcher.done():
                        watcher.result()
                    await asyncio.sleep(0.01)
            [truth] = await sim.prepare(feed.key, n)
            counter.arm(n)
            blast = asyncio.create_task(sim.blast())
            await _finish(counter, n)
            await blast
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            with contextlib.suppress(Exception):
                await exchange.close()
        exact, summary = feed.ccxt.compare(exchange, truth)
        return Run(counter.rate(), exact, summary)


def _ccxt_missing() -> str | None:
    try:
        import ccxt.pro  # noqa: F401
    except ImportError:
        return "ccxt not installed (pip install -e '.[bench]'): skipped"
    return None


CLIENTS = {"bare": run_bare, "ours": run_ours, "ccxt.pro": run_ccxt}


def _unavailable(feed: Feed, client: str) -> str | None:
    if client == "bare" and feed.bare is None:
        return "no bare client for this feed"
    if client == "ccxt.pro":
        if feed.ccxt is None:
            return "ccxt.pro has no such stream"
        return _ccxt_missing()
    return None


async def measure(feed: Feed, n: int, repeat: int) -> dict[str, list[Run] | str]:
    """Every client `repeat` times, taking turns (bare, ours, ccxt.pro, bare, ...), so that a change in
    the machine's load during the runs falls on all of them alike."""
    outcome: dict[str, list[Run] | str] = {}
    for client in CLIENTS:
        outcome[client] = _unavailable(feed, client) or []
    for _ in range(repeat):
        for client, runs in outcome.items():
            if isinstance(runs, str):
                continue
            try:
                runs.append(await CLIENTS[client](feed, n))
            except Exception as exc:
                outcome[client] = f"failed: {type(exc).__name__}: {exc}"
    return outcome


async def main_async(keys: list[str] | None, frames: int | None, repeat: int) -> dict[str, Any]:
    header(
        f"Throughput over a loopback simulator socket (frames/s; median of {repeat} runs, clients taking turns)"
    )
    results: dict[str, Any] = {}
    for feed in all_feeds():
        if keys and feed.key not in keys:
            continue
        if feed.skip:
            say(f"{feed.title:<38} {feed.skip}")
            results[feed.key] = {"skip": feed.skip}
            continue
        n = frames or feed.default_frames
        row: dict[str, Any] = {"frames": n}
        for client, runs in (await measure(feed, n, repeat)).items():
            if isinstance(runs, str):
                say(f"{feed.title:<38} {client:<9} {runs}")
                row[client] = runs
                continue
            rate = median([r.rate for r in runs])
            spread = ", ".join(f"{r.rate:,.0f}" for r in runs)
            finals = "; ".join(sorted({f"{'EXACT' if r.exact else 'NOT EXACT'}: {r.summary}" for r in runs}))
            say(
                f"{feed.title:<38} {client:<9} {rate:>9,.0f} frames/s  (runs {spread}; {n:,} frames)  final state {finals}"
            )
            row[client] = {
                "rate": rate,
                "runs": [r.rate for r in runs],
                "exact": all(r.exact for r in runs),
                "final": finals,
            }
        bare, ours, pro = (row.get(c) for c in CLIENTS)
        parts = []
        if isinstance(ours, dict) and isinstance(bare, dict):
            parts.append(f"ours/bare {ours['rate'] / bare['rate']:.2f}x")
        if isinstance(ours, dict) and isinstance(pro, dict):
            parts.append(f"ours/ccxt.pro {ours['rate'] / pro['rate']:.2f}x")
        if parts:
            say(f"{feed.title:<38} => {', '.join(parts)}")
        results[feed.key] = row
    return results


def main(keys: list[str] | None = None, frames: int | None = None, repeat: int = 3) -> dict[str, Any]:
    logging.getLogger("websockets").setLevel(logging.ERROR)
    return asyncio.run(main_async(keys, frames, repeat))
