"""The session engine against the Coins.ph simulator over real websockets on 127.0.0.1: snapshot and
stream, a gap, malformed and unknown frames, bad credentials, silence, and the listenKey's life: keep-alive
PUTs, rotation before the 24 h cap, expired or lost keys, the server clock, DELETE on shutdown."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import Counter
from decimal import Decimal

import pytest

from streams.config import AccountConfig
from streams.engine import AccountRunner
from streams.exchange import Credentials
from streams.exchanges.coinsph import spec_with
from streams.exchanges.coinsph.session import CoinsphTiming
from streams.exchanges.coinsph.simulator import CoinsphSimulator
from streams.model import Balance, OrderStatus, Side, State, replace
from tests.engine_helpers import FAST, Recorder, matches_truth, wait_for

D = Decimal
# The app ping well inside FAST's 1 s silence window; listenKey timers as the real exchange's unless a
# test shrinks them along with the simulator's time_scale.
TIMING = CoinsphTiming(ping_s=0.2, keepalive_retry_s=0.1, key_spacing_s=0.0)


@pytest.fixture
async def sim():
    simulator = CoinsphSimulator(seed=11)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def run():
    """Start a runner for a simulator's account; stops it at the end of the test."""
    tasks = []

    def start(sim, credentials=None, *, coins=TIMING, timing=FAST):
        recorder = Recorder()
        account = AccountConfig("c1", "coinsph", "Test", sim.ws_url, sim.rest_url)
        creds = Credentials(credentials or sim.credentials)
        runner = AccountRunner(account, spec_with(coins), creds, recorder, timing=timing)
        task = asyncio.create_task(runner.run())
        tasks.append(task)
        return runner, recorder, task

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def fill_ids(fills) -> Counter:
    return Counter(f.trade_id for f in fills)


def truth_fill_ids(truth) -> Counter:
    """The ids the client gives the truth's fills: `<order id>:<trade id>`."""
    return Counter(f"{f.order_id}:{f.trade_id}" for f in truth.fills)


def stayed_live(recorder: Recorder) -> bool:
    """Every status from the first `live` on is `live` (the detail may change)."""
    states = [s.state for s in recorder.statuses]
    return State.LIVE in states and set(states[states.index(State.LIVE) :]) == {State.LIVE}


def shifted_matches(store, truth, offset_ms: int) -> bool:
    """Like matches_truth, for a server whose clock is `offset_ms` ahead of the truth's."""
    orders = {
        i: replace(o, created_ms=o.created_ms + offset_ms, updated_ms=o.updated_ms + offset_ms)
        for i, o in truth.open_orders.items()
    }
    return store.balances == truth.balances and store.orders == orders


# ---- the common contract ---------------------------------------------------------------------


async def test_snapshot_then_stream_matches_truth(sim, run):
    truth = sim.truth
    resting = truth.place_order("BTC/USDT", Side.BUY, D("60000"), D("0.1"))
    runner, recorder, _ = run(sim)
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    assert [s.state for s in recorder.statuses[:3]] == [State.CONNECTING, State.SYNCING, State.LIVE]
    assert matches_truth(runner.store, truth) and resting.order_id in runner.store.orders
    assert int(resting.order_id) > 2**53

    order = truth.place_order("ETH/USDT", Side.SELL, D("3300"), D("2"))
    truth.fill_order(order.order_id, D("0.5"))
    await wait_for(lambda: matches_truth(runner.store, truth), what="partial fill to reach the store")
    assert runner.store.orders[order.order_id].status is OrderStatus.PARTIALLY_FILLED
    truth.fill_order(order.order_id)
    truth.cancel_order(resting.order_id)
    truth.set_balance("TWD", D("123456.5"))  # a deposit: balanceUpdate, then the position
    await wait_for(lambda: matches_truth(runner.store, truth), what="fill, cancel and deposit")
    assert order.order_id not in runner.store.orders and resting.order_id not in runner.store.orders
    await wait_for(lambda: fill_ids(recorder.fills) == truth_fill_ids(truth), what="every fill, once")
    assert not any(f.late for f in recorder.fills)
    assert runner.reconnects == 0 and stayed_live(recorder)
    assert sim.user_stream_calls == {"POST": 1}
    await wait_for(lambda: sim.pongs >= 2, what="app pings answered")
    assert stayed_live(recorder)


