"""Backoff discipline, counted at the simulators: a dead exchange is retried no faster than the capped
backoff allows, refused credentials no faster than the slow auth retry.

Each failed connect stops at its first refused request (every request, websocket upgrade or REST, is
answered 503 while the exchange is down), so the requests the simulator counts are the connects. The
bound is computed from the Timing: delay i is drawn from [d_i/2, d_i], d_i doubling from the first
delay up to the cap, so no run can fit more connects into a window than the shortest draws allow."""

import asyncio
from dataclasses import replace

from streams.config import AccountConfig
from streams.engine import AccountRunner, Timing
from streams.exchange import Credentials
from streams.exchanges import EXCHANGES
from streams.model import State
from tests.engine_helpers import FAST, Recorder, wait_for
from tests.isolation import spoiled

WINDOW_S = 4.0


def max_attempts(first: float, cap: float, window: float) -> int:
    """The most connects a backoff(first, cap) lets start within `window` seconds (the first at 0)."""
    elapsed, delay, attempts = 0.0, first, 1
    while True:
        elapsed += delay / 2  # the shortest draw
        if elapsed > window:
            return attempts
        attempts += 1
        delay = min(cap, delay * 2)


def requests(sim) -> int:
    return sim.connection_attempts + sum(sim.rest_calls.values())


def runner_for(name, sim, recorder, timing, credentials=None):
    account = AccountConfig(f"b-{name}", name, "Backoff", sim.ws_url, sim.rest_url)
    creds = Credentials(credentials or dict(sim.credentials))
    return AccountRunner(account, EXCHANGES[name], creds, recorder, timing=timing)


async def run_all(timing_of, credentials_of=None, on_start=None):
    """Run one account per exchange, side by side, for WINDOW_S. Returns ({name: [sim, recorder,
    elapsed, state at the end]}, {name: requests counted})."""
    loop = asyncio.get_running_loop()
    sims = {name: EXCHANGES[name].make_simulator(seed=41) for name in sorted(EXCHANGES)}
    tasks, seen = [], {}
    try:
        for sim in sims.values():
            await sim.start()
            if on_start:
                on_start(sim)
        started = loop.time()
        for name, sim in sims.items():
            recorder = Recorder()
            creds = credentials_of(sim) if credentials_of else None
            runner = runner_for(name, sim, recorder, timing_of(name), creds)
            tasks.append(asyncio.create_task(runner.run()))
            seen[name] = [sim, recorder, 0.0, None]
        await asyncio.sleep(WINDOW_S)
        for entry in seen.values():
            entry[2] = loop.time() - started
            entry[3] = entry[1].state  # before the runners are stopped (they end offline)
        counts = {name: requests(entry[0]) for name, entry in seen.items()}
        return seen, counts
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sim in sims.values():
            await sim.stop()


async def test_a_dead_exchange_is_retried_within_the_production_backoff():
    """Production timing (each exchange's own first delay, the 30 s cap)."""
    seen, counts = await run_all(lambda name: Timing(), on_start=lambda sim: sim.refuse_connections(True))
    for name, (_, recorder, elapsed, state) in seen.items():
        bound = max_attempts(EXCHANGES[name].first_backoff_s, Timing().backoff_cap_s, elapsed)
        assert 2 <= counts[name] <= bound, (name, counts[name], bound)
        assert state is State.RECONNECTING and not recorder.saw(State.LIVE), name


async def test_a_dead_exchange_is_retried_at_the_cap_and_no_faster():
    """A scaled timing (first 0.05 s, cap 0.4 s) reaches the cap within the window: retries go on,
    at most as often as the cap allows; without the cap's floor (d/2) a loop would make hundreds."""
    timing = replace(FAST, first_backoff_s=0.05, backoff_cap_s=0.4)
    seen, counts = await run_all(lambda name: timing, on_start=lambda sim: sim.refuse_connections(True))
    for name, (_, _, elapsed, _) in seen.items():
        bound = max_attempts(0.05, 0.4, elapsed)
        assert 4 <= counts[name] <= bound, (name, counts[name], bound)


async def test_refused_credentials_are_retried_no_faster_than_the_slow_interval():
    """FAST timing: transient retries from 0.05 s (cap 0.3 s), auth retries from 0.6 s (cap 2 s). A
    connect may make several requests before the refusal (a public pair list, a time check), so the
    requests of one refused connect are counted first, at the first auth_error."""
    firsts: dict[str, int] = {}

    def count_first(name, sim, recorder):
        def sink(update):
            recorder(update)
            if recorder.state is State.AUTH_ERROR and name not in firsts:
                firsts[name] = requests(sim)

        return sink

    loop = asyncio.get_running_loop()
    sims = {name: EXCHANGES[name].make_simulator(seed=43) for name in sorted(EXCHANGES)}
    tasks, recorders = [], {}
    try:
        for sim in sims.values():
            await sim.start()
        started = loop.time()
        for name, sim in sims.items():
            recorders[name] = Recorder()
            runner = runner_for(
                name, sim, count_first(name, sim, recorders[name]), FAST, spoiled(dict(sim.credentials))
            )
            tasks.append(asyncio.create_task(runner.run()))
        await wait_for(lambda: len(firsts) == len(sims), what="every account refused")
        await asyncio.sleep(WINDOW_S)
        elapsed = loop.time() - started
        for name, sim in sims.items():
            cycles = max_attempts(FAST.auth_retry_s, FAST.auth_retry_cap_s, elapsed)
            transient = max_attempts(FAST.first_backoff_s, FAST.backoff_cap_s, elapsed)
            assert cycles * 2 < transient  # the bound below would catch a loop at the transient pace
            assert requests(sim) <= firsts[name] * cycles, (name, requests(sim), firsts[name], cycles)
            recorder = recorders[name]
            assert recorder.state is State.AUTH_ERROR and not recorder.saw(State.LIVE), name
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sim in sims.values():
            await sim.stop()
