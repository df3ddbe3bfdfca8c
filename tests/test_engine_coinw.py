"""The session engine against the CoinW simulator over real websockets on 127.0.0.1: login and
subscriptions, snapshot and stream, a partial fill that no order frame announces (found through the
REST reconcile, exactly once), market orders without a side, a gap with fills made while disconnected,
malformed frames, unknown events, a wrong secret, silence, rate limits, and the secret kept out of every
log line and exception."""

import asyncio
import json
import logging
import random
from collections import Counter
from dataclasses import replace
from decimal import Decimal

import pytest

from streams.config import AccountConfig
from streams.engine import AccountRunner
from streams.exchange import Credentials
from streams.exchanges.coinw import SPEC
from streams.exchanges.coinw.rest import LIMITS
from streams.exchanges.coinw.simulator import LOGIN_FAILED, CoinWSimulator
from streams.model import Balance, OrderStatus, Side, State
from tests.engine_helpers import FAST, Recorder, fragments, wait_for

D = Decimal
# FAST, with a 2 s silence window: the engine then pings every second (CoinW's pong comes from the
# simulator on the same loop as the test, so leave it some slack on a loaded machine).
TIMING = replace(FAST, silence_s=2.0)


def orders_view(orders) -> dict:
    """Orders without their times: CoinW's REST gives no update time, so the client cannot match the
    truth's `updated_ms`."""
    return {i: (o.market, o.side, o.kind, o.price, o.amount, o.filled, o.status) for i, o in orders.items()}


def matches_truth(store, truth) -> bool:
    return store.balances == truth.balances and orders_view(store.orders) == orders_view(truth.open_orders)


def fills_view(fills) -> Counter:
    return Counter(
        (f.trade_id, f.order_id, f.market, f.side, f.price, f.amount, f.fee, f.fee_asset) for f in fills
    )


@pytest.fixture
async def sim():
    simulator = CoinWSimulator(seed=11)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def run(sim):
    """Start a runner for the simulator's account; stops it at the end of the test."""
    tasks = []

    def start(credentials=None, timing=TIMING, markets=()):
        recorder = Recorder()
        account = AccountConfig("c1", "coinw", "Test", sim.ws_url, sim.rest_url, markets=tuple(markets))
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
    resting = truth.place_order("BTC/USDT", Side.BUY, D("60000"), D("0.1"))
    runner, recorder = run()
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    assert [s.state for s in recorder.statuses[:3]] == [State.CONNECTING, State.SYNCING, State.LIVE]
    assert matches_truth(runner.store, truth) and resting.order_id in runner.store.orders
    assert (sim.logins, sim.subscriptions["assets"], sim.subscriptions["order"]) == (1, 1, 1)

    order = truth.place_order("ETH/USDT", Side.SELL, D("3300"), D("2"))
    await wait_for(lambda: order.order_id in runner.store.orders, what="the RECEIVED order frame")
    truth.fill_order(order.order_id)
    truth.cancel_order(resting.order_id)
    await wait_for(lambda: matches_truth(runner.store, truth), what="fill and cancel to reach the store")
    await wait_for(lambda: len(recorder.fills) == len(truth.fills), what="the fill")
    assert fills_view(recorder.fills) == fills_view(truth.fills)
    assert not any(f.late for f in recorder.fills) and runner.reconnects == 0


async def test_partial_fill_without_an_order_frame_is_reported_once_through_rest(sim, run):
    """CoinW has no partial-fill event: the simulator sends only `assets` frames for it. The client
    hears the balances move, re-reads that market's open orders and trades, and reports the fill with
    CoinW's own trade id, once, however often the market is read again."""
    truth = sim.truth
    order = truth.place_order("ETH/USDT", Side.SELL, D("3300"), D("2"))
    runner, recorder = run()
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    trades_calls = len(sim.calls.get("getUserTrades", []))
    order_frames = sim.rendered["order"]

    partial = truth.fill_order(order.order_id, D("0.5"))
    assert sim.rendered["order"] == order_frames and sim.rendered["assets"] > 0  # no order frame for it
    await wait_for(lambda: len(recorder.fills) == 1, what="the partial fill")
    [fill] = recorder.fills
    assert (fill.trade_id, fill.order_id, fill.amount, fill.price) == (
        partial.trade_id,
        order.order_id,
        D("0.5"),
        D("3300"),
    )
    assert (fill.side, fill.fee, fill.fee_asset, fill.late) == (Side.SELL, partial.fee, "USDT", False)
    assert len(sim.calls["getUserTrades"]) > trades_calls  # it came from REST: no stream carries fills
    await wait_for(
        lambda: runner.store.orders[order.order_id].filled == D("0.5"), what="the order's filled amount"
    )
    assert runner.store.orders[order.order_id].status is OrderStatus.PARTIALLY_FILLED

    # More activity on the same market makes the client read its trades again: still one report.
    for _ in range(3):
        reads = len(sim.calls["getUserTrades"])
        other = truth.place_order("ETH/USDT", Side.BUY, D("3000"), D("0.1"))
        await wait_for(lambda r=reads: len(sim.calls["getUserTrades"]) > r, what="another read of the trades")
        truth.cancel_order(other.order_id)
    await wait_for(lambda: matches_truth(runner.store, truth), what="convergence")
    assert [f.trade_id for f in recorder.fills] == [partial.trade_id]

    final = truth.fill_order(order.order_id)  # DONE/FILLED frame, then REST for the trade
    await wait_for(lambda: len(recorder.fills) == 2, what="the final fill")
    assert [f.trade_id for f in recorder.fills] == [partial.trade_id, final.trade_id]
    await wait_for(lambda: order.order_id not in runner.store.orders, what="the order to close")