async def test_fills_made_while_disconnected_arrive_once_marked_late(sim, run):
    truth = sim.truth
    order = truth.place_order("BTC/USDT", Side.SELL, D("70000"), D("0.3"))
    runner, recorder, _ = run(sim)
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    truth.fill_order(order.order_id, D("0.1"))  # seen live on the stream
    await wait_for(lambda: len(recorder.fills) == 1, what="the live fill")

    sim.refuse_connections(True)
    await sim.drop_connections()
    await wait_for(lambda: recorder.state is State.RECONNECTING, what="reconnecting")
    other = truth.place_order("SOL/USDT", Side.BUY, D("140"), D("3"))
    truth.fill_order(order.order_id, D("0.05"))  # partial, while away
    truth.fill_order(order.order_id)  # the rest, while away
    truth.fill_order(other.order_id)  # an order the client never saw, filled while away
    truth.set_balance("TWD", D("123.45"), D("100"), D("23.45"))
    sim.refuse_connections(False)

    await wait_for(lambda: runner.reconnects >= 1 and recorder.state is State.LIVE, what="live again")
    await wait_for(lambda: matches_truth(runner.store, truth), what="state to converge")
    assert fill_ids(recorder.fills) == truth_fill_ids(truth)  # every fill exactly once
    late = [f for f in recorder.fills if f.late]
    assert len(late) == 3 and {f.order_id for f in late} == {order.order_id, other.order_id}
    assert sim.user_stream_calls["POST"] == 1  # the key outlived the gap: PUT, reused


async def test_malformed_frame_and_unknown_event_are_survived(sim, run, caplog):
    caplog.set_level(logging.INFO, "streams")
    runner, recorder, _ = run(sim)
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    await sim.send_malformed()
    await wait_for(lambda: runner.malformed_frames == 1, what="the malformed frame")
    await sim.send_malformed(json.dumps({"e": "outboundMarginInfo", "E": 1, "B": []}))
    sim.truth.set_balance("BTC", D("9"), D("8"), D("1"))
    await wait_for(lambda: runner.store.balances["BTC"].total == D("9"), what="the next frame")
    assert runner.malformed_frames == 1 and runner.reconnects == 0 and recorder.state is State.LIVE
    assert "skipped a malformed frame" in caplog.text and "outboundMarginInfo" in caplog.text


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"api_secret": "wrong"}, "HTTP 400: Signature for this request is not valid. (code -1022)"),
        ({"api_key": "someone-else"}, "HTTP 401: API-key does not exist. (code -2018)"),
    ],
)
async def test_bad_credentials_are_auth_error_with_the_exchanges_text_and_slow_retries(
    sim, run, change, text
):
    _, recorder, _ = run(sim, {**sim.credentials, **change})
    await wait_for(lambda: recorder.state is State.AUTH_ERROR, what="auth_error")
    assert text in recorder.statuses[-1].detail
    refused = sim.rest_auth_failures
    await asyncio.sleep(1.0)
    # FAST retries auth after 0.3-0.6 s, then 0.6-1.2 s: at most two more tries in a second, where the
    # transient backoff (0.05 s growing to 0.3 s) would have made five or more.
    assert sim.rest_auth_failures - refused <= 2
    assert not recorder.saw(State.LIVE) and sim.connection_attempts == 0


async def test_silent_server_goes_stale_then_recovers(sim, run):
    runner, recorder, _ = run(sim)
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    sim.stop_answering_pings(True)  # the {"ping":..} frames are no longer read, so no pong
    await wait_for(lambda: recorder.saw(State.STALE), timeout=10, what="stale")
    assert "no data on user-data" in next(s for s in recorder.statuses if s.state is State.STALE).detail
    sim.stop_answering_pings(False)
    await wait_for(lambda: runner.reconnects >= 1 and recorder.state is State.LIVE, what="live again")
    await wait_for(lambda: matches_truth(runner.store, sim.truth), what="convergence")


async def test_snapshot_races_stream_events(sim, run):
    """Changes made while the REST snapshot is in flight are neither lost nor applied out of order."""
    sim.set_delay(0.05)
    truth = sim.truth
    rng = random.Random(5)
    runner, recorder, _ = run(sim)
    for _ in range(30):
        truth.random_step(rng)
        await asyncio.sleep(0.005)
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    for _ in range(30):
        truth.random_step(rng)
    await wait_for(lambda: matches_truth(runner.store, truth), what="convergence")
    assert set(fill_ids(recorder.fills)) <= set(truth_fill_ids(truth))
    assert max(fill_ids(recorder.fills).values(), default=1) == 1


