"""The BitoPro simulator speaks the documented protocol to plain websockets and aiohttp clients."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import json
import re
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from streams.exchanges.bitopro.simulator import AuthRefused, BitoProSimulator, check_headers
from streams.model import now_ms
from streams.simulator.base import DEFAULT_MALFORMED, serve_until_cancelled

D = Decimal
BALANCES, ORDERS, TRADES = "account-balance", "orders", "user-trades"
ORDER_FIELDS = {
    "id", "pair", "action", "type", "price", "avgExecutionPrice", "originalAmount", "remainingAmount",
    "executedAmount", "fee", "feeSymbol", "bitoFee", "total", "seq", "timeInForce", "status",
    "createdTimestamp", "updatedTimestamp", "timestamp",
}  # fmt: skip
TRADE_FIELDS = {
    "base", "quote", "side", "price", "volume", "fee", "feeCurrency", "transactionTimestamp",
    "eventTimestamp", "orderID", "orderType", "matchID", "isMarket", "isMaker",
}  # fmt: skip
REST_TRADE_FIELDS = {
    "tradeId", "orderId", "price", "action", "baseAmount", "quoteAmount", "fee", "feeSymbol", "isTaker",
    "createdTimestamp",
}  # fmt: skip
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

_last_nonce = 0


def nonce() -> int:
    """Millisecond nonces, strictly increasing even within one millisecond."""
    global _last_nonce
    _last_nonce = max(now_ms(), _last_nonce + 1)
    return _last_nonce


def auth_headers(
    creds: dict[str, str], *, secret: str | None = None, at: int | None = None
) -> dict[str, str]:
    """The three BitoPro headers, signed as the protocol doc says (written out here on purpose)."""
    raw = json.dumps(
        {"identity": creds["email"], "nonce": nonce() if at is None else at}, separators=(",", ":")
    )
    payload = base64.b64encode(raw.encode()).decode()
    key = (secret or creds["api_secret"]).encode()
    return {
        "X-BITOPRO-APIKEY": creds["api_key"],
        "X-BITOPRO-PAYLOAD": payload,
        "X-BITOPRO-SIGNATURE": hmac.new(key, payload.encode(), hashlib.sha384).hexdigest(),
    }


@pytest.fixture
async def sim() -> AsyncIterator[BitoProSimulator]:
    async with BitoProSimulator(seed=7) as simulator:
        yield simulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def open_stream(sim: BitoProSimulator, stream: str, **options: object) -> ClientConnection:
    """Connect to one private stream and wait until the simulator has registered it."""
    before = len(sim.clients(stream))
    ws = await connect(
        f"{sim.ws_url}/v1/pub/auth/{stream}", additional_headers=auth_headers(sim.credentials), **options
    )
    await sim.wait_connected(before + 1, stream=stream)
    return ws


async def frame(ws: ClientConnection) -> dict:
    text = await asyncio.wait_for(ws.recv(), 2)
    return json.loads(text)


async def refused(sim: BitoProSimulator, headers: dict[str, str], stream: str = BALANCES) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as info:
        await connect(f"{sim.ws_url}/v1/pub/auth/{stream}", additional_headers=headers)
    return info.value


async def get(
    http: aiohttp.ClientSession, sim: BitoProSimulator, path: str, **params: str
) -> tuple[int, dict]:
    async with http.get(
        sim.rest_url + path, headers=auth_headers(sim.credentials), params=params
    ) as response:
        return response.status, await response.json()


def check_envelope(msg: dict, event: str) -> None:
    assert msg["event"] == event
    assert UUID.match(msg["eventID"])
    assert isinstance(msg["timestamp"], int) and abs(msg["timestamp"] - now_ms()) < 5000
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", msg["datetime"])


# ---- authentication --------------------------------------------------------------------------


def test_published_signing_vector_passes_the_signature_check() -> None:
    """bitoex/bitopro-offical-api-docs README, 'Signature Generation SOP' (also in vectors.json)."""
    headers = {
        "X-BITOPRO-APIKEY": "key",
        "X-BITOPRO-PAYLOAD": "eyJpZGVudGl0eSI6ImhjbWxpbmpAZ21haWwuY29tIiwibm9uY2UiOjE1NTQzODA5MDkxMzF9",
        "X-BITOPRO-SIGNATURE": "01a85a9083db47c20da7196380598f3feacd3c76a9077aaf7ffaf08ce0091abf65b61778792607b0"
        "10921adfe1c2941a",
    }
    account = {"api_key": "key", "api_secret": "bitopro", "email": "hcmlinj@gmail.com"}
    assert check_headers(headers, **account, now=1554380909131 + 59_000, last_nonce=0) == 1554380909131
    with pytest.raises(AuthRefused) as too_late:
        check_headers(headers, **account, now=1554380909131 + 61_000, last_nonce=0)
    refusal = too_late.value.refusal
    assert (refusal.status, refusal.text) == (409, "local machine time mismatch")
    upper = {**headers, "X-BITOPRO-SIGNATURE": headers["X-BITOPRO-SIGNATURE"].upper()}
    with pytest.raises(AuthRefused, match="Invalid signature"):
        check_headers(upper, **account, now=1554380909131, last_nonce=0)


async def test_wrong_secret_key_or_identity_gets_401_with_the_error_text(sim: BitoProSimulator) -> None:
    creds = sim.credentials
    cases = {
        "Invalid signature": auth_headers(creds, secret="not-the-secret"),
        "Invalid API key": auth_headers({**creds, "api_key": "unknown"}),
        "Invalid identity": auth_headers({**creds, "email": "someone@else.invalid"}),
    }
    for text, headers in cases.items():
        error = await refused(sim, headers)
        assert error.response.status_code == 401
        assert json.loads(error.response.body) == {"error": text}
        assert error.response.headers["Content-Type"] == "application/json"
    assert (sim.connection_attempts, sim.auth_failures) == (3, 3)


async def test_a_reused_or_older_nonce_is_rejected(sim: BitoProSimulator) -> None:
    headers = auth_headers(sim.credentials)
    async with connect(f"{sim.ws_url}/v1/pub/auth/{BALANCES}", additional_headers=headers):
        pass
    error = await refused(sim, headers)
    assert error.response.status_code == 401 and b"Invalid nonce" in error.response.body
    older = auth_headers(sim.credentials, at=_last_nonce - 5)
    assert (await refused(sim, older)).response.status_code == 401


async def test_nonces_share_one_sequence_between_rest_and_streams(sim, http) -> None:
    headers = auth_headers(sim.credentials)
    async with http.get(f"{sim.rest_url}/accounts/balance", headers=headers) as response:
        assert response.status == 200
    assert (await refused(sim, headers)).response.status_code == 401


async def test_a_clock_off_by_more_than_a_minute_gets_409(sim: BitoProSimulator) -> None:
    error = await refused(sim, auth_headers(sim.credentials, at=now_ms() + 61_000))
    assert error.response.status_code == 409
    assert json.loads(error.response.body) == {"error": "local machine time mismatch"}


async def test_unknown_stream_path_is_404(sim: BitoProSimulator) -> None:
    assert (await refused(sim, auth_headers(sim.credentials), stream="nothing")).response.status_code == 404


# ---- streams ---------------------------------------------------------------------------------


async def test_balance_stream_starts_with_every_currency(sim: BitoProSimulator) -> None:
    async with await open_stream(sim, BALANCES) as ws:
        msg = await frame(ws)
    check_envelope(msg, "ACCOUNT_BALANCE")
    assert set(msg["data"]) == set(sim.truth.balances)
    usdt = sim.truth.balance("USDT")
    assert msg["data"]["USDT"] == {
        "currency": "USDT",
        "amount": format(usdt.total.normalize(), "f"),
        "available": format(usdt.available.normalize(), "f"),
        "stake": "0",
        "tradable": True,
    }
    assert D(msg["data"]["USDT"]["amount"]) - D(msg["data"]["USDT"]["available"]) == usdt.locked > 0


async def test_order_stream_starts_with_all_active_orders_by_pair(sim: BitoProSimulator) -> None:
    async with await open_stream(sim, ORDERS) as ws:
        msg = await frame(ws)
    check_envelope(msg, "ACTIVE_ORDERS")
    pairs = {o.market.replace("/", "_").lower() for o in sim.truth.open_orders.values()}
    assert set(msg["data"]) == pairs and len(pairs) == 2
    order = msg["data"]["sol_usdt"][0]
    assert set(order) == ORDER_FIELDS | {"clientID"}
    assert order["status"] == 0 and order["action"] == "SELL" and order["type"] == "LIMIT"
    assert (order["price"], order["originalAmount"], order["executedAmount"]) == ("160", "2", "0")
    assert isinstance(order["clientID"], int) and isinstance(order["createdTimestamp"], int)


async def test_a_placed_order_reaches_the_order_and_balance_streams(sim: BitoProSimulator) -> None:
    balances, orders = await open_stream(sim, BALANCES), await open_stream(sim, ORDERS)
    await frame(balances), await frame(orders)
    order = sim.truth.place_order("ETH/USDT", "buy", "3000", "0.5")
    update = await frame(orders)
    check_envelope(update, "ACTIVE_ORDERS")
    assert list(update["data"]) == ["eth_usdt"] and len(update["data"]["eth_usdt"]) == 1
    sent = update["data"]["eth_usdt"][0]
    assert (sent["id"], sent["status"], sent["remainingAmount"]) == (order.order_id, 0, "0.5")
    usdt = await frame(balances)
    assert list(usdt["data"]) == ["USDT"]
    assert D(usdt["data"]["USDT"]["available"]) == sim.truth.balance("USDT").available
    await balances.close(), await orders.close()


async def test_a_fill_reaches_all_three_streams_in_the_documented_format(sim: BitoProSimulator) -> None:
    trades, orders = await open_stream(sim, TRADES), await open_stream(sim, ORDERS)
    await frame(orders)
    order = next(o for o in sim.truth.open_orders.values() if o.market == "SOL/USDT")
    fill = sim.truth.fill_order(order.order_id, "0.5")
    msg = await frame(trades)  # the first frame: nothing was sent on connect
    check_envelope(msg, "USER_TRADE")
    trade = msg["data"]
    assert set(trade) == TRADE_FIELDS
    assert trade["matchID"] == fill.trade_id and UUID.match(trade["matchID"])
    assert trade["orderID"] == int(order.order_id)
    assert (trade["base"], trade["quote"], trade["side"]) == ("sol", "usdt", "ask")
    assert (trade["price"], trade["volume"]) == ("160", "0.5")
    assert (trade["fee"], trade["feeCurrency"]) == ("0.08", "usdt")
    assert trade["transactionTimestamp"] == fill.time_ms // 1000
    assert abs(trade["eventTimestamp"] - time.time()) < 5
    assert (trade["orderType"], trade["isMarket"], trade["isMaker"]) == ("LIMIT", False, True)
    partial = (await frame(orders))["data"]["sol_usdt"][0]
    assert (partial["status"], partial["executedAmount"], partial["remainingAmount"]) == (1, "0.5", "1.5")
    assert (partial["total"], partial["fee"], partial["avgExecutionPrice"]) == ("80", "0.08", "160")
    sim.truth.fill_order(order.order_id)
    assert (await frame(trades))["data"]["volume"] == "1.5"
    done = (await frame(orders))["data"]["sol_usdt"][0]
    assert (done["status"], done["remainingAmount"], done["total"]) == (2, "0", "320")
    await trades.close(), await orders.close()


async def test_cancelled_orders_are_sent_once_with_status_4_or_3_after_a_partial_fill(sim) -> None:
    orders = await open_stream(sim, ORDERS)
    await frame(orders)
    plain, partly = sim.truth.open_orders
    sim.truth.cancel_order(plain)
    assert (await frame(orders))["data"]["sol_usdt"][0]["status"] == 4
    sim.truth.fill_order(partly, "0.01")
    await frame(orders)
    sim.truth.cancel_order(partly)
    assert (await frame(orders))["data"]["btc_usdt"][0]["status"] == 3
    await orders.close()


async def test_random_activity_reaches_the_streams() -> None:
    async with BitoProSimulator(seed=2, activity_interval_s=0.01) as sim:
        ws = await open_stream(sim, BALANCES)
        await frame(ws)
        assert (await frame(ws))["event"] == "ACCOUNT_BALANCE"
        await ws.close()


# ---- REST ------------------------------------------------------------------------------------


async def test_rest_balances_and_open_orders(sim, http) -> None:
    status, body = await get(http, sim, "/accounts/balance")
    assert status == 200
    by_currency = {row["currency"]: row for row in body["data"]}
    assert set(by_currency) == {asset.lower() for asset in sim.truth.balances}
    assert set(by_currency["btc"]) == {"currency", "amount", "available", "stake", "tradable"}
    status, body = await get(http, sim, "/orders/open")
    assert status == 200 and len(body["data"]) == 2
    assert set(body["data"][0]) == ORDER_FIELDS | {"clientId"}
    _, only = await get(http, sim, "/orders/open", pair="btc_usdt")
    assert [o["pair"] for o in only["data"]] == ["btc_usdt"]


async def test_rest_fills_are_newest_first_with_numeric_ids_that_map_to_the_stream_ids(sim, http) -> None:
    sim.truth.set_balance("USDT", "100000")
    order = sim.truth.place_order("ETH/USDT", "buy", "3000", "3")
    fills = [sim.truth.fill_order(order.order_id, "1") for _ in range(3)]
    status, body = await get(http, sim, "/orders/trades/eth_usdt")
    assert status == 200
    rows = body["data"]
    assert [sim.match_id(row["tradeId"]) for row in rows] == [f.trade_id for f in reversed(fills)]
    assert all(row["tradeId"].isdigit() for row in rows)
    assert [int(r["tradeId"]) for r in rows] == sorted((int(r["tradeId"]) for r in rows), reverse=True)
    row = rows[-1]
    assert set(row) == REST_TRADE_FIELDS
    assert row["tradeId"] == sim.rest_trade_id(fills[0].trade_id)
    assert (row["orderId"], row["action"]) == (order.order_id, "BUY")
    assert (row["price"], row["baseAmount"], row["quoteAmount"]) == ("3000", "1", "3000")
    assert (row["fee"], row["feeSymbol"], row["isTaker"]) == ("0.001", "eth", False)
    assert row["createdTimestamp"] == fills[0].time_ms
    _, limited = await get(http, sim, "/orders/trades/eth_usdt", limit="2")
    assert [r["tradeId"] for r in limited["data"]] == [r["tradeId"] for r in rows[:2]]
    _, later = await get(http, sim, "/orders/trades/eth_usdt", startTimestamp=str(fills[-1].time_ms + 1))
    assert later["data"] == []
    _, other = await get(http, sim, "/orders/trades/sol_usdt")
    assert other["data"] == []


async def test_rest_refuses_bad_credentials_with_401(sim, http) -> None:
    headers = auth_headers(sim.credentials, secret="wrong")
    async with http.get(f"{sim.rest_url}/accounts/balance", headers=headers) as response:
        assert response.status == 401
        assert await response.json() == {"error": "Invalid signature"}
    assert sim.rest_auth_failures == 1 and sim.auth_failures == 0


# ---- faults ----------------------------------------------------------------------------------


async def test_drop_connections_looks_like_a_broken_tcp_connection(sim: BitoProSimulator) -> None:
    ws = await open_stream(sim, BALANCES)
    await frame(ws)
    await sim.drop_connections()
    with pytest.raises(ConnectionClosedError) as info:
        await asyncio.wait_for(ws.recv(), 2)
    assert info.value.rcvd is None  # no close frame: the socket just went away
    assert sim.clients() == []


async def test_refusing_gives_503_and_a_fill_made_meanwhile_is_only_in_rest(sim, http) -> None:
    trades = await open_stream(sim, TRADES)
    await sim.drop_connections()
    sim.refuse_connections(True)
    error = await refused(sim, auth_headers(sim.credentials), stream=TRADES)
    assert error.response.status_code == 503
    status, _ = await get(http, sim, "/accounts/balance")
    assert status == 503
    fill = sim.truth.fill_order(next(iter(sim.truth.open_orders)))
    sim.refuse_connections(False)
    status, body = await get(http, sim, "/orders/trades/sol_usdt")
    assert status == 200 and body["data"][0]["tradeId"] == sim.rest_trade_id(fill.trade_id)
    trades = await open_stream(sim, TRADES)
    assert sim.connection_attempts == 3 and sim.auth_failures == 0
    sim.truth.set_balance("ETH", "1")  # another stream's change: not sent on user-trades
    later = sim.truth.fill_order(next(iter(sim.truth.open_orders)), "0.01")
    assert (await frame(trades))["data"]["matchID"] == later.trade_id  # the missed fill is not replayed
    await trades.close()


async def test_malformed_frames_arrive_on_every_stream(sim: BitoProSimulator) -> None:
    balances, orders = await open_stream(sim, BALANCES), await open_stream(sim, ORDERS)
    await frame(balances), await frame(orders)
    await sim.send_malformed()
    assert await balances.recv() == DEFAULT_MALFORMED
    assert await orders.recv() == DEFAULT_MALFORMED
    await sim.send_malformed("not json")
    assert await balances.recv() == "not json"
    await balances.close(), await orders.close()


async def test_unanswered_pings_make_the_client_time_out(sim: BitoProSimulator) -> None:
    ws = await open_stream(sim, TRADES, ping_interval=0.2, ping_timeout=0.3, close_timeout=0.5)
    sim.stop_answering_pings(True)
    started = time.monotonic()
    with pytest.raises(ConnectionClosedError) as info:
        await asyncio.wait_for(ws.recv(), 3)
    assert "keepalive ping timeout" in str(info.value)
    assert time.monotonic() - started < 2
    sim.stop_answering_pings(False)
    await sim.wait_disconnected()
    healthy = await open_stream(sim, TRADES, ping_interval=0.05, ping_timeout=0.3)
    await asyncio.wait_for(healthy.ping(), 1)  # answered again
    await healthy.close()


async def test_delay_holds_every_frame_but_keeps_their_order(sim: BitoProSimulator) -> None:
    orders = await open_stream(sim, ORDERS)
    await frame(orders)
    sim.set_delay(0.3)
    started = time.monotonic()
    first, second = list(sim.truth.open_orders)
    sim.truth.cancel_order(first)
    sim.truth.cancel_order(second)
    ids = [(await frame(orders))["data"].popitem()[1][0]["id"] for _ in range(2)]
    assert time.monotonic() - started >= 0.3
    assert ids == [first, second]
    await orders.close()


async def test_serve_until_cancelled_prints_urls_and_credentials() -> None:
    out = io.StringIO()
    task = asyncio.create_task(serve_until_cancelled(BitoProSimulator(), out=out))
    try:
        async with asyncio.timeout(2):
            while out.getvalue().count("\n") < 3:
                await asyncio.sleep(0.01)
        lines = dict(line.split(": ", 1) for line in out.getvalue().splitlines())
        creds = json.loads(lines["credentials"])
        assert set(creds) == {"api_key", "api_secret", "email"}
        assert lines["rest_url"].startswith("http://127.0.0.1:") and lines["rest_url"].endswith("/v3")
        url = lines["ws_url"] + "/v1/pub/auth/account-balance"
        async with connect(url, additional_headers=auth_headers(creds)) as ws:
            assert (await frame(ws))["event"] == "ACCOUNT_BALANCE"
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
