"""The session engine against the Bitzoom simulator over real websockets on 127.0.0.1: logon,
subId routing, snapshot and stream, fills found through the trade history, a gap, a malformed line
inside a multi-line message, unknown subIds, a refused or expiring token, silence and the 2 s
reconnect."""

import asyncio
import json
import logging
import random
import re
from decimal import Decimal

import pytest

from streams.config import AccountConfig
from streams.engine import AccountRunner
from streams.exchange import Credentials
from streams.exchanges.bitzoom import SPEC
from streams.exchanges.bitzoom.parser import BALANCE, OPEN_ORDERS, TOKEN_EXPIRED
from streams.exchanges.bitzoom.rest import HISTORY_TRADE
from streams.exchanges.bitzoom.simulator import BitzoomSimulator
from streams.model import Balance, OrderStatus, Side, State, replace
from streams.simulator.base import Refusal
from tests.engine_helpers import FAST, Recorder, matches_truth, wait_for


def fill_ids(fills) -> list[str]:
    return sorted(f.trade_id for f in fills)


@pytest.fixture
async def sim():
    simulator = BitzoomSimulator(seed=11)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def run(sim):
    """Start a runner for the simulator's account; stops it at the end of the test."""
    tasks = []

    def start(token=None, timing=FAST, simulator=None):
        target = simulator or sim
        recorder = Recorder()
        account = AccountConfig("z1", "bitzoom", "Test", target.ws_url, target.rest_url)
        credentials = Credentials({"jwt": token or target.credentials["jwt"]})
        runner = AccountRunner(account, SPEC, credentials, recorder, timing=timing)
        tasks.append(asyncio.create_task(runner.run()))
        return runner, recorder

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_snapshot_then_stream_matches_truth_and_fills_come_from_the_trade_history(sim, run):
    truth = sim.truth
    resting = truth.place_order("BTC/USDT", Side.BUY, Decimal("60000"), Decimal("0.1"))
    runner, recorder = run()
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    assert [s.state for s in recorder.statuses[:3]] == [State.CONNECTING, State.SYNCING, State.LIVE]
    assert matches_truth(runner.store, truth) and resting.order_id in runner.store.orders
    assert int(resting.order_id) > 2**53  # ids beyond a float's reach arrive exact

    order = truth.place_order("ETH/USDT", Side.SELL, Decimal("3300"), Decimal("2"))
    truth.fill_order(order.order_id, Decimal("0.5"))
    await wait_for(lambda: matches_truth(runner.store, truth), what="partial fill to reach the store")
    assert runner.store.orders[order.order_id].status is OrderStatus.PARTIALLY_FILLED
    truth.fill_order(order.order_id)
    truth.cancel_order(resting.order_id)
    await wait_for(lambda: matches_truth(runner.store, truth), what="fill and cancel to reach the store")
    assert order.order_id not in runner.store.orders and resting.order_id not in runner.store.orders
    # No fill channel: the fills come from GET /api/v1/historytrade, asked for by the order pushes.
    await wait_for(lambda: len(recorder.fills) == len(truth.fills) == 2, what="both fills")
    assert fill_ids(recorder.fills) == fill_ids(truth.fills)
    assert {(f.order_id, f.price, f.amount, f.fee, f.fee_asset) for f in recorder.fills} == {
        (f.order_id, f.price, f.amount, f.fee, f.fee_asset) for f in truth.fills
    }
    assert not any(f.late for f in recorder.fills)
    assert runner.reconnects == 0 and sim.rest_calls[HISTORY_TRADE] >= 1


async def test_raw_payloads_are_kept_per_channel(sim, run):
    runner, recorder = run()
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    sim.truth.set_balance("ETH", Decimal("13"))
    order = next(iter(sim.truth.open_orders))
    sim.truth.fill_order(order, Decimal("0.01"))
    await wait_for(
        lambda: {BALANCE, OPEN_ORDERS, f"GET {HISTORY_TRADE}"} <= set(runner.store.raw), what="raw payloads"
    )
    balance = json.loads(runner.store.raw[BALANCE])
    assert balance["channel"] == BALANCE and "unrealizedProfit" in balance["data"][0]  # unmapped, kept
    assert json.loads(runner.store.raw[OPEN_ORDERS])["data"]["id"] == int(order)