# ---- event order, balanceUpdate, the seed's shapes ---------------------------------------------


async def test_older_live_events_do_not_undo_newer_ones(sim, run):
    truth = sim.truth
    runner, recorder, _ = run(sim)
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    order = truth.place_order("ETH/USDT", Side.BUY, D("3000"), D("1"))
    placed = replace(order)
    truth.fill_order(order.order_id)
    await wait_for(lambda: matches_truth(runner.store, truth), what="the fill")
    eth = truth.balances["ETH"]
    # Late arrivals: the NEW report of the filled order, and an ETH position from before the fill.
    await sim.send_malformed(sim.execution_report(placed, event_ms=placed.updated_ms - 1))
    stale = Balance("ETH", D("1"), D("1"), D("0"))
    await sim.send_malformed(sim.account_position([stale], event_ms=placed.updated_ms - 1))
    truth.set_balance("BTC", D("7"))  # a newer frame, to know the two above were processed
    await wait_for(lambda: runner.store.balances["BTC"].total == D("7"), what="the next frame")
    assert order.order_id not in runner.store.orders and runner.store.balances["ETH"] == eth
    assert matches_truth(runner.store, truth)


async def test_balance_update_without_a_position_event_is_read_from_rest(run):
    async with CoinsphSimulator(seed=12, position_after_balance_update=False) as sim:
        runner, recorder, _ = run(sim)
        await wait_for(lambda: recorder.state is State.LIVE, what="live")
        reads = sim.rest_calls["/openapi/v1/account"]
        sim.truth.set_balance("USDT", D("31000.25"))
        await wait_for(lambda: runner.store.balances["USDT"].total == D("31000.25"), what="the deposit")
        assert sim.rest_calls["/openapi/v1/account"] == reads + 1 and runner.reconnects == 0


async def test_seed_template_shapes_fill_ids_come_from_rest(run):
    """outboundAccountInfo, and executionReports without x, t and T: fills are read by order from
    myTrades, with the same ids a gap recovery would give them."""
    async with CoinsphSimulator(seed=13, flavour="seed") as sim:
        runner, recorder, _ = run(sim)
        await wait_for(lambda: recorder.state is State.LIVE, what="live")
        truth = sim.truth
        order = truth.place_order("SOL/USDT", Side.SELL, D("155"), D("4"))
        truth.fill_order(order.order_id, D("1"))
        truth.fill_order(order.order_id)
        await wait_for(lambda: fill_ids(recorder.fills) == truth_fill_ids(truth), what="both fills")
        await wait_for(lambda: matches_truth(runner.store, truth), what="convergence")
        assert not any(f.late for f in recorder.fills)


# ---- the listenKey ---------------------------------------------------------------------------


async def test_keep_alive_puts_reach_the_simulator_and_the_key_never_lapses(run):
    async with CoinsphSimulator(seed=14, time_scale=1_000) as sim:  # the key lives 3.6 s
        runner, recorder, _ = run(sim, coins=replace(CoinsphTiming().faster(1_000), ping_s=0.2))  # PUT: 1.8 s
        await wait_for(lambda: recorder.state is State.LIVE, what="live")
        await wait_for(lambda: sim.user_stream_calls["PUT"] >= 3, timeout=30, what="three keep-alive PUTs")
        assert sim.keys_expired == 0 and sim.user_stream_calls["POST"] == 1
        assert runner.reconnects == 0 and stayed_live(recorder)


