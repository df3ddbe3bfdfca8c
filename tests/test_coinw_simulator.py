"""The CoinW simulator speaks the documented protocol to plain websockets and aiohttp clients: the
login/sub handshake, pushes only for trading (and no order frame for a partial fill), the MD5-signed
REST commands with CoinW's envelope, the rate limits, and the faults."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from streams.exchanges.coinw.session import send_unlogged
from streams.exchanges.coinw.simulator import (
    BAD_SIGNATURE,
    LOGIN_FAILED,
    RATE_LIMITED,
    UNKNOWN_KEY,
    CoinWSimulator,
    china_time,
)
from streams.model import now_ms
from streams.simulator.base import DEFAULT_MALFORMED
from tests.engine_helpers import fragments

D = Decimal
ASSETS_FIELDS = {"available", "currency", "time", "type", "ledger_id", "account", "hold"}
ORDER_FIELDS = {
    "side", "fee", "dealFunds", "type", "client_id", "remaining_size", "size", "price", "product_id", "time",
    "order_id", "order_type",
}  # fmt: skip


@pytest.fixture
async def sim() -> AsyncIterator[CoinWSimulator]:
    async with CoinWSimulator(seed=7) as simulator:
        yield simulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def login(creds: dict[str, str]) -> str:
    return json.dumps(
        {"event": "login", "params": {"api_key": creds["api_key"], "passphrase": creds["api_secret"]}}
    )


def sub(kind: str, event: str = "sub") -> str:
    return json.dumps({"event": event, "params": {"biz": "exchange", "type": kind}})


async def frame(ws: ClientConnection) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), 2))


async def nothing(ws: ClientConnection, seconds: float = 0.3) -> None:
    """Assert that no frame arrives for a while (used only to show a frame is NOT sent)."""
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.recv(), seconds)


async def logged_in(sim: CoinWSimulator, *kinds: str) -> ClientConnection:
    """A socket that logged in and subscribed to `kinds`, acks consumed."""
    ws = await connect(sim.ws_url)
    await send_unlogged(ws, login(sim.credentials))
    assert await frame(ws) == {"data": {"result": True}, "channel": "login"}
    for kind in kinds:
        await ws.send(sub(kind))
        assert await frame(ws) == {
            "biz": "exchange",
            "data": {"result": True},
            "channel": "subscribe",
            "type": kind,
        }
    return ws


def sign(query: dict[str, str], secret: str) -> str:
    """The protocol's rule written out once more, for requests made by hand."""
    names = sorted(n for n in query if n not in ("command", "sign"))
    text = "&".join(f"{n}={query[n]}" for n in names) + f"&secret_key={secret}"
    return hashlib.md5(text.encode()).hexdigest().upper()


async def call(
    http: aiohttp.ClientSession, sim: CoinWSimulator, command: str, secret: str | None = None, **params: str
) -> dict:
    query = {"command": command, **params, "api_key": sim.credentials["api_key"]}
    query["sign"] = sign(query, secret or sim.credentials["api_secret"])
    async with http.post(f"{sim.rest_url}/api/v1/private", params=query) as response:
        assert response.status == 200
        return await response.json()


# ---- websocket: handshake ----------------------------------------------------------------------


async def test_login_then_subscriptions_are_acked_and_nothing_comes_on_connect(sim) -> None:
    ws = await connect(sim.ws_url)
    await nothing(ws, 0.2)  # CoinW sends nothing until asked
    await send_unlogged(ws, login(sim.credentials))
    assert await frame(ws) == {"data": {"result": True}, "channel": "login"}
    for kind in ("assets", "order"):
        await ws.send(sub(kind))
        assert await frame(ws) == {
            "biz": "exchange",
            "data": {"result": True},
            "channel": "subscribe",
            "type": kind,
        }
    await sim.wait_connected(stream="order")
    assert (sim.logins, sim.subscriptions["assets"], sim.subscriptions["order"]) == (1, 1, 1)
    await nothing(ws, 0.2)  # no snapshot after subscribing either
    await ws.close()


@pytest.mark.parametrize("field", ["api_key", "api_secret"])
async def test_wrong_key_or_secret_gets_result_false_with_code_and_text(sim, field) -> None:
    ws = await connect(sim.ws_url)
    await send_unlogged(ws, login({**sim.credentials, field: "wrong"}))
    code, text = LOGIN_FAILED
    assert await frame(ws) == {
        "data": {"result": False, "errorCode": code, "errorMsg": text},
        "channel": "login",
    }
    await ws.send(sub("assets"))  # not logged in: refused
    ack = await frame(ws)
    assert ack["channel"] == "subscribe" and ack["data"]["result"] is False and ack["data"]["errorMsg"]
    assert sim.auth_failures == 1 and sim.logins == 0
    await ws.close()


