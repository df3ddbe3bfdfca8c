"""Seeded chaos against every exchange (tests/chaos.py): a short scenario in the normal suite.

`CHAOS_STEPS=N` lengthens each scenario and `CHAOS_SEED=S` replays one (a failure prints the seed and
the steps it took); the long opt-in run is tests/test_soak.py."""

import os

import pytest

from streams.exchanges import EXCHANGES
from tests.chaos import run_chaos

STEPS = int(os.environ.get("CHAOS_STEPS", "7"))
SEEDS = {name: 1000 + i for i, name in enumerate(sorted(EXCHANGES))}


@pytest.mark.parametrize("exchange", sorted(EXCHANGES))
async def test_chaos_converges_on_the_truth(exchange):
    seed = int(os.environ.get("CHAOS_SEED", SEEDS[exchange]))
    result = await run_chaos(exchange, seed, STEPS)
    assert result.faults, "the scenario injected no fault: the test would prove nothing"
    assert result.fills > 0, "no fill happened: the exactly-once check would prove nothing"