async def test_rotation_before_the_24h_cap_loses_no_fill_and_stays_live(run):
    """24 h = 8.64 s here; the client switches every 2.5 s while fills keep coming."""
    async with CoinsphSimulator(seed=15, time_scale=10_000) as sim:
        coins = CoinsphTiming(ping_s=0.2, keepalive_s=0.05, max_age_s=2.5, key_spacing_s=0.2)
        runner, recorder, _ = run(sim, coins=coins)
        await wait_for(lambda: recorder.state is State.LIVE, what="live")
        rng = random.Random(15)
        stop = asyncio.Event()

        async def activity() -> None:
            while not stop.is_set():
                sim.truth.random_step(rng)
                await asyncio.sleep(0.03)

        busy = asyncio.create_task(activity())
        try:
            await wait_for(lambda: sim.connection_attempts >= 3, timeout=30, what="two rotations")
        finally:
            stop.set()
            await busy
        await wait_for(lambda: matches_truth(runner.store, sim.truth), what="convergence")
        await wait_for(lambda: fill_ids(recorder.fills) == truth_fill_ids(sim.truth), what="every fill")
        assert len(sim.truth.fills) >= 10
        assert stayed_live(recorder) and runner.reconnects == 0
        assert any("switching to a fresh connection" in s.detail for s in recorder.statuses)
        assert sim.cap_closes == 0 and sim.keys_created == 1 and sim.user_stream_calls["POST"] == 1


async def test_expired_key_gets_a_new_key_and_a_resync(sim, run):
    truth = sim.truth
    runner, recorder, _ = run(sim)
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    order = truth.place_order("BTC/USDT", Side.SELL, D("71000"), D("0.2"))
    await wait_for(lambda: order.order_id in runner.store.orders, what="the order")
    first = sim.listen_keys
    sim.expire_listen_keys()  # listenKeyExpired, then the stream closes
    truth.fill_order(order.order_id)  # while the client changes keys
    await wait_for(
        lambda: sim.keys_created == 2 and matches_truth(runner.store, truth), what="new key, resync"
    )
    await wait_for(lambda: fill_ids(recorder.fills) == truth_fill_ids(truth), what="the fill, once")
    assert sim.listen_keys != first and sim.user_stream_calls["POST"] == 2
    assert not recorder.saw(State.AUTH_ERROR)
    assert stayed_live(recorder), [(s.state.value, s.detail) for s in recorder.statuses]


async def test_keys_lapsing_on_the_fast_clock_cost_one_post_each(run):
    async with CoinsphSimulator(seed=16, time_scale=1_000) as sim:  # the key lives 3.6 s
        coins = replace(TIMING, keepalive_s=1e6)  # never PUT: every key lapses
        _, recorder, _ = run(sim, coins=coins)
        await wait_for(lambda: sim.keys_expired >= 1 and sim.keys_created == 2, timeout=30, what="a lapse")
        await wait_for(lambda: recorder.state is State.LIVE and len(sim.clients()) == 1, what="live again")
        assert sim.user_stream_calls["POST"] == sim.keys_created <= sim.keys_expired + 1
        assert not recorder.saw(State.AUTH_ERROR)


async def test_key_lost_silently_is_found_by_the_keep_alive(sim, run):
    runner, recorder, _ = run(sim, coins=replace(TIMING, keepalive_s=0.3))
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    sim.forget_listen_keys()  # no push, the socket stays open: the next PUT answers -1125
    sim.truth.set_balance("ETH", D("3"))
    await wait_for(lambda: sim.keys_created == 2 and len(sim.clients()) == 1, what="a new key")
    await wait_for(lambda: matches_truth(runner.store, sim.truth), what="resync")
    assert stayed_live(recorder) and runner.reconnects == 0 and sim.user_stream_calls["POST"] == 2
    assert any("listenKey expired" in s.detail for s in recorder.statuses)


async def test_keys_that_die_at_once_are_not_recreated_in_a_tight_loop(run):
    """A server that expires every key right away (pathological): creations stay spaced by
    key_spacing_s, and the account says why it waits."""
    async with CoinsphSimulator(seed=21) as sim:
        sim.key_validity_s = 0.01  # gone at the simulator's next tick
        coins = replace(TIMING, key_spacing_s=1.0)
        _, recorder, _ = run(sim, coins=coins)
        await wait_for(lambda: sim.keys_created >= 2, timeout=20, what="a second key")
        await asyncio.sleep(1.5)
        assert sim.user_stream_calls["POST"] <= 4  # at most one a second, where a loop makes hundreds
        assert any("waiting before creating another" in s.detail for s in recorder.statuses)
        assert not recorder.saw(State.AUTH_ERROR)


