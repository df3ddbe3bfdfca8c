"""Faults every exchange must survive, injected at each registered exchange's simulator over real
loopback sockets: HTTP 429 with Retry-After, a half-open connection, duplicated frames, and a clock
jump (sleep and resume). After each: every fill exactly once, the state equal to the truth, live."""

import asyncio
import time
from dataclasses import replace
from decimal import Decimal

import pytest

from streams.config import AccountConfig
from streams.engine import AccountRunner
from streams.exchange import Credentials
from streams.exchanges import EXCHANGES
from streams.model import Side, State
from tests.engine_helpers import FAST, Recorder, converged_on_truth, fill_shapes, wait_for

pytestmark = pytest.mark.parametrize("exchange", sorted(EXCHANGES))


@pytest.fixture
async def sim(exchange):
    simulator = EXCHANGES[exchange].make_simulator(seed=23)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def runner(sim, exchange):
    spec = EXCHANGES[exchange]
    recorder = Recorder()
    account = AccountConfig("f1", exchange, "Faults", sim.ws_url, sim.rest_url)
    started = AccountRunner(account, spec, Credentials(dict(sim.credentials)), recorder, timing=FAST)
    task = asyncio.create_task(started.run())
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    yield started, recorder
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def converged(sim, runner, recorder, timeout: float = 20.0) -> None:
    await wait_for(lambda: recorder.state is State.LIVE, timeout, "live again")
    await wait_for(lambda: converged_on_truth(runner.store, sim.truth), timeout, "the truth")
    await wait_for(lambda: len(recorder.fills) >= len(sim.truth.fills), timeout, "every fill")
    assert fill_shapes(recorder.fills) == fill_shapes(sim.truth.fills)  # each exactly once


def a_resting_order(sim):
    return sim.truth.place_order("BTC/USDT", Side.SELL, Decimal("71000"), Decimal("0.4"))


async def test_rest_429_is_waited_out_as_the_exchange_asks(sim, runner):
    client, recorder = runner
    order = a_resting_order(sim)
    await wait_for(lambda: order.order_id in client.store.orders, what="the order")
    sim.throttle_rest(1.5)
    await sim.drop_connections()
    sim.truth.fill_order(order.order_id, Decimal("0.1"))  # only REST can tell of this one
    await asyncio.sleep(2.5)
    # The fast test backoff alone (0.05 s to 0.3 s) retried 11 to 20 times in these 2.5 s; waiting
    # 1.5 s per refusal allows two or three reconnects, plus a periodic call already under way.
    assert 1 <= sim.rest_throttled <= 5, sim.rest_throttled
    assert "429" in recorder.statuses[-1].detail or recorder.statuses[-1].state is State.RECONNECTING
    sim.throttle_rest(None)
    await converged(sim, client, recorder)
    assert [f.late for f in recorder.fills] == [True]


async def test_half_open_connection_goes_stale_then_recovers_without_loss(sim, runner):
    client, recorder = runner
    order = a_resting_order(sim)
    await wait_for(lambda: order.order_id in client.store.orders, what="the order")
    sim.half_open(True)
    sim.truth.fill_order(order.order_id, Decimal("0.25"))
    sim.truth.set_balance("ETH", Decimal("12.5"))  # a deposit
    await wait_for(lambda: recorder.saw(State.STALE) or recorder.saw(State.RECONNECTING), what="noticed")
    sim.half_open(False)
    await converged(sim, client, recorder)


async def test_a_fill_missed_while_half_open_is_recovered_after_a_resync_saw_its_balances(sim, exchange):
    """The periodic resync reads the moved balances during the silence, before the reconnect: the
    gap's fill recovery must still query the market that moved them (a chaos run lost such a fill)."""
    recorder = Recorder()
    account = AccountConfig("f2", exchange, "Faults", sim.ws_url, sim.rest_url)
    client = AccountRunner(
        account,
        EXCHANGES[exchange],
        Credentials(dict(sim.credentials)),
        recorder,
        timing=replace(FAST, resync_s=0.2, silence_s=5.0, ws_ping_interval_s=5.0),
    )
    task = asyncio.create_task(client.run())
    try:
        await wait_for(lambda: recorder.state is State.LIVE, what="live")
        sim.half_open(True)
        order = sim.truth.place_order("ETH/USDT", Side.BUY, Decimal("3100"), Decimal("0.5"))
        sim.truth.fill_order(order.order_id)
        await wait_for(lambda: client.store.balances == sim.truth.balances, what="the resync's balances")
        await sim.drop_connections()  # the held frames die with the link: only REST can tell now
        sim.half_open(False)
        await converged(sim, client, recorder)
        assert [f.late for f in recorder.fills] == [True]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_gap_fill_is_recovered_after_an_attempt_that_failed_with_newer_fills_buffered(sim, runner):
    """A reconnect whose snapshot never finishes still hands its sockets' news to the store (a fill
    made after the gap). The next attempt must recover from where the gap began, not from that newer
    fill (a soak run lost two fills so: bitopro seed=100140)."""
    client, recorder = runner
    in_gap, later = a_resting_order(sim), a_resting_order(sim)
    await wait_for(lambda: later.order_id in client.store.orders, what="the orders")
    sim.slow_rest(4.0)  # every reconnect's snapshot (and token or listenKey) takes this long
    await sim.drop_connections()
    sim.truth.fill_order(in_gap.order_id, Decimal("0.1"))  # only REST can tell of this one
    await asyncio.sleep(2.5)  # more than the recovery margin (2 s) between the two fills
    await wait_for(lambda: sim.clients(), 10, "the new sockets")
    sim.truth.fill_order(later.order_id, Decimal("0.2"))  # read by the new sockets, buffered
    await asyncio.sleep(0.5)
    await sim.drop_connections()  # the attempt fails before its snapshot arrived
    sim.slow_rest(0.0)
    await converged(sim, client, recorder)


async def test_duplicated_frames_change_nothing_twice(sim, runner):
    client, recorder = runner
    sim.duplicate_frames(True)
    order = a_resting_order(sim)
    sim.truth.fill_order(order.order_id, Decimal("0.1"))
    sim.truth.fill_order(order.order_id, Decimal("0.3"))
    await converged(sim, client, recorder)
    assert len(recorder.fills) == 2


async def test_a_clock_jump_switches_to_fresh_connections_at_once(sim, runner):
    client, recorder = runner
    order = a_resting_order(sim)
    await wait_for(lambda: order.order_id in client.store.orders, what="the order")
    attempts = sim.connection_attempts
    client.wall_clock = lambda: time.time() + 3600  # the machine slept for an hour
    await wait_for(lambda: sim.connection_attempts > attempts, what="fresh connections")
    assert any("clock jumped" in s.detail for s in recorder.statuses)
    sim.truth.fill_order(order.order_id, Decimal("0.2"))
    await converged(sim, client, recorder)
    assert client.reconnects == 0  # a switch, not a failure: no backoff was waited
    # One jump, one switch: the watcher that saw it must not keep asking (it did, ~40 switches a
    # second, until the chaos scenario counted the connections).
    await wait_for(lambda: recorder.statuses[-1].detail == "streaming", what="the switch done")
    settled = sim.connection_attempts
    await asyncio.sleep(5 * FAST.clock_check_s)
    assert sim.connection_attempts - settled <= 3  # BitoPro opens three sockets per connect
