"""Instructions per frame on our hot path, counted by valgrind: a figure that does not move with this
virtual machine's speed (frames/s can differ by half between two runs of the same code), for
comparing two versions of the code.

For each feed, a child process runs twice under `valgrind --tool=cachegrind`: it connects the real
engine to an in-process simulator, waits until live, builds the feed's burst, then hands the first N
frames to the engine's frame handler (`AccountRunner._on_frame`, what the socket reader calls for each
message: parser, store, change notification to a discarding sink). The two runs differ only in N, so
(instructions of the larger - of the smaller) / (difference of N) is one frame's cost. The socket is
left out: websockets' share is the same for every version of our code.

Needs valgrind (`apt install valgrind`); says so otherwise.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import subprocess
import sys
from functools import reduce
from typing import Any

from streams.config import AccountConfig
from streams.engine import AccountRunner
from streams.exchange import Credentials
from streams.exchanges import EXCHANGES
from streams.model import State, Status
from tests.benchmarks.feeds import all_feeds
from tests.benchmarks.report import header, say

_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


async def _replay(key: str, count: int, built: int) -> None:
    """The child: engine live on a simulator, then `count` of `built` burst frames through it."""
    feed = next(f for f in all_feeds() if f.key == key)
    spec = EXCHANGES[feed.exchange]
    simulator = spec.make_simulator(seed=1)
    await simulator.start()
    live = asyncio.Event()
    applied = [0]

    def sink(update: Any) -> None:
        if isinstance(update, Status):
            if update.state is State.LIVE:
                live.set()
        elif feed.counts(update):
            applied[0] += 1

    account = AccountConfig(
        "instructions", feed.exchange, "", simulator.ws_url, simulator.rest_url, simulated=True
    )
    runner = AccountRunner(account, spec, Credentials(dict(simulator.credentials)), sink)
    plans: list[Any] = []
    read = runner._read

    def reading(plan: Any, ws: Any) -> Any:  # notes each stream plan as its reader starts
        plans.append(plan)
        return read(plan, ws)

    runner._read = reading  # type: ignore[method-assign]
    task = asyncio.create_task(runner.run())
    try:
        async with asyncio.timeout(300):  # valgrind runs everything some 50 times slower
            await live.wait()
            while runner.refresh_pending:
                await asyncio.sleep(0.05)
        # The feed's stream (BitoPro: one plan per stream), or the one connection (Bitstamp).
        [plan] = [p for p in plans if p.name == feed.stream] or plans
        on_frame = runner._on_frame
        frames = feed.burst(built, simulator).frames[:count]
        applied[0] = 0
        reduce(lambda _, frame: on_frame(plan, frame), frames, None)  # no awaits: nothing else runs
        if applied[0] != count:
            raise SystemExit(f"{key}: {applied[0]} of {count} frames changed the store")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await simulator.stop()


def _count(key: str, frames: int, built: int) -> int:
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "tests.benchmarks.instructions",
        key,
        str(frames),
        str(built),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = _REFS.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"valgrind run failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    return int(found.group(1).replace(",", ""))


def main(keys: list[str] | None, low: int = 2_000, high: int = 6_000) -> dict[str, Any]:
    header(f"Instructions per frame, our hot path (valgrind; runs of {low:,} and {high:,} frames)")
    if shutil.which("valgrind") is None:
        say("valgrind is not installed (apt install valgrind): skipped")
        return {"skip": "no valgrind"}
    results: dict[str, Any] = {}
    for feed in all_feeds():
        if (keys and feed.key not in keys) or feed.skip:
            continue
        per_frame = (_count(feed.key, high, high) - _count(feed.key, low, high)) / (high - low)
        say(f"{feed.title:<38} {per_frame:>10,.0f} instructions/frame")
        results[feed.key] = round(per_frame)
    return results


if __name__ == "__main__":
    logging.disable(logging.WARNING)
    key, frames, built = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    asyncio.run(_replay(key, frames, built))
