"""The session engine against the BitoPro simulator over real websockets on 127.0.0.1: snapshot and
stream, a gap with fills made while disconnected, malformed frames, unknown events, a wrong secret and
a server that stops answering pings."""

import asyncio
import json
import random
from decimal import Decimal

import pytest

from streams.config import AccountConfig
from streams.engine import AccountRunner
from streams.exchange import Credentials
from streams.exchanges.bitopro import SPEC
from streams.exchanges.bitopro.simulator import BitoProSimulator
from streams.model import Balance, OrderStatus, Side, State, replace
from tests.engine_helpers import FAST, Recorder, fill_shapes, matches_truth, wait_for


@pytest.fixture
async def sim():
    simulator = BitoProSimulator(seed=11)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def run(sim):
    """Start a runner for the simulator's account; stops it at the end of the test."""
    tasks = []

    def start(credentials=None, timing=FAST):
        recorder = Recorder()
        account = AccountConfig("t1", "bitopro", "Test", sim.ws_url, sim.rest_url)
        runner = AccountRunner(
            account, SPEC, Credentials(credentials or sim.credentials), recorder, timing=timing
        )
        tasks.append(asyncio.create_task(runner.run()))
        return runner, recorder

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_snapshot_then_stream_matches_truth(sim, run):
    truth = sim.truth
    resting = truth.place_order("BTC/USDT", Side.BUY, Decimal("60000"), Decimal("0.1"))
    runner, recorder = run()
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    assert [s.state for s in recorder.statuses[:3]] == [State.CONNECTING, State.SYNCING, State.LIVE]
    assert matches_truth(runner.store, truth) and resting.order_id in runner.store.orders

    order = truth.place_order("ETH/USDT", Side.SELL, Decimal("3300"), Decimal("2"))
    truth.fill_order(order.order_id, Decimal("0.5"))
    await wait_for(lambda: matches_truth(runner.store, truth), what="partial fill to reach the store")
    assert runner.store.orders[order.order_id].status is OrderStatus.PARTIALLY_FILLED
    truth.fill_order(order.order_id)
    truth.cancel_order(resting.order_id)
    await wait_for(lambda: matches_truth(runner.store, truth), what="fill and cancel to reach the store")
    assert order.order_id not in runner.store.orders and resting.order_id not in runner.store.orders
    await wait_for(lambda: len(recorder.fills) == len(truth.fills), what="every fill")
    assert fill_shapes(recorder.fills) == fill_shapes(truth.fills)
    assert not any(f.late for f in recorder.fills)
    assert runner.reconnects == 0


async def test_fills_made_while_disconnected_arrive_once_marked_late(sim, run):
    truth = sim.truth
    order = truth.place_order("BTC/USDT", Side.SELL, Decimal("70000"), Decimal("0.3"))
    runner, recorder = run()
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    truth.fill_order(order.order_id, Decimal("0.1"))  # seen live on the stream
    await wait_for(lambda: len(recorder.fills) == 1, what="the live fill")

    sim.refuse_connections(True)
    await sim.drop_connections()
    await wait_for(lambda: recorder.state is State.RECONNECTING, what="reconnecting")
    other = truth.place_order("SOL/USDT", Side.BUY, Decimal("140"), Decimal("3"))
    truth.fill_order(order.order_id, Decimal("0.05"))  # partial, while away
    truth.fill_order(order.order_id)  # the rest, while away
    truth.fill_order(other.order_id)  # an order the client never saw, filled while away
    truth.set_balance("TWD", Decimal("123.45"), Decimal("100"), Decimal("23.45"))
    sim.refuse_connections(False)

    await wait_for(lambda: runner.reconnects >= 1 and recorder.state is State.LIVE, what="live again")
    await wait_for(lambda: matches_truth(runner.store, truth), what="state to converge")
    assert fill_shapes(recorder.fills) == fill_shapes(truth.fills)  # every fill exactly once
    late = [f for f in recorder.fills if f.late]
    # `other` was placed and filled entirely in the gap, on a market the client never saw: found
    # through the assets whose balances moved.
    assert len(late) == 3 and {f.order_id for f in late} == {order.order_id, other.order_id}


async def test_malformed_frame_and_unknown_event_are_survived(sim, run, caplog):
    runner, recorder = run()
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    await sim.send_malformed()
    await wait_for(
        lambda: runner.malformed_frames == 3, what="the malformed frame (sent on each of 3 streams)"
    )
    await sim.send_malformed(json.dumps({"event": "RECENT_HISTORY_ORDERS", "timestamp": 1, "data": {}}))
    sim.truth.set_balance("BTC", Decimal("9"), Decimal("8"), Decimal("1"))
    await wait_for(lambda: runner.store.balances["BTC"].total == Decimal("9"), what="the next frame")
    assert runner.malformed_frames == 3 and runner.reconnects == 0 and recorder.state is State.LIVE
    assert "skipped a malformed frame" in caplog.text


async def test_wrong_secret_is_auth_error_with_the_exchanges_text_and_slow_retries(sim, run):
    credentials = {**sim.credentials, "api_secret": "wrong"}
    _, recorder = run(credentials)
    await wait_for(lambda: recorder.state is State.AUTH_ERROR, what="auth_error")
    assert "HTTP 401" in recorder.statuses[-1].detail and "Invalid signature" in recorder.statuses[-1].detail
    attempts = sim.connection_attempts
    await asyncio.sleep(1.0)
    # FAST retries auth after 0.3-0.6 s, then 0.6-1.2 s: at most two more tries in a second, where the
    # transient backoff (0.05 s growing to 0.3 s) would have made five or more.
    assert sim.connection_attempts - attempts <= 2
    assert not recorder.saw(State.LIVE)


async def test_silent_server_goes_stale_then_recovers(sim, run):
    runner, recorder = run()
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    sim.stop_answering_pings(True)
    await wait_for(lambda: recorder.saw(State.STALE), timeout=10, what="stale")
    stale = next(s for s in recorder.statuses if s.state is State.STALE)
    assert "stopped answering pings" in stale.detail
    sim.stop_answering_pings(False)
    await wait_for(lambda: runner.reconnects >= 1 and recorder.state is State.LIVE, what="live again")
    assert matches_truth(runner.store, sim.truth)


async def test_snapshot_races_stream_events(sim, run):
    """Changes made while the REST snapshot is in flight are neither lost nor applied out of order."""
    sim.set_delay(0.05)
    truth = sim.truth
    rng = random.Random(5)
    runner, recorder = run()
    for _ in range(30):
        truth.random_step(rng)
        await asyncio.sleep(0.005)
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    for _ in range(30):
        truth.random_step(rng)
    await wait_for(lambda: matches_truth(runner.store, truth), what="convergence")
    assert fill_shapes([replace(f, late=False) for f in recorder.fills]) <= fill_shapes(truth.fills)


async def test_periodic_snapshot_repairs_an_update_the_stream_never_sent(sim, run):
    runner, recorder = run(timing=replace(FAST, resync_s=0.3))
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    # Change the truth behind the listeners' back: the stream says nothing, as if a frame were lost.
    sim.truth.balances["ETH"] = Balance("ETH", Decimal("13"), Decimal("13"), Decimal("0"))
    await wait_for(lambda: runner.store.balances["ETH"].total == Decimal("13"), what="the periodic snapshot")
    assert runner.reconnects == 0 and recorder.state is State.LIVE