async def test_ping_pong_and_error_frames(sim) -> None:
    ws = await logged_in(sim)
    await ws.send('{"event":"ping"}')
    assert await frame(ws) == {"event": "pong"}
    await ws.send("ping")  # bare text: CoinW's odd answer
    assert await frame(ws) == {"errorCode": 1001, "errorMsg": "Rate Limit"}
    await ws.send(json.dumps({"event": "SUB", "params": {"biz": "exchange", "type": "assets"}}))
    assert (await frame(ws))["errorCode"] == 500  # the event name is case-sensitive
    await ws.send(sub("trades"))  # acked, and never served
    assert (await frame(ws))["data"] == {"result": True}
    assert sim.pings == 1
    await ws.close()


async def test_unknown_path_is_404(sim) -> None:
    with pytest.raises(InvalidStatus) as info:
        await connect(sim.ws_url + "/perpum")
    assert info.value.response.status_code == 404


# ---- websocket: pushes -------------------------------------------------------------------------


async def test_placing_an_order_pushes_received_and_the_locked_asset(sim) -> None:
    ws = await logged_in(sim, "assets", "order")
    order = sim.truth.place_order("ETH/USDT", "buy", "3000", "0.5")
    pushed = await frame(ws)
    assert pushed["biz"] == "exchange" and pushed["type"] == "order" and set(pushed["data"]) == ORDER_FIELDS
    data = pushed["data"]
    assert data["order_id"] == int(order.order_id) and data["order_id"] > 2**53
    assert (data["type"], data["side"], data["order_type"], data["product_id"]) == (
        "RECEIVED",
        "BUY",
        "LIMIT",
        "ETH_USDT",
    )
    assert (data["size"], data["remaining_size"], data["price"], data["dealFunds"]) == (
        "0.5",
        "0.5",
        "3000",
        "0",
    )
    assets = await frame(ws)
    [item] = assets["data"] if isinstance(assets["data"], list) else [assets["data"]]
    assert assets["type"] == "assets" and set(item) == ASSETS_FIELDS
    usdt = sim.truth.balance("USDT")
    assert (item["currency"], D(item["available"]), D(item["hold"])) == ("USDT", usdt.available, usdt.locked)
    assert (item["type"], item["account"]) == ("change", "spot") and item["ledger_id"] > 2**53
    await ws.close()


async def test_a_partial_fill_sends_no_order_frame_only_assets(sim) -> None:
    ws = await logged_in(sim, "assets", "order")
    order = next(o for o in sim.truth.open_orders.values() if o.market == "SOL/USDT")
    sim.truth.fill_order(order.order_id, "0.5")
    kinds = [(await frame(ws))["type"] for _ in range(2)]
    assert kinds == ["assets", "assets"]  # SOL paid out of the lock, USDT received
    await nothing(ws)
    sim.truth.fill_order(order.order_id)
    done = await frame(ws)
    assert done["type"] == "order"
    data = done["data"]
    assert (data["type"], data["reason"], data["remaining_size"], data["size"]) == (
        "DONE",
        "FILLED",
        "0",
        "2",
    )
    assert (data["dealFunds"], data["dealAvgPrice"], data["fee"]) == ("320", "160", "0.32")
    assert [(await frame(ws))["type"] for _ in range(2)] == ["assets", "assets"]
    await ws.close()


async def test_cancel_is_done_cancelled_and_a_deposit_is_not_pushed(sim) -> None:
    ws = await logged_in(sim, "assets", "order")
    sim.truth.set_balance("ETH", "99")
    await nothing(ws)
    order_id = next(iter(sim.truth.open_orders))
    sim.truth.cancel_order(order_id)
    done = await frame(ws)
    assert (done["data"]["type"], done["data"]["reason"]) == ("DONE", "CANCELLED")
    assert (await frame(ws))["type"] == "assets"
    await ws.close()


async def test_market_orders_are_pushed_without_a_side(sim) -> None:
    ws = await logged_in(sim, "order")
    sim.truth.place_order("BTC/USDT", "buy", "65000", "0.01", kind="market")
    data = (await frame(ws))["data"]
    assert (data["side"], data["order_type"]) == ("", "MARKET")
    await ws.close()