async def test_market_order_side_comes_from_rest(sim, run):
    truth = sim.truth
    runner, recorder = run()
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    order = truth.place_order("BTC/USDT", Side.SELL, D("65000"), D("0.2"), kind="market")
    await wait_for(lambda: order.order_id in runner.store.orders, what="the market order via REST")
    assert runner.store.orders[order.order_id].side is Side.SELL
    truth.fill_order(order.order_id)
    await wait_for(lambda: len(recorder.fills) == 1, what="its fill")
    assert recorder.fills[0].side is Side.SELL and recorder.fills[0].fee_asset == "USDT"
    await wait_for(lambda: order.order_id not in runner.store.orders, what="the order to close")


async def test_fills_made_while_disconnected_arrive_once_marked_late(sim, run):
    truth = sim.truth
    order = truth.place_order("BTC/USDT", Side.SELL, D("70000"), D("0.3"))
    runner, recorder = run()
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    truth.fill_order(order.order_id, D("0.1"))  # seen live, through REST
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
    await wait_for(lambda: len(recorder.fills) == len(truth.fills), what="every fill")
    assert fills_view(recorder.fills) == fills_view(truth.fills)  # every fill exactly once
    late = [f for f in recorder.fills if f.late]
    # `other` was placed and filled entirely in the gap, on a market the client never saw: found
    # through the assets whose balances moved.
    assert len(late) == 3 and {f.order_id for f in late} == {order.order_id, other.order_id}
    assert sim.logins == 2 and sim.subscriptions == Counter({"assets": 2, "order": 2})


async def test_malformed_frame_and_unknown_event_are_survived(sim, run, caplog):
    caplog.set_level(logging.INFO, logger="streams")
    runner, recorder = run()
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    await sim.send_malformed()
    await wait_for(lambda: runner.malformed_frames == 1, what="the malformed frame")
    await sim.send_malformed(json.dumps({"biz": "exchange", "type": "trades", "data": {}}))
    await sim.send_malformed('{"errorCode":1001,"errorMsg":"Rate Limit"}')
    order = sim.truth.place_order("ETH/USDT", Side.BUY, D("3000"), D("1"))
    await wait_for(lambda: order.order_id in runner.store.orders, what="the next frame")
    assert runner.malformed_frames == 1 and runner.reconnects == 0 and recorder.state is State.LIVE
    assert "skipped a malformed frame" in caplog.text
    assert "ignoring unknown event 'trades'" in caplog.text
    assert "CoinW says: Rate Limit (errorCode 1001)" in caplog.text


async def test_wrong_secret_is_auth_error_with_the_exchanges_text_and_slow_retries(sim, run):
    _, recorder = run({**sim.credentials, "api_secret": "wrong"})
    await wait_for(lambda: recorder.state is State.AUTH_ERROR, what="auth_error")
    code, text = LOGIN_FAILED
    assert f"{text} (errorCode {code})" in recorder.statuses[-1].detail
    attempts = sim.connection_attempts
    await asyncio.sleep(1.0)
    # FAST retries auth after 0.3-0.6 s, then 0.6-1.2 s: at most two more tries in a second, where the
    # transient backoff (0.05 s growing to 0.3 s) would have made five or more.
    assert sim.connection_attempts - attempts <= 2
    assert not recorder.saw(State.LIVE) and sim.logins == 0 and sim.subscriptions == Counter()


