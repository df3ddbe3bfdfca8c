"""The session engine against the Bitstamp simulator over real websockets and HTTP on 127.0.0.1:
snapshot and stream, markets subscribed while live, balances by polling, a gap with fills made while
disconnected, a forced reconnect under load, malformed frames, refused keys and tokens, a silent
server, and the websocket token kept in the real keyring."""

import asyncio
import json
import logging
import random
import subprocess
import uuid
from dataclasses import replace
from decimal import Decimal
from functools import partial

import pytest

from streams.config import AccountConfig
from streams.credentials import TOKEN_SERVICE, secure_backend
from streams.engine import AccountRunner
from streams.exchange import Credentials
from streams.exchanges.bitstamp import SPEC
from streams.exchanges.bitstamp.parser import ORDERS_CHANNEL, TRADES_CHANNEL
from streams.exchanges.bitstamp.rest import BitstampHttp
from streams.exchanges.bitstamp.session import make_session
from streams.exchanges.bitstamp.simulator import BitstampSimulator
from streams.exchanges.bitstamp.token_store import TokenStore, WsToken, username
from streams.model import OrderStatus, Side, State, now_ms
from tests.engine_helpers import FAST, Recorder, wait_for

D = Decimal
# FAST watches for 1 s of silence: heartbeats every 0.2 s keep a healthy link visibly alive.
TEST_SPEC = replace(SPEC, make_session=partial(make_session, heartbeat_s=0.2))


def shape(order):
    """What the client can know of an order: REST gives creation times in whole seconds, and no time
    of the last change."""
    return (
        order.market,
        order.side,
        order.kind,
        order.price,
        order.amount,
        order.filled,
        order.status,
        order.created_ms // 1000,
    )


def matches_truth(store, truth) -> bool:
    held = {a: b for a, b in truth.balances.items() if b.total or b.available or b.locked}
    orders = {k: shape(o) for k, o in store.orders.items()}
    return store.balances == held and orders == {k: shape(o) for k, o in truth.open_orders.items()}


def ids(fills):
    return sorted(f.trade_id for f in fills)


@pytest.fixture
async def sim():
    simulator = BitstampSimulator(seed=11)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def run(sim):
    """Start runners for the simulator's account (each with its own account id, so their tokens do not
    meet in the keyring); stops them and forgets their tokens at the end of the test."""
    tasks, names = [], []

    def start(credentials=None, timing=FAST, markets=(), account_id=None, simulated=False):
        recorder = Recorder()
        name = account_id or f"bs-{uuid.uuid4().hex[:8]}"
        names.append(name)
        account = AccountConfig(
            name, "bitstamp", "Test", sim.ws_url, sim.rest_url, tuple(markets), simulated=simulated
        )
        runner = AccountRunner(
            account, TEST_SPEC, Credentials(credentials or sim.credentials), recorder, timing=timing
        )
        tasks.append(asyncio.create_task(runner.run()))
        return runner, recorder

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for name in names:
        subprocess.run(
            ["secret-tool", "clear", "service", TOKEN_SERVICE, "username", username(name)], check=False
        )


async def live(recorder, sim, *markets):
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    for market in markets:
        await sim.wait_subscribed(market, timeout=10)


async def test_snapshot_then_stream_matches_truth(sim, run):
    truth = sim.truth
    resting = truth.place_order("BTC/USDT", Side.BUY, D("60000"), D("0.1"))
    runner, recorder = run()
    await live(recorder, sim, "BTC/USDT", "ETH/USDT")
    assert [s.state for s in recorder.statuses[:3]] == [State.CONNECTING, State.SYNCING, State.LIVE]
    assert matches_truth(runner.store, truth) and resting.order_id in runner.store.orders

    order = truth.place_order("ETH/USDT", Side.SELL, D("3300"), D("2"))
    truth.fill_order(order.order_id, D("0.5"))
    await wait_for(lambda: matches_truth(runner.store, truth), what="partial fill to reach the store")
    assert runner.store.orders[order.order_id].status is OrderStatus.PARTIALLY_FILLED
    truth.fill_order(order.order_id)
    truth.cancel_order(resting.order_id)
    # balances follow by polling, shortly after the order and trade events (no periodic poll this soon)
    await wait_for(lambda: matches_truth(runner.store, truth), what="fill, cancel and balances")
    assert order.order_id not in runner.store.orders and resting.order_id not in runner.store.orders
    await wait_for(lambda: len(recorder.fills) == len(truth.fills), what="every fill")
    assert ids(recorder.fills) == ids(truth.fills) and not any(f.late for f in recorder.fills)
    fill = next(f for f in recorder.fills if f.order_id == order.order_id)
    assert (fill.fee_asset, fill.market, fill.side) == ("USDT", "ETH/USDT", Side.SELL)
    assert runner.reconnects == 0 and sim.connection_attempts == 1