async def test_fill_and_balance_change_made_while_disconnected_arrive_once_marked_late(sim, run):
    truth = sim.truth
    order = truth.place_order("BTC/USDT", Side.SELL, Decimal("70000"), Decimal("0.3"))
    runner, recorder = run()
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    truth.fill_order(order.order_id, Decimal("0.1"))  # seen live
    await wait_for(lambda: len(recorder.fills) == 1, what="the live fill")
    subscriptions = sim.subscriptions

    sim.refuse_connections(True)
    await sim.drop_connections()
    await wait_for(lambda: recorder.state is State.RECONNECTING, what="reconnecting")
    other = truth.place_order("SOL/USDT", Side.BUY, Decimal("140"), Decimal("3"))
    truth.fill_order(order.order_id, Decimal("0.05"))
    truth.fill_order(order.order_id)
    truth.fill_order(other.order_id)  # placed and filled entirely within the gap
    truth.set_balance("TWD", Decimal("123.45"), Decimal("100"), Decimal("23.45"))
    sim.refuse_connections(False)

    await wait_for(lambda: runner.reconnects >= 1 and recorder.state is State.LIVE, what="live again")
    await wait_for(lambda: matches_truth(runner.store, truth), what="state to converge")
    await wait_for(lambda: len(recorder.fills) == 4, what="every fill")
    await asyncio.sleep(0.8)  # a refresh may still be in flight: it must not add a duplicate
    assert fill_ids(recorder.fills) == fill_ids(truth.fills)  # every fill exactly once
    late = [f for f in recorder.fills if f.late]
    assert len(late) == 3 and {f.order_id for f in late} == {order.order_id, other.order_id}
    assert runner.store.balances["TWD"] == Balance("TWD", Decimal("123.45"), Decimal("100"), Decimal("23.45"))
    assert sim.subscriptions == subscriptions + 2  # logged on again and re-subscribed both channels


async def test_malformed_line_inside_a_multi_line_message_drops_nothing_else(sim, run, caplog):
    caplog.set_level(logging.INFO, logger="streams")
    runner, recorder = run()
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    # Change the truth behind the listeners' back; only the mixed message can tell the client.
    sim.truth.balances["ETH"] = Balance("ETH", Decimal("77"), Decimal("77"), Decimal("0"))
    await sim.send_mixed_frame()  # balances, a truncated line, open orders: one websocket message
    await wait_for(
        lambda: runner.store.balances["ETH"].total == Decimal("77"), what="the line before the bad one"
    )
    assert runner.malformed_frames == 1
    assert "skipped a malformed part" in caplog.text

    await sim.send_malformed('{"channel":"/api/v1/balance","event":"0badc0ffee00","data":[]}')
    await sim.send_malformed("not json at all")  # a message of one bad line
    sim.truth.set_balance("BTC", Decimal("9"), Decimal("8"), Decimal("1"))
    await wait_for(lambda: runner.store.balances["BTC"].total == Decimal("9"), what="the next push")
    assert runner.malformed_frames == 2 and runner.reconnects == 0 and recorder.state is State.LIVE
    assert "unknown subId '0badc0ffee00'" in caplog.text


async def test_mixed_message_keeps_the_line_after_the_bad_one(sim, run):
    runner, recorder = run()
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    quiet = sim.truth.place_order("SOL/USDT", Side.SELL, Decimal("170"), Decimal("1"))
    await wait_for(lambda: quiet.order_id in runner.store.orders, what="the order")
    # Re-price it behind the listeners' back: only the last line of the mixed message says so.
    sim.truth.open_orders[quiet.order_id] = replace(quiet, price=Decimal("171"))
    await sim.send_mixed_frame()
    await wait_for(lambda: runner.store.orders[quiet.order_id].price == Decimal("171"), what="the line after")


async def test_expired_token_is_auth_error_with_the_text_and_slow_retries(sim, run):
    _, recorder = run(token=sim.issue_token(lifetime_s=-60))
    await wait_for(lambda: recorder.state is State.AUTH_ERROR, what="auth_error")
    assert recorder.statuses[-1].detail.startswith(TOKEN_EXPIRED)
    attempts = sim.connection_attempts
    await asyncio.sleep(1.0)
    # FAST retries auth after 0.3-0.6 s, then 0.6-1.2 s: at most two more tries in a second, where the
    # transient backoff (0.05 s growing to 0.3 s) would have made five or more.
    assert sim.connection_attempts - attempts <= 2
    assert sim.logon_failures >= 1 and sim.subscriptions == 0 and not recorder.saw(State.LIVE)


