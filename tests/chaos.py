"""A seeded chaos scenario against one exchange's simulator: account activity interleaved with every
fault the simulators can inject, then everything healed and the client compared with the truth.

The sequence of steps (which fault, how long it is held, what the account does meanwhile) is drawn
from `random.Random(seed)` alone, so a seed replays the same scenario; the scheduling of sockets and
timers still varies from run to run, which is the point of running many seeds.

Session-credential expiry (`ExchangeSimulator.expire_session`): Bitstamp's websocket token and
Coins.ph's listenKey are renewed by the client itself. Bitzoom's JWT cannot be renewed by the client:
an expired one is an auth error by design until the user pastes a new token. The scenario plays that
user (see `PASTE`): it waits for `auth_error`, then does what the GUI's token panel does
(gui/controller.py `restart`): stop the runner, `replace_credentials`, start it again. BitoPro and CoinW
have no session credential; for them the fault is a no-op and is not counted.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from streams.config import AccountConfig
from streams.engine import AccountRunner, Timing
from streams.exchange import Credentials
from streams.exchanges import EXCHANGES
from streams.exchanges.coinsph import spec_with as coinsph_spec_with
from streams.exchanges.coinsph.session import CoinsphTiming
from streams.model import State
from streams.simulator.base import ExchangeSimulator
from tests.engine_helpers import FAST, Recorder, converged_on_truth, fill_shapes, wait_for
from tests.reliability import SUMMARY

FAULTS = (
    "clean_close",
    "tcp_reset",
    "half_open",
    "delay",
    "duplicate",
    "deaf",
    "rest_503",
    "rest_429",
    "slow_rest",
    "session_expiry",
    "clock_jump",
)
ACTIVITY_WEIGHT = (
    1  # of len(FAULTS) + ACTIVITY_WEIGHT draws, how many are plain activity (faults bring some too)
)

# Exchanges whose expired session only the user can renew, and the credentials the user then pastes.
PASTE: dict[str, Callable[[ExchangeSimulator], dict[str, str]]] = {
    "bitzoom": lambda sim: {"jwt": sim.issue_token()},  # type: ignore[attr-defined]
}
HAS_SESSION = {"bitstamp", "bitzoom", "coinsph"}


def chaos_timing(exchange: str) -> Timing:
    """FAST, with a short open timeout (a half-open server never acks a login) and, only for the
    exchanges that resync periodically in production, a 2 s period instead of 30-60 s: CoinW and
    Bitstamp learn of deposits only that way. Exchanges without a periodic resync keep none, so a
    lost stream update there still shows as a mismatch."""
    timing = replace(FAST, open_timeout_s=2.0)
    if EXCHANGES[exchange].resync_s:
        timing = replace(timing, resync_s=2.0)
    return timing


@dataclass
class ChaosResult:
    exchange: str
    seed: int
    faults: list[str] = field(default_factory=list)
    fills: int = 0
    reconnects: int = 0
    fresh_connections: int = 0


class ChaosScenario:
    """One account, one simulator, `steps` draws; `await run()` raises AssertionError on a mismatch."""

    def __init__(self, exchange: str, seed: int, steps: int, *, simulator: ExchangeSimulator) -> None:
        self.exchange = exchange
        self.seed = seed
        self.steps = steps
        self.sim = simulator
        self.rng = random.Random(seed)
        self.recorder = Recorder()
        self.result = ChaosResult(exchange, seed)
        self.clock_offset = 0.0
        spec = EXCHANGES[exchange]
        if exchange == "coinsph":
            # Its protocol clocks 120 times faster: a new listenKey may follow the last after 0.5 s
            # (60 s in production), the app ping goes every 0.5 s, as FAST's silence window needs.
            spec = coinsph_spec_with(CoinsphTiming().faster(120))
        account = AccountConfig(f"chaos-{exchange}", exchange, "Chaos", simulator.ws_url, simulator.rest_url)
        self.runner = AccountRunner(
            account,
            spec,
            Credentials(dict(simulator.credentials)),
            self.recorder,
            timing=chaos_timing(exchange),
        )
        self.task: asyncio.Task[None] | None = None
        self.log: list[str] = []  # what each step did, shown on failure

    @property
    def tag(self) -> str:
        return f"{self.exchange} seed={self.seed} steps={self.steps}"

    async def run(self) -> ChaosResult:
        attempts = self.sim.connection_attempts
        self.task = asyncio.create_task(self.runner.run())
        try:
            await wait_for(lambda: self.recorder.state is State.LIVE, 20, f"live at start ({self.tag})")
            for step in range(self.steps):
                await self.step(step)
            self.heal()
            await self.check()
        finally:
            await self._stop()
        self.result.reconnects = self.runner.reconnects
        self.result.fresh_connections = max(0, self.sim.connection_attempts - attempts - 1)
        SUMMARY.scenarios += 1
        SUMMARY.faults.update(self.result.faults)
        SUMMARY.reconnects += self.result.reconnects
        SUMMARY.fresh_connections += self.result.fresh_connections
        SUMMARY.fills_checked += self.result.fills
        return self.result

    async def _stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None

    # ---- steps ---------------------------------------------------------------------------------

    async def step(self, index: int) -> None:
        kind = self.rng.choice(FAULTS + ("activity",) * ACTIVITY_WEIGHT)
        hold = self.rng.uniform(0.2, 1.6)  # long enough, often, for the silence watchdog (1 s) to fire
        self.log.append(f"{index}: {kind} {hold:.2f}s")
        if kind != "activity" and (kind != "session_expiry" or self.exchange in HAS_SESSION):
            self.result.faults.append(kind)
        sim = self.sim
        match kind:
            case "activity":
                await self.activity(hold)
            case "clean_close":
                await asyncio.gather(
                    *(c.connection.close(1001, "going away") for c in sim.clients()), return_exceptions=True
                )
                await self.activity(hold)
            case "tcp_reset":
                await sim.drop_connections()
                await self.activity(hold)
            case "half_open":
                sim.half_open(True)
                await self.activity(hold)
                sim.half_open(False)
            case "delay":
                sim.set_delay(self.rng.uniform(0.05, 0.5))
                await self.activity(hold)
                sim.set_delay(0.0)
            case "duplicate":
                sim.duplicate_frames(True)
                await self.activity(hold)
                sim.duplicate_frames(False)
            case "deaf":
                sim.stop_answering_pings(True)
                await self.activity(hold)
                sim.stop_answering_pings(False)
            case "rest_503":  # the exchange is down: upgrades and REST refused, open streams cut
                sim.refuse_connections(True)
                await sim.drop_connections()
                await self.activity(hold)
                sim.refuse_connections(False)
            case "rest_429":
                sim.throttle_rest(self.rng.choice((0.3, 0.7)))
                await sim.drop_connections()
                await self.activity(hold)
                sim.throttle_rest(None)
            case "slow_rest":  # the reconnect's snapshot races the stream's events
                sim.slow_rest(self.rng.uniform(0.1, 0.6))
                await sim.drop_connections()
                await self.activity(hold)
                sim.slow_rest(0.0)
            case "session_expiry":
                await sim.expire_session()
                await self.activity(hold)
                if self.exchange in PASTE:
                    await self.paste_new_credentials()
            case "clock_jump":
                self.clock_offset += self.rng.choice((3600.0, -900.0, 86_400.0))
                offset = self.clock_offset
                self.runner.wall_clock = lambda: time.time() + offset
                await self.activity(hold)
        await asyncio.sleep(self.rng.uniform(0.0, 0.3))

    async def activity(self, seconds: float) -> None:
        """Account activity spread over `seconds`: orders placed, filled, cancelled, deposits."""
        bursts = self.rng.randint(1, 4)
        for _ in range(bursts):
            for _ in range(self.rng.randint(1, 3)):
                self.sim.truth.random_step(self.rng)
            await asyncio.sleep(seconds / bursts)

    async def paste_new_credentials(self) -> None:
        """What the user does after an expired token: wait for auth_error, paste a new one."""
        await wait_for(
            lambda: self.recorder.state is State.AUTH_ERROR, 30, f"auth_error after expiry ({self.tag})"
        )
        await self._stop()
        self.runner.replace_credentials(Credentials(PASTE[self.exchange](self.sim)))
        self.task = asyncio.create_task(self.runner.run())

    def heal(self) -> None:
        sim = self.sim
        sim.half_open(False)
        sim.stop_answering_pings(False)
        sim.set_delay(0.0)
        sim.duplicate_frames(False)
        sim.refuse_connections(False)
        sim.throttle_rest(None)
        sim.slow_rest(0.0)

    # ---- the verdict ---------------------------------------------------------------------------

    async def check(self, timeout: float = 60.0) -> None:
        """Live, balances and open orders equal to the truth, every fill exactly once."""
        truth, store, recorder = self.sim.truth, self.runner.store, self.recorder
        self.result.fills = len(truth.fills)
        try:
            await wait_for(lambda: recorder.state is State.LIVE, timeout, "live at the end")
            await wait_for(lambda: converged_on_truth(store, truth), timeout, "the truth")
            await wait_for(lambda: len(recorder.fills) >= len(truth.fills), timeout, "every fill")
            assert fill_shapes(recorder.fills) == fill_shapes(truth.fills), "fills differ (lost or repeated)"
            assert recorder.state is State.LIVE
        except AssertionError as exc:
            SUMMARY.mismatches += 1
            SUMMARY.failed.append(self.tag)
            raise AssertionError(
                f"{exc}\n{fills_diff(recorder.fills, truth.fills)}\n"
                f"reproduce: {self.tag}\nsteps: {'; '.join(self.log)}"
            ) from None


def fills_diff(seen, truth) -> str:
    """Which fills were lost or repeated, with their market and time: where to start looking."""
    lost = [f for f in truth if (fill_shapes(truth) - fill_shapes(seen))[(f.order_id, f.price, f.amount)]]
    extra = fill_shapes(seen) - fill_shapes(truth)
    return (
        "lost: "
        + ", ".join(f"{f.market} {f.order_id} {f.amount}@{f.price} t={f.time_ms}" for f in lost)
        + (f"; repeated: {dict(extra)}" if extra else "")
    )


async def run_chaos(exchange: str, seed: int, steps: int) -> ChaosResult:
    simulator = EXCHANGES[exchange].make_simulator(seed=seed)
    await simulator.start()
    try:
        return await ChaosScenario(exchange, seed, steps, simulator=simulator).run()
    finally:
        await simulator.stop()