async def test_a_new_market_is_subscribed_while_live_and_fills_before_its_ack_are_recovered(sim, run):
    truth = sim.truth
    runner, recorder = run(timing=replace(FAST, resync_s=0.3))
    await live(recorder, sim, "BTC/USDT")
    assert not sim.clients(sim.channel(ORDERS_CHANNEL, "XRP/USD"))  # the account holds neither asset

    truth.set_balance("USD", "1000")  # a deposit: no stream event on Bitstamp
    order = truth.place_order("XRP/USD", Side.BUY, D("0.5"), D("1000"))
    early = truth.fill_order(order.order_id, D("100"))  # before the client can know the market
    await sim.wait_subscribed("XRP/USD", timeout=10)  # found by a REST poll, subscribed on this socket
    await wait_for(lambda: early.trade_id in {f.trade_id for f in recorder.fills}, what="the early fill")
    later = truth.fill_order(order.order_id, D("200"))
    await wait_for(lambda: later.trade_id in {f.trade_id for f in recorder.fills}, what="a live fill")
    await wait_for(lambda: matches_truth(runner.store, truth), what="convergence")
    by_id = {f.trade_id: f for f in recorder.fills}
    assert by_id[early.trade_id].late and not by_id[later.trade_id].late
    assert ids(recorder.fills) == ids(truth.fills)  # each once
    assert sim.connection_attempts == 1 and runner.reconnects == 0  # no restart, no reconnect


async def test_balances_are_polled(sim, run):
    runner, recorder = run(timing=replace(FAST, resync_s=0.3))
    await live(recorder, sim)
    polls = sim.rest_calls["/api/v2/account_balances/"]
    sim.truth.set_balance("ETH", "13")  # a deposit: nothing on the stream
    await wait_for(lambda: runner.store.balances["ETH"].total == D("13"), what="the next poll")
    assert sim.rest_calls["/api/v2/account_balances/"] > polls and recorder.state is State.LIVE


async def test_fills_made_while_disconnected_arrive_once_marked_late(sim, run):
    truth = sim.truth
    order = truth.place_order("BTC/USDT", Side.SELL, D("70000"), D("0.3"))
    runner, recorder = run()
    await live(recorder, sim, "BTC/USDT")
    truth.fill_order(order.order_id, D("0.1"))  # seen live on the stream
    await wait_for(lambda: len(recorder.fills) == 1, what="the live fill")

    sim.refuse_connections(True)
    await sim.drop_connections()
    await wait_for(lambda: recorder.state is State.RECONNECTING, what="reconnecting")
    truth.set_balance("USD", "5000")
    other = truth.place_order("ETH/USD", Side.BUY, D("3000"), D("1"))  # a market never seen before
    truth.fill_order(order.order_id, D("0.05"))
    truth.fill_order(order.order_id)
    truth.fill_order(other.order_id)  # placed and filled entirely in the gap
    truth.set_balance("TWD", D("123.45"), D("100"), D("23.45"))
    sim.refuse_connections(False)

    await wait_for(lambda: runner.reconnects >= 1 and recorder.state is State.LIVE, what="live again")
    await wait_for(lambda: matches_truth(runner.store, truth), what="state to converge")
    await wait_for(lambda: len(recorder.fills) == len(truth.fills), what="every fill")
    assert ids(recorder.fills) == ids(truth.fills)  # every fill exactly once
    late = [f for f in recorder.fills if f.late]
    assert len(late) == 3 and {f.order_id for f in late} == {order.order_id, other.order_id}
    await sim.wait_subscribed("BTC/USDT", timeout=10)  # the markets of the last connection come back


