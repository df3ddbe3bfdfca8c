"""REST polling stays within each exchange's documented rate limits (/work/shared/protocols/*.md §7-8),
measured at the simulators with production timing (Timing()) while the account is far busier than a
real one: a random order, fill, cancel or deposit every 50 ms on all five exchanges at once.

Measured over WINDOW_S after the accounts are live: the peak count in any sliding window of each
limit's period (arrival times at the simulator; the window is shortened by JITTER_S, the loopback
delay between a client's call and its arrival), and a per-minute projection: the calls of the window
scaled to a minute, plus the periodic resync (the calls of one connect's snapshot, an over-estimate
since it includes the connect's own calls, times 60 / spec.resync_s)."""

import asyncio
import random
from collections import Counter

from streams.config import AccountConfig
from streams.engine import AccountRunner, Timing
from streams.exchange import Credentials
from streams.exchanges import EXCHANGES
from streams.model import State
from tests.engine_helpers import Recorder, wait_for

WINDOW_S = 8.0
JITTER_S = 0.05

# Coins.ph weights (coinsph.md §7): openOrders counted at its no-symbol weight, the worst case.
COINSPH_WEIGHTS = {
    "/openapi/v1/account": 10,
    "/openapi/v1/openOrders": 40,
    "/openapi/v1/myTrades": 10,
    "/openapi/v1/historyOrders": 40,
    "/openapi/v1/exchangeInfo": 10,
}
# CoinW.Net's throttles (coinw.md §7) and CoinW's own for returnOrderTrades: (calls, period in s).
COINW_LIMITS = {
    "returnCompleteBalances": (5, 2.0),
    "returnBalances": (3, 1.0),
    "returnOpenOrders": (30, 2.0),
    "returnOrderTrades": (30, 2.0),
}


class TimedCalls(Counter):
    """The simulator's `rest_calls`, also remembering when each call arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[float, str]] = []

    def __setitem__(self, key, value) -> None:
        self.log.append((asyncio.get_running_loop().time(), key))
        super().__setitem__(key, value)


def peak(times: list[float], period: float) -> int:
    """The most calls in any window of `period` seconds (less the loopback jitter)."""
    span = period - JITTER_S
    return max((sum(1 for u in times if t <= u < t + span) for t in times), default=0)


def record_coinw_commands(sim, log: list[tuple[float, str]]) -> None:
    """CoinW sends every private call to one path; its `command` says which limit applies."""
    original = sim._private

    async def private(request):
        log.append((asyncio.get_running_loop().time(), request.query.get("command", "?")))
        return await original(request)

    sim._private = private


async def test_rest_polling_stays_within_the_documented_limits():
    loop = asyncio.get_running_loop()
    sims = {name: EXCHANGES[name].make_simulator(seed=61) for name in sorted(EXCHANGES)}
    coinw_commands: list[tuple[float, str]] = []
    record_coinw_commands(sims["coinw"], coinw_commands)
    tasks, recorders = [], {}
    try:
        for name, sim in sims.items():
            sim.rest_calls = TimedCalls()
            await sim.start()
            recorders[name] = Recorder()
            account = AccountConfig(f"rate-{name}", name, "Rate", sim.ws_url, sim.rest_url)
            runner = AccountRunner(
                account, EXCHANGES[name], Credentials(dict(sim.credentials)), recorders[name], timing=Timing()
            )
            tasks.append(asyncio.create_task(runner.run()))
        await wait_for(lambda: all(r.state is State.LIVE for r in recorders.values()), 30, "all live")
        connect_calls = {name: len(sim.rest_calls.log) for name, sim in sims.items()}
        coinw_from = len(coinw_commands)
        started = loop.time()
        rng = random.Random(61)
        while loop.time() - started < WINDOW_S:
            for sim in sims.values():
                sim.truth.random_step(rng)
            await asyncio.sleep(0.05)
        elapsed = loop.time() - started
        assert all(r.state is State.LIVE for r in recorders.values())
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sim in sims.values():
            await sim.stop()

    def calls(name):
        return [
            (t, path) for t, path in sims[name].rest_calls.log[connect_calls[name] :] if t < started + elapsed
        ]

    def per_minute(name, cost=lambda path: 1):
        resync = EXCHANGES[name].resync_s
        window = sum(cost(path) for _, path in calls(name)) * 60 / elapsed
        snapshot = sum(cost(path) for _, path in sims[name].rest_calls.log[: connect_calls[name]])
        return window + (snapshot * 60 / resync if resync else 0)

    measured = {}
    # BitoPro: 600 authenticated requests a minute; /orders/open 5 a second.
    measured["bitopro"] = per_minute("bitopro")
    assert measured["bitopro"] <= 600
    assert peak([t for t, p in calls("bitopro") if p.endswith("/orders/open")], 1.0) <= 5
    # Bitstamp: 10,000 requests per 10 minutes, 400 a second.
    measured["bitstamp"] = per_minute("bitstamp")
    assert measured["bitstamp"] <= 1_000
    assert peak([t for t, _ in calls("bitstamp")], 1.0) <= 400
    # Bitzoom: private REST 5 a second.
    private = [t for t, p in calls("bitzoom") if p.startswith("/api/v1/")]
    measured["bitzoom"] = peak(private, 1.0)
    assert measured["bitzoom"] <= 5
    # Coins.ph: 1200 weight a minute.
    measured["coinsph"] = per_minute("coinsph", lambda path: COINSPH_WEIGHTS.get(path, 1))
    assert measured["coinsph"] <= 1_200
    # CoinW: each named command within its throttle.
    window = [(t, c) for t, c in coinw_commands[coinw_from:] if t < started + elapsed]
    for command, (limit, period) in COINW_LIMITS.items():
        busiest = peak([t for t, c in window if c == command], period)
        measured[f"coinw {command} per {period:g} s"] = busiest
        assert busiest <= limit, (command, busiest, limit, Counter(c for _, c in window))
    assert window, "CoinW made no REST call: the check above would prove nothing"
    print(f"REST load under heavy activity: {measured}")