async def test_a_token_expiring_mid_session_is_auth_error_without_a_storm(sim, run):
    runner, recorder = run()
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    sim.expire_tokens()
    await wait_for(lambda: recorder.state is State.AUTH_ERROR, what="auth_error")
    assert recorder.statuses[-1].detail.startswith(TOKEN_EXPIRED)
    attempts = sim.connection_attempts
    await asyncio.sleep(1.0)
    assert sim.connection_attempts - attempts <= 2
    assert recorder.state is State.AUTH_ERROR and runner.store.balances  # the last data is kept


async def test_rest_1002_is_auth_error(sim, run):
    """A token the websocket still takes but REST refuses (tokens can be scoped): -1002 in REST's words."""

    async def refuse_rest(request):
        return Refusal(401, "Unauthorized")

    sim.authenticate_rest = refuse_rest
    _, recorder = run()
    await wait_for(lambda: recorder.state is State.AUTH_ERROR, what="auth_error")
    assert recorder.statuses[-1].detail.startswith(f"{TOKEN_EXPIRED} (-1002 Unauthorized)")


async def test_reconnect_waits_about_two_seconds_then_logs_on_and_resubscribes(sim, run):
    runner, recorder = run(timing=replace(FAST, first_backoff_s=None))  # the spec's own 2 s
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    attempts, logons = sim.connection_attempts, sim.logons
    await sim.drop_connections()
    await wait_for(lambda: recorder.state is State.RECONNECTING, what="reconnecting")
    waited = float(re.search(r"retrying in ([\d.]+) s", recorder.statuses[-1].detail).group(1))
    assert 1.0 <= waited <= 2.0  # drawn from [first/2, first] with first = 2 s
    await asyncio.sleep(0.5)
    assert sim.connection_attempts == attempts  # not yet: no reconnect storm
    await wait_for(lambda: recorder.state is State.LIVE and runner.reconnects == 1, what="live again")
    assert sim.logons == logons + 1
    sim.truth.set_balance("ETH", Decimal("5"))  # routed through the new subIds
    await wait_for(
        lambda: runner.store.balances["ETH"].total == Decimal("5"), what="a push on the new connection"
    )


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


async def test_lower_case_query_names_after_a_parameter_error(run):
    async with BitzoomSimulator(seed=5, param_case="lower") as lower:
        _, recorder = run(simulator=lower)
        await wait_for(lambda: recorder.state is State.LIVE, what="live")
        order = next(iter(lower.truth.open_orders))
        lower.truth.fill_order(order)
        await wait_for(lambda: fill_ids(recorder.fills) == fill_ids(lower.truth.fills), what="the fill")


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
    await wait_for(
        lambda: set(fill_ids(recorder.fills)) >= {f.trade_id for f in truth.fills[-5:]}, what="fills"
    )
    assert len(fill_ids(recorder.fills)) == len(set(fill_ids(recorder.fills)))


async def test_the_token_never_reaches_a_log_line(sim, run, caplog):
    caplog.set_level(logging.DEBUG)
    token = sim.credentials["jwt"]
    _, recorder = run(token=token)
    await wait_for(lambda: recorder.state is State.LIVE, what="live")
    sim.expire_tokens()
    await wait_for(lambda: recorder.state is State.AUTH_ERROR, what="auth_error")
    ours = [r for r in caplog.records if r.name.startswith("streams")]
    assert any("token expires in" in r.getMessage() for r in ours)  # the check would see the logs
    assert not any(token in r.getMessage() for r in ours)
    assert not any(token.split(".")[2] in s.detail for s in recorder.statuses)


async def test_replace_credentials_keeps_the_store_and_recovers_the_gap(sim):
    """The engine hook behind the GUI's token field: a new run with new secrets, same store."""
    recorder = Recorder()
    account = AccountConfig("z1", "bitzoom", "Test", sim.ws_url, sim.rest_url)
    runner = AccountRunner(account, SPEC, Credentials(sim.credentials), recorder, timing=FAST)
    task = asyncio.create_task(runner.run())
    try:
        await wait_for(lambda: recorder.state is State.LIVE, what="live")
        sim.expire_tokens()
        await wait_for(lambda: recorder.state is State.AUTH_ERROR, what="auth_error")
        missed = sim.truth.fill_order(next(iter(sim.truth.open_orders)))
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        runner.replace_credentials(Credentials({"jwt": sim.issue_token()}))
        task = asyncio.create_task(runner.run())
        await wait_for(lambda: recorder.state is State.LIVE, what="live with the new token")
        await wait_for(lambda: matches_truth(runner.store, sim.truth), what="convergence")
        assert [(f.trade_id, f.late) for f in recorder.fills] == [(missed.trade_id, True)]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