async def test_request_reconnect_switches_to_a_fresh_connection_without_losing_a_fill(sim, run):
    truth = sim.truth
    truth.set_balance("USDT", "1000000")
    runner, recorder = run()
    await live(recorder, sim, "BTC/USDT")
    tokens_before = sim.tokens_issued
    order = truth.place_order("BTC/USDT", Side.BUY, D("60000"), D("10"))
    await wait_for(lambda: order.order_id in runner.store.orders, what="the order")

    stop = asyncio.Event()

    async def keep_filling() -> None:
        while not stop.is_set() and order.order_id in truth.open_orders:
            truth.fill_order(order.order_id, D("0.01"))
            await asyncio.sleep(0.005)

    filler = asyncio.create_task(keep_filling())
    await asyncio.sleep(0.05)
    await sim.request_reconnect(close_after_s=2.0)
    await wait_for(lambda: sim.connection_attempts == 2 and len(sim.clients()) == 1, what="the switch")
    await sim.wait_subscribed("BTC/USDT", timeout=10)
    await asyncio.sleep(0.1)
    stop.set()
    await filler
    await wait_for(lambda: len(recorder.fills) == len(truth.fills), timeout=15, what="every fill")
    await wait_for(lambda: matches_truth(runner.store, truth), what="convergence")
    assert ids(recorder.fills) == ids(truth.fills) and len(truth.fills) > 10
    assert any(f.late for f in recorder.fills)  # some fell in the switch and came from REST
    assert sim.tokens_issued > tokens_before  # the new connection subscribed with a fresh token
    assert runner.reconnects == 0  # switched, not reconnected after a failure
    assert not recorder.saw(State.RECONNECTING) and not recorder.saw(State.STALE)
    assert any("switching to a fresh connection" in s.detail for s in recorder.statuses)


async def test_malformed_frame_and_unknown_event_are_survived(sim, run, caplog):
    caplog.set_level(logging.INFO)
    runner, recorder = run()
    await live(recorder, sim, "BTC/USDT")
    await sim.send_malformed()
    await wait_for(lambda: runner.malformed_frames == 1, what="the malformed frame")
    await sim.send_malformed(json.dumps({"event": "stop_active", "channel": "x", "data": {}}))
    order = next(iter(sim.truth.open_orders))
    sim.truth.cancel_order(order)
    await wait_for(lambda: order not in runner.store.orders, what="the next frame")
    assert runner.malformed_frames == 1 and runner.reconnects == 0 and recorder.state is State.LIVE
    assert (
        "skipped a malformed frame" in caplog.text and "ignoring unknown event 'stop_active'" in caplog.text
    )


async def test_wrong_secret_is_auth_error_with_the_exchanges_text_and_slow_retries(sim, run):
    _, recorder = run({**sim.credentials, "api_secret": "wrong"})
    await wait_for(lambda: recorder.state is State.AUTH_ERROR, what="auth_error")
    assert "HTTP 403: Invalid signature (API0005)" in recorder.statuses[-1].detail
    tries = sim.rest_auth_failures
    await asyncio.sleep(1.0)
    # FAST retries auth after 0.3-0.6 s, then 0.6-1.2 s: at most two more tries in a second, where the
    # transient backoff (0.05 s growing to 0.3 s) would have made five or more.
    assert tries >= 1 and sim.rest_auth_failures - tries <= 2
    assert not recorder.saw(State.LIVE) and sim.connection_attempts == 0


async def test_a_refused_token_is_auth_error_with_bitstamps_words(sim, run):
    sim.token_valid_s = 0  # every token has expired by the time it is used
    _, recorder = run(markets=("BTC/USDT",))
    await wait_for(lambda: recorder.state is State.AUTH_ERROR, what="auth_error")
    assert "Connection is unauthorized. (bts:error 4009)" in recorder.statuses[-1].detail
    assert sim.refused_subscribes >= 1


@pytest.mark.parametrize("markets", [("BTC/USDT",), ()], ids=["in the handshake", "while live"])
async def test_a_stored_token_that_is_refused_is_replaced_without_an_auth_error(sim, run, markets):
    account_id = f"bs-{uuid.uuid4().hex[:8]}"
    await TokenStore(account_id).save(WsToken("no-longer-valid", sim.user_id, now_ms() + 60_000))
    _, recorder = run(markets=markets, account_id=account_id)
    await wait_for(lambda: sim.tokens_issued == 1, what="a fresh token")
    await live(recorder, sim, "BTC/USDT", "ETH/USDT")
    assert sim.refused_subscribes >= 1 and not recorder.saw(State.AUTH_ERROR)
    assert (await TokenStore(account_id).load()).token != "no-longer-valid"


async def test_a_demo_account_keeps_its_token_in_memory_and_writes_nothing_to_the_keyring(sim, run):
    account_id = f"bs-{uuid.uuid4().hex[:8]}"
    runner, recorder = run(markets=("BTC/USDT",), account_id=account_id, simulated=True)
    await live(recorder, sim, "BTC/USDT", "ETH/USDT")
    assert sim.tokens_issued == 1
    assert secure_backend().get_password(TOKEN_SERVICE, username(account_id)) is None
    await sim.drop_connections()  # the reconnect reuses the token from memory, or fetches one
    await wait_for(lambda: runner.reconnects >= 1 and recorder.state is State.LIVE, what="back live")
    assert secure_backend().get_password(TOKEN_SERVICE, username(account_id)) is None


