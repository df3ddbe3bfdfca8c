"""The long chaos run, opt-in: `SOAK_S=1800 bash .ci/test tests/test_soak.py` for 30 minutes.

Round after round, a chaos scenario (tests/chaos.py, CHAOS_STEPS steps, default 20) on each exchange in
turn, each round with new seeds (printed on failure, replayable with CHAOS_SEED in test_chaos.py).
After every round the process's resident memory (/proc/self/statm) and open file descriptors
(/proc/self/fd) are sampled. Flat means: from the sample after the first round (warm-up: imports,
caches, the first simulators) to the last, RSS grows by at most RSS_GROWTH_MIB and the descriptors by
at most FD_GROWTH. Skipped unless SOAK_S is set."""

import asyncio
import os
import time

import pytest

from streams.exchanges import EXCHANGES
from tests.chaos import run_chaos

SOAK_S = float(os.environ.get("SOAK_S", "0"))
STEPS = int(os.environ.get("CHAOS_STEPS", "20"))
RSS_GROWTH_MIB = 25.0
FD_GROWTH = 8

pytestmark = [
    pytest.mark.soak,
    pytest.mark.skipif(not SOAK_S, reason="opt-in soak: set SOAK_S (seconds), e.g. SOAK_S=1800"),
    pytest.mark.timeout(SOAK_S + 900),
]


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_soak_chaos_memory_and_descriptors_stay_flat():
    deadline = time.monotonic() + SOAK_S
    samples: list[tuple[float, float, int]] = []  # (seconds since start, RSS MiB, fds)
    start = time.monotonic()
    round_ = 0
    while True:
        for i, exchange in enumerate(sorted(EXCHANGES)):
            await run_chaos(exchange, 100_000 + round_ * 10 + i, STEPS)
        await asyncio.sleep(0.5)  # let closed sockets and finished tasks go
        samples.append((time.monotonic() - start, rss_mib(), open_fds()))
        print(
            f"soak round {round_}: {samples[-1][0]:.0f} s, RSS {samples[-1][1]:.1f} MiB, {samples[-1][2]} fds"
        )
        round_ += 1
        if time.monotonic() >= deadline:
            break
    assert round_ >= 2, "the soak was too short to compare two samples: raise SOAK_S"
    _, rss0, fds0 = samples[0]
    _, rss1, fds1 = samples[-1]
    print(
        f"soak: {round_} rounds in {samples[-1][0]:.0f} s; RSS {rss0:.1f} -> {rss1:.1f} MiB; fds {fds0} -> {fds1}"
    )
    assert rss1 - rss0 <= RSS_GROWTH_MIB, samples
    assert fds1 - fds0 <= FD_GROWTH, samples
