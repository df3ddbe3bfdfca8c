"""One account's failure never stops the others: a healthy account per exchange runs beside three
failing ones (refused credentials, a host nobody listens on, a parser that crashes), each on its own
runner in one loop, as the app runs them. The healthy ones stay live and converge on their truth; the
failing ones keep retrying, each in its own state."""

import asyncio
import random

from streams.config import AccountConfig
from streams.engine import AccountRunner
from streams.exchange import Credentials
from streams.exchanges import EXCHANGES
from streams.model import State
from tests.engine_helpers import FAST, Recorder, converged_on_truth, fill_shapes, wait_for
from tests.isolation import crashing_spec, dead_port, spoiled
from tests.reliability import SUMMARY


def stayed_live(recorder: Recorder) -> bool:
    """Live from the first time it got there to the end."""
    states = [s.state for s in recorder.statuses]
    return State.LIVE in states and all(s is State.LIVE for s in states[states.index(State.LIVE) :])


async def test_failing_accounts_never_stop_the_others():
    sims = {name: EXCHANGES[name].make_simulator(seed=51) for name in sorted(EXCHANGES)}
    runners: dict[str, tuple[AccountRunner, Recorder]] = {}
    tasks: list[asyncio.Task] = []

    def add(account_id, exchange, sim_urls, credentials, spec=None):
        recorder = Recorder()
        account = AccountConfig(account_id, exchange, account_id, *sim_urls)
        runner = AccountRunner(
            account, spec or EXCHANGES[exchange], Credentials(credentials), recorder, timing=FAST
        )
        runners[account_id] = (runner, recorder)
        tasks.append(asyncio.create_task(runner.run(), name=account_id))

    try:
        for sim in sims.values():
            await sim.start()
        for name, sim in sims.items():
            add(f"ok-{name}", name, (sim.ws_url, sim.rest_url), dict(sim.credentials))
        bitopro, bitzoom = sims["bitopro"], sims["bitzoom"]
        add("bad-key", "bitopro", (bitopro.ws_url, bitopro.rest_url), spoiled(dict(bitopro.credentials)))
        port = dead_port()
        dead_urls = (f"ws://127.0.0.1:{port}/ws", f"http://127.0.0.1:{port}")
        add("dead-host", "coinw", dead_urls, dict(sims["coinw"].credentials))
        crashing, sessions = crashing_spec(EXCHANGES["bitzoom"], every=2)
        add("parser-bug", "bitzoom", (bitzoom.ws_url, bitzoom.rest_url), dict(bitzoom.credentials), crashing)

        healthy = [f"ok-{name}" for name in sims]
        await wait_for(lambda: all(runners[a][1].state is State.LIVE for a in healthy), 20, "healthy live")
        rng = random.Random(51)
        for _ in range(30):  # three seconds of activity everywhere while the others fail
            for sim in sims.values():
                sim.truth.random_step(rng)
            await asyncio.sleep(0.1)
        await wait_for(lambda: sum(s.crashes for s in sessions) >= 2, 20, "the parser crashing repeatedly")
        await wait_for(lambda: runners["dead-host"][0].reconnects >= 2, 20, "the dead host retried")
        await wait_for(lambda: runners["bad-key"][1].state is State.AUTH_ERROR, 20, "bad key refused")

        for name, sim in sims.items():
            runner, recorder = runners[f"ok-{name}"]
            await wait_for(lambda r=runner, s=sim: converged_on_truth(r.store, s.truth), 20, f"{name} truth")
            await wait_for(lambda r=recorder, s=sim: len(r.fills) >= len(s.truth.fills), 20, f"{name} fills")
            assert fill_shapes(recorder.fills) == fill_shapes(sim.truth.fills), name
            assert stayed_live(recorder), (name, [(s.state.value, s.detail) for s in recorder.statuses])
            SUMMARY.fills_checked += len(sim.truth.fills)
        assert runners["dead-host"][1].state is State.RECONNECTING
        assert not any(task.done() for task in tasks)  # every runner, failing or not, still runs
        SUMMARY.scenarios += 1
        SUMMARY.faults.update(["bad_key", "dead_host", "parser_crash"])
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sim in sims.values():
            await sim.stop()