async def test_the_token_is_kept_in_the_keyring_reused_at_start_and_replaced_after_a_reconnect(
    sim, run, http_session
):
    account_id = f"bs-{uuid.uuid4().hex[:8]}"
    api = BitstampHttp(sim.rest_url, Credentials(sim.credentials), http_session)
    stored = await api.websocket_token()  # as a previous run of the app would have left it
    await TokenStore(account_id).save(stored)
    runner, recorder = run(markets=("BTC/USDT",), account_id=account_id)
    await live(recorder, sim, "BTC/USDT", "ETH/USDT")
    assert sim.tokens_issued == 1  # the stored token served the start
    in_keyring = WsToken.from_json(secure_backend().get_password(TOKEN_SERVICE, username(account_id)))
    assert in_keyring == stored

    await sim.drop_connections()
    await wait_for(lambda: runner.reconnects >= 1 and recorder.state is State.LIVE, what="live again")
    await sim.wait_subscribed("BTC/USDT")
    assert sim.tokens_issued == 2  # a reconnect gets a fresh token
    replaced = WsToken.from_json(secure_backend().get_password(TOKEN_SERVICE, username(account_id)))
    assert replaced is not None and replaced.token != stored.token
    assert replaced.expires_ms > stored.expires_ms and replaced.user_id == sim.user_id


async def test_a_configured_market_bitstamp_does_not_list_is_a_warning_once(sim, run, caplog):
    caplog.set_level(logging.WARNING)
    runner, recorder = run(markets=("DOGE/XYZ", "BTC/USDT"))
    await live(recorder, sim, "BTC/USDT")
    await sim.drop_connections()
    await wait_for(lambda: runner.reconnects >= 1 and recorder.state is State.LIVE, what="live again")
    warnings = [r.getMessage() for r in caplog.records if "DOGE/XYZ" in r.getMessage()]
    assert len(warnings) == 1 and "not listed by Bitstamp" in warnings[0]
    assert not any("dogexyz" in name for name in sim.subscribes)


async def test_silent_server_goes_stale_then_recovers(sim, run):
    runner, recorder = run()
    await live(recorder, sim)
    sim.stop_answering_pings(True)  # heartbeats go unanswered
    await wait_for(lambda: recorder.saw(State.STALE), timeout=10, what="stale")
    stale = next(s for s in recorder.statuses if s.state is State.STALE)
    assert "no data on private" in stale.detail
    sim.stop_answering_pings(False)
    await wait_for(lambda: runner.reconnects >= 1 and recorder.state is State.LIVE, what="live again")
    await wait_for(lambda: matches_truth(runner.store, sim.truth), what="convergence")


async def test_random_activity_converges(sim, run):
    truth = sim.truth
    rng = random.Random(5)
    sim.set_delay(0.02)
    runner, recorder = run()
    for _ in range(20):
        truth.random_step(rng)
        await asyncio.sleep(0.005)
    await live(recorder, sim, "BTC/USDT", "ETH/USDT", "SOL/USDT", "BITO/TWD", "USDT/TWD")
    for _ in range(60):
        truth.random_step(rng)
        await asyncio.sleep(0.002)
    await wait_for(lambda: matches_truth(runner.store, truth), timeout=15, what="convergence")
    assert set(ids(recorder.fills)) <= set(ids(truth.fills))
    assert len(ids(recorder.fills)) == len(set(ids(recorder.fills)))  # never twice


@pytest.fixture
async def http_session():
    import aiohttp

    async with aiohttp.ClientSession() as session:
        yield session


async def test_frames_that_arrive_between_the_handshakes_acks_are_not_lost(sim, run):
    """The handshake reads until every subscribe is acknowledged; a trade on a channel acknowledged
    first arrives before the later acks. It must reach the store (once, live), not be swallowed."""
    truth = sim.truth
    order = next(o for o in truth.open_orders.values() if o.market == "BTC/USDT")
    fills = []
    sim.after_ack(
        sim.channel(TRADES_CHANNEL, "BTC/USDT"),
        lambda: fills.append(truth.fill_order(order.order_id, "0.01")),
    )
    runner, recorder = run(markets=("BTC/USDT", "ETH/USDT", "SOL/USDT"))
    await live(recorder, sim, "BTC/USDT")
    assert len(fills) == 1
    await wait_for(lambda: len(recorder.fills) == 1, what="the fill")
    assert recorder.fills[0].trade_id == fills[0].trade_id and not recorder.fills[0].late
    await wait_for(lambda: matches_truth(runner.store, truth), what="convergence")
    assert runner.malformed_frames == 0