async def test_only_subscribed_channels_are_served(sim) -> None:
    ws = await logged_in(sim, "order")
    sim.truth.set_balance("ETH", "99")
    order = next(o for o in sim.truth.open_orders.values() if o.market == "SOL/USDT")
    sim.truth.fill_order(order.order_id, "0.5")  # assets only: this socket did not ask for them
    await nothing(ws)
    await ws.send(sub("order", "unsub"))
    assert (await frame(ws))["channel"] == "unsubscribe"
    sim.truth.cancel_order(order.order_id)
    await nothing(ws)
    await ws.close()


async def test_assets_frames_drift_between_object_and_array(sim) -> None:
    ws = await logged_in(sim, "assets")
    for _ in range(10):
        sim.truth.place_order("BTC/USDT", "buy", "100", "0.01")
    shapes = set()
    for _ in range(10):
        msg = await frame(ws)
        shapes.add(type(msg["data"]).__name__)
        item = msg["data"][0] if isinstance(msg["data"], list) else msg["data"]
        shapes.add(type(item["time"]).__name__)
    assert shapes == {"dict", "list", "int", "str"}
    await ws.close()


async def test_random_activity_reaches_the_socket() -> None:
    async with CoinWSimulator(seed=2, activity_interval_s=0.01) as sim:
        ws = await logged_in(sim, "assets", "order")
        assert (await frame(ws))["biz"] == "exchange"
        await ws.close()


# ---- REST --------------------------------------------------------------------------------------


async def test_signed_calls_get_the_envelope_with_a_string_code(sim, http) -> None:
    body = await call(http, sim, "returnCompleteBalances")
    assert (body["code"], body["msg"], body["success"], body["failed"]) == ("200", "SUCCESS", True, False)
    usdt = sim.truth.balance("USDT")
    assert body["data"]["USDT"] == {"available": format(usdt.available.normalize(), "f"), "onOrders": "3000"}
    assert set(body["data"]) == set(sim.truth.balances)


async def test_bad_key_or_signature_is_refused_in_the_envelope(sim, http) -> None:
    body = await call(http, sim, "returnCompleteBalances", secret="wrong")
    assert (body["code"], body["msg"], body["success"]) == ("1003", BAD_SIGNATURE, False)
    query = {"command": "returnCompleteBalances", "api_key": "someone-else"}
    query["sign"] = sign(query, sim.credentials["api_secret"])
    async with http.post(f"{sim.rest_url}/api/v1/private", params=query) as response:
        assert (await response.json())["code"] == "6000" and (await response.json())["msg"] == UNKNOWN_KEY
    good = {"command": "returnCompleteBalances", "api_key": sim.credentials["api_key"]}
    lower = {**good, "sign": sign(good, sim.credentials["api_secret"]).lower()}  # the case matters
    async with http.post(f"{sim.rest_url}/api/v1/private", params=lower) as response:
        assert (await response.json())["msg"] == BAD_SIGNATURE
    tampered = {**good, "sign": sign(good, sim.credentials["api_secret"]), "currencyPair": "BTC_USDT"}
    async with http.post(f"{sim.rest_url}/api/v1/private", params=tampered) as response:
        assert (await response.json())["msg"] == BAD_SIGNATURE  # every parameter is signed
    signed = {**good, "sign": sign(good, sim.credentials["api_secret"])}
    async with http.get(f"{sim.rest_url}/api/v1/private", params=signed) as response:
        assert response.status == 405  # private calls are POSTs
    assert sim.rest_auth_failures == 4


async def test_open_orders_need_a_valid_pair(sim, http) -> None:
    body = await call(http, sim, "returnOpenOrders", currencyPair="SOL_USDT")
    [order] = body["data"]
    truth = next(o for o in sim.truth.open_orders.values() if o.market == "SOL/USDT")
    assert order["orderNumber"] == int(truth.order_id)
    assert (order["type"], order["prize"], order["total"], order["success_count"], order["status"]) == (
        "sell", "160", "2", "0", 1,
    )  # fmt: skip
    assert order["date"] == truth.created_ms and order["startingAmount"] == "320"
    assert (await call(http, sim, "returnOpenOrders"))["code"] == "-103"
    assert (await call(http, sim, "returnOpenOrders", currencyPair="XYZ_ABC"))["code"] == "-103"