@pytest.mark.parametrize("unknown_key", ["refuse", "close"])
async def test_key_gone_at_the_upgrade_gets_a_new_key_not_an_auth_error(run, unknown_key):
    async with CoinsphSimulator(seed=17, unknown_key=unknown_key) as sim:
        runner, recorder, _ = run(sim)
        await wait_for(lambda: recorder.state is State.LIVE, what="live")
        sim.lose_key_at_next_upgrade()
        await sim.drop_connections()
        sim.truth.set_balance("SOL", D("400"))
        await wait_for(lambda: sim.keys_created == 2 and len(sim.clients()) == 1, what="a new key")
        await wait_for(
            lambda: recorder.state is State.LIVE and matches_truth(runner.store, sim.truth), what="resync"
        )
        assert not recorder.saw(State.AUTH_ERROR) and sim.user_stream_calls["POST"] == 2
        assert sim.connection_attempts == 3  # first, the one refused or closed, the one on the new key


async def test_clean_shutdown_deletes_the_key(sim, run):
    _, recorder, task = run(sim)
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    assert len(sim.listen_keys) == 1
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert sim.user_stream_calls["DELETE"] == 1 and sim.listen_keys == []
    assert recorder.state is State.OFFLINE


# ---- the clock -------------------------------------------------------------------------------


async def test_server_clock_ahead_is_measured_and_corrected(run):
    async with CoinsphSimulator(seed=18, clock_offset_ms=7_000) as sim:
        truth = sim.truth
        order = truth.place_order("BTC/USDT", Side.SELL, D("72000"), D("0.3"))
        runner, recorder, _ = run(sim)
        await wait_for(lambda: recorder.state is State.LIVE, what="live")
        assert sim.timestamp_rejections == 0 and shifted_matches(runner.store, truth, 7_000)
        # A gap: its fills are found although the two clocks disagree by 7 s.
        sim.refuse_connections(True)
        await sim.drop_connections()
        await wait_for(lambda: recorder.state is State.RECONNECTING, what="reconnecting")
        truth.fill_order(order.order_id, D("0.1"))
        sim.refuse_connections(False)
        await wait_for(lambda: fill_ids(recorder.fills) == truth_fill_ids(truth), what="the gap's fill")
        await wait_for(lambda: shifted_matches(runner.store, truth, 7_000), what="convergence")
        assert sim.timestamp_rejections == 0


async def test_clock_jump_is_rejected_once_then_remeasured(sim, run):
    runner, recorder, _ = run(sim, coins=replace(TIMING, keepalive_s=0.2))
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    sim.clock_offset_ms = -7_000  # the server's clock jumps 7 s back: our timestamps are now ahead
    await wait_for(lambda: sim.timestamp_rejections == 1, what="a -1021")
    puts = sim.user_stream_calls["PUT"]
    await wait_for(lambda: sim.user_stream_calls["PUT"] >= puts + 2, what="PUTs accepted again")
    assert sim.timestamp_rejections == 1 and stayed_live(recorder) and runner.reconnects == 0


async def test_timestamp_refused_after_correction_says_so_plainly(run):
    """The server's /time disagrees with the clock it checks timestamps against (+7 s): correcting by
    what /time says cannot help, and the account says why."""
    async with CoinsphSimulator(seed=19, clock_offset_ms=7_000) as sim:
        sim.misreport_time_ms = -7_000
        _, recorder, _ = run(sim)
        await wait_for(lambda: recorder.state is State.AUTH_ERROR, what="auth_error")
        detail = recorder.statuses[-1].detail
        assert detail.startswith(
            "timestamp outside recvWindow (Coins.ph: Timestamp for this request is outside"
        )
        assert (
            "your clock agrees with Coins.ph's /openapi/v1/time" in detail
            and "check this computer's clock" in detail
        )
        assert sim.timestamp_rejections == 2  # the first try, and the one after re-measuring
        measured = sim.rest_calls["/openapi/v1/time"]
        await asyncio.sleep(1.0)
        assert sim.rest_calls["/openapi/v1/time"] - measured <= 4  # slow auth retries, two reads each


async def test_clock_far_off_is_reported_in_seconds(run):
    """Our clock 7 s behind and /time unreachable would be the other way to fail; here /time answers
    and reports the offset, so the message gives the seconds."""
    async with CoinsphSimulator(seed=20, clock_offset_ms=7_000) as sim:
        sim.misreport_time_ms = 60_000  # /time claims +67 s: correction overshoots
        _, recorder, _ = run(sim)
        await wait_for(lambda: recorder.state is State.AUTH_ERROR, what="auth_error")
        assert "your clock is 67.0 s behind Coins.ph's" in recorder.statuses[-1].detail