async def test_silence_goes_stale_then_relogs_resubscribes_and_resyncs(sim, run):
    runner, recorder = run()
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    snapshots = len(sim.calls["returnCompleteBalances"])
    sim.stop_answering_pings(True)  # pings unread, so no pong, and nothing else happens
    await wait_for(lambda: recorder.saw(State.STALE), what="stale")
    stale = next(s for s in recorder.statuses if s.state is State.STALE)
    assert "no data on coinw" in stale.detail
    sim.truth.set_balance("ETH", D("42"))  # not pushed, and the socket is deaf anyway: the resync finds it
    sim.stop_answering_pings(False)
    await wait_for(lambda: runner.reconnects >= 1 and recorder.state is State.LIVE, what="live again")
    assert sim.logins >= 2 and sim.subscriptions["assets"] >= 2 and sim.subscriptions["order"] >= 2
    assert len(sim.calls["returnCompleteBalances"]) > snapshots
    await wait_for(lambda: matches_truth(runner.store, sim.truth), what="the resync")


async def test_a_quiet_socket_stays_live_on_json_pings(sim, run):
    """The plan pings every 10 s; the engine sends it at least twice per silence window (here 2 s),
    so a socket with no account activity is kept alive by its pongs alone."""
    runner, recorder = run()
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    await wait_for(lambda: sim.pings >= 4, what="four pings")
    assert recorder.state is State.LIVE and runner.reconnects == 0 and not recorder.saw(State.STALE)


async def test_periodic_snapshot_picks_up_what_is_not_pushed(sim, run):
    runner, recorder = run(timing=replace(TIMING, resync_s=0.3))
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    sim.truth.set_balance("ETH", D("13"))  # a deposit: CoinW pushes nothing for it
    await wait_for(lambda: runner.store.balances["ETH"].total == D("13"), what="the periodic snapshot")
    sim.truth.balances["SOL"] = Balance("SOL", D("7"), D("7"), D("0"))  # a lost update
    await wait_for(lambda: runner.store.balances["SOL"].total == D("7"), what="the next snapshot")
    assert runner.reconnects == 0 and recorder.state is State.LIVE


async def test_configured_market_is_asked_even_without_balances(sim, run):
    """A buy of a coin not held, on a market not derivable from balances: found because configured."""
    sim.truth.set_balance("DOGE", D("0"))
    sim.truth.set_balance("USDC", D("500"))
    order = sim.truth.place_order("DOGE/USDC", Side.BUY, D("0.1"), D("100"))
    runner, recorder = run(markets=["DOGE/USDC"])
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    assert order.order_id in runner.store.orders


async def test_snapshot_races_stream_events_and_activity_converges(sim, run):
    """Changes while the snapshot is in flight are neither lost nor misapplied; fills are each
    reported once (live or late), and the REST limits are kept throughout. Random activity includes
    deposits, which CoinW does not push: the periodic snapshot brings those."""
    sim.set_delay(0.05)
    truth = sim.truth
    rng = random.Random(5)
    runner, recorder = run(timing=replace(TIMING, resync_s=1.0))
    for _ in range(20):
        truth.random_step(rng)
        await asyncio.sleep(0.005)
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    for _ in range(40):
        truth.random_step(rng)
        await asyncio.sleep(0.01)
    await wait_for(lambda: matches_truth(runner.store, truth), timeout=30, what="convergence")
    ids = Counter(f.trade_id for f in recorder.fills)
    assert all(n == 1 for n in ids.values())
    assert set(ids) <= {f.trade_id for f in truth.fills}
    assert sim.rate_limited == 0
    for command, (limit, period) in LIMITS.items():
        assert sim.max_calls_in(command, period) <= limit, command


async def test_secret_never_in_logs_statuses_or_exceptions(sim, run, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="websockets")
    secret = sim.credentials["api_secret"]
    runner, recorder = run()
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    await sim.drop_connections()  # a reconnect logs in again
    await wait_for(lambda: runner.reconnects >= 1 and recorder.state is State.LIVE, what="live again")
    wrong = "wrong-" + secret
    _, refused = run({**sim.credentials, "api_secret": wrong})
    await wait_for(lambda: refused.state is State.AUTH_ERROR, what="auth_error")
    records = caplog.records
    assert any(r.name.startswith("websockets.client") and '"event":"sub"' in r.getMessage() for r in records)
    pieces = fragments(secret, sim.credentials["api_key"]) | fragments(wrong, sim.credentials["api_key"])
    assert len(pieces) > 10
    for record in records:
        shown = record.getMessage() + (record.exc_text or "") + repr(record.exc_info or "")
        assert not [p for p in pieces if p in shown], (record.name, shown)
        assert '"event":"login"' not in shown
    for status in recorder.statuses + refused.statuses:
        assert not [p for p in pieces if p in status.detail]
    assert secret not in repr(runner.__dict__)