async def test_order_details_and_user_trades(sim, http) -> None:
    order = next(o for o in sim.truth.open_orders.values() if o.market == "SOL/USDT")
    first = sim.truth.fill_order(order.order_id, "0.5")
    second = sim.truth.fill_order(order.order_id)
    details = (await call(http, sim, "returnOrderTrades", orderNumber=order.order_id))["data"]
    assert details["tradeID"] == int(order.order_id) and details["currencyPair"] == "SOL_USDT"
    assert (details["status"], details["success_total"], details["total"], details["success_amount"]) == (
        3,
        "2",
        "0",
        "320",
    )
    assert details["date"] == china_time(sim.truth.orders[order.order_id].updated_ms)
    trades = (await call(http, sim, "getUserTrades", symbol="SOL_USDT"))["data"]["list"]
    assert [t["tradeId"] for t in trades] == [int(second.trade_id), int(first.trade_id)]  # newest first
    assert trades[1] == {
        "orderType": "LIMIT",
        "orderId": int(order.order_id),
        "fee": "0.080000000000000000",
        "price": "160.000000000000000000",
        "size": "0.500000000000000000",
        "side": "SELL",
        "time": first.time_ms,
        "tradeId": int(first.trade_id),
    }
    later = await call(http, sim, "getUserTrades", symbol="SOL_USDT", startAt=str(second.time_ms + 1))
    assert later["data"]["list"] == []
    limited = await call(http, sim, "getUserTrades", limit="1")
    assert [t["tradeId"] for t in limited["data"]["list"]] == [int(second.trade_id)]
    assert (await call(http, sim, "getUserTrades", symbol="BTC_USDT"))["data"]["list"] == []
    assert (await call(http, sim, "returnOrderTrades", orderNumber="1"))["code"] == "-103"


async def test_public_symbols(sim, http) -> None:
    async with http.get(f"{sim.rest_url}/api/v1/public", params={"command": "returnSymbol"}) as response:
        body = await response.json()
    assert {s["currencyPair"] for s in body["data"]} >= {"BTC_USDT", "ETH_USDT", "SOL_USDT", "BITO_TWD"}
    assert sim.rest_auth_failures == 0


async def test_rate_limit_per_command(sim, http) -> None:
    codes = [(await call(http, sim, "returnCompleteBalances"))["code"] for _ in range(6)]
    assert codes == ["200"] * 5 + ["29001"]
    assert (await call(http, sim, "returnOpenOrders", currencyPair="BTC_USDT"))[
        "code"
    ] == "200"  # per command
    refused = await call(http, sim, "returnCompleteBalances")
    assert refused["msg"] == RATE_LIMITED and sim.rate_limited == 2
    assert sim.max_calls_in("returnCompleteBalances", 2.0) == 7


# ---- faults and logging ------------------------------------------------------------------------


async def test_faults_drop_refuse_malformed(sim, http) -> None:
    ws = await logged_in(sim, "assets")
    await sim.send_malformed()
    assert await ws.recv() == DEFAULT_MALFORMED
    await sim.drop_connections()
    with pytest.raises(ConnectionClosedError):
        await asyncio.wait_for(ws.recv(), 2)
    sim.refuse_connections(True)
    with pytest.raises(InvalidStatus) as info:
        await connect(sim.ws_url)
    assert info.value.response.status_code == 503
    async with http.post(f"{sim.rest_url}/api/v1/private", params={"command": "x"}) as response:
        assert response.status == 503
    sim.refuse_connections(False)


async def test_deaf_server_stops_answering_json_pings(sim) -> None:
    ws = await logged_in(sim)
    sim.stop_answering_pings(True)
    await ws.send('{"event":"ping"}')
    await nothing(ws)
    sim.stop_answering_pings(False)
    assert await frame(ws) == {"event": "pong"}  # read once it listens again
    await ws.close()


async def test_the_simulator_never_logs_the_login_secret(sim, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="websockets")
    for creds in (sim.credentials, {**sim.credentials, "api_secret": "wrong-secret-123"}):
        ws = await connect(sim.ws_url)
        await send_unlogged(ws, login(creds))
        await frame(ws)
        await ws.send(sub("assets"))
        await frame(ws)
        await ws.close()
    server = [r for r in caplog.records if r.name.startswith(("websockets.server", "streams"))]
    assert any("connection open" in r.getMessage() for r in server)  # the server does log at DEBUG
    pieces = fragments(sim.credentials["api_secret"], sim.credentials["api_key"]) | {"wrong-secret-123"}
    assert not [p for p in pieces if p in caplog.text]
    assert '"sub"' in caplog.text  # the client's other frames are logged: the check above can fail


async def test_timestamps_are_recent(sim) -> None:
    ws = await logged_in(sim, "assets")
    sim.truth.place_order("BTC/USDT", "buy", "100", "0.01")
    msg = await frame(ws)
    item = msg["data"][0] if isinstance(msg["data"], list) else msg["data"]
    assert abs(int(item["time"]) - now_ms()) < 5000
    await ws.close()
