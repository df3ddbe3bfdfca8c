"""The Bitzoom simulator speaks the documented protocol to plain websockets and aiohttp clients."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import json
import re
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from streams.exchanges.bitzoom.simulator import (
    DEFAULT_BAD_LINE,
    DURATION,
    BitzoomSimulator,
    TokenRefused,
    issue_token,
    verify_token,
)
from streams.model import now_ms
from streams.simulator.base import serve_until_cancelled

D = Decimal
BALANCE, ORDERS, TRADES = "/api/v1/balance", "/api/v1/openorders", "/api/v1/historytrade"
SUB_ID = re.compile(r"^[0-9a-f]{12}$")
# RFC 7515 appendix A.1: an HS256 JWS with its key (a JWK "k"), exp 1300819380.
RFC_TOKEN = (
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
RFC_KEY = base64.urlsafe_b64decode(
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow=="
)


@pytest.fixture
async def sim() -> AsyncIterator[BitzoomSimulator]:
    async with BitzoomSimulator(seed=7) as simulator:
        yield simulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def lines(ws: ClientConnection) -> list[dict]:
    """The messages of the next websocket message, one per line."""
    text = await asyncio.wait_for(ws.recv(), 2)
    return [json.loads(part) for part in text.split("\n")]


async def logged_on(sim: BitzoomSimulator, token: str | None = None) -> ClientConnection:
    ws = await connect(sim.ws_url)
    await ws.send(
        json.dumps({"channel": "logon", "event": "sub", "data": {"token": token or sim.credentials["jwt"]}})
    )
    assert await lines(ws) == [{"channel": "logon", "event": "success", "data": {}}]
    return ws


async def subscribe(ws: ClientConnection, channel: str, params: dict | None = None) -> tuple[str, list[dict]]:
    """Subscribe; returns the subId and the rest of the ack's message (the current state)."""
    await ws.send(json.dumps({"channel": channel, "event": "sub", "data": params or {}}))
    ack, *rest = await lines(ws)
    assert ack["channel"] == channel and ack["event"] == "sub"
    [sub_id] = ack["data"]
    assert ack["data"][sub_id] == {}
    return sub_id, rest


async def get(http, sim, path, token=None, **params):
    headers = {"Authorization": f"Bearer {token or sim.credentials['jwt']}"}
    async with http.get(sim.rest_url + path, headers=headers, params=params) as response:
        return response.status, json.loads(await response.text())


# ---- tokens ----------------------------------------------------------------------------------


def test_the_rfc_7515_hs256_example_verifies_until_its_exp():
    claims = verify_token(RFC_TOKEN, RFC_KEY, now_s=1300819379)
    assert claims["iss"] == "joe"
    with pytest.raises(TokenRefused, match="expired"):
        verify_token(RFC_TOKEN, RFC_KEY, now_s=1300819380)
    with pytest.raises(TokenRefused, match="bad signature"):
        verify_token(RFC_TOKEN, RFC_KEY[:-1], now_s=0)


def test_issued_tokens_are_hs256_jwts_signed_as_rfc_7519_says():
    secret = b"k" * 32
    token = issue_token(secret, {"sub": "1", "exp": 2_000_000_000})
    head, body, signature = token.split(".")
    expected = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "=") == expected
    assert json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))) == {
        "alg": "HS256",
        "typ": "JWT",
    }
    assert verify_token(token, secret, now_s=1_999_999_999)["sub"] == "1"
    for bad in ("x.y", 5, token + "x", token.replace(head, "eyJhbGciOiJub25lIn0")):  # alg none
        with pytest.raises(TokenRefused):
            verify_token(bad, secret, now_s=0)
    with pytest.raises(TokenRefused, match="revoked"):
        verify_token(issue_token(secret, {"exp": 9, "jti": "j"}), secret, now_s=0, revoked={"j"})


async def test_logon_with_a_bad_token_gets_the_bare_error(sim: BitzoomSimulator) -> None:
    other = BitzoomSimulator(seed=99)  # same format, another secret
    cases = [sim.issue_token(lifetime_s=-1), other.credentials["jwt"], "garbage", None]
    async with connect(sim.ws_url) as ws:
        for token in cases:
            await ws.send(json.dumps({"channel": "logon", "event": "sub", "data": {"token": token}}))
            assert await lines(ws) == [{"channel": "logon", "event": "error", "data": {}}]
        # still not logged on: private channels are refused
        await ws.send(json.dumps({"channel": BALANCE, "event": "sub", "data": {}}))
        assert await lines(ws) == [{"channel": BALANCE, "event": "error", "data": {}}]
    assert (sim.logon_failures, sim.logons, sim.subscriptions) == (4, 0, 0)


# ---- subscriptions ---------------------------------------------------------------------------


async def test_subscriptions_get_random_subids_and_the_current_state_in_the_same_message(sim) -> None:
    ws = await logged_on(sim)
    balance_id, [balances] = await subscribe(ws, BALANCE)
    orders_id, [orders] = await subscribe(ws, ORDERS)
    again_id, _ = await subscribe(ws, ORDERS, {"symbol": "SOLUSDT"})
    assert len({balance_id, orders_id, again_id}) == 3 and all(
        SUB_ID.match(s) for s in (balance_id, orders_id)
    )
    assert balances["event"] == balance_id and balances["channel"] == BALANCE
    assert {b["coin"] for b in balances["data"]} == set(sim.truth.balances)
    usdt = next(b for b in balances["data"] if b["coin"] == "USDT")
    truth = sim.truth.balance("USDT")
    assert (D(usdt["walletBalance"]), D(usdt["availableBalance"])) == (truth.total, truth.available)
    assert orders["event"] == orders_id and len(orders["data"]) == 2
    order = orders["data"][0]
    assert isinstance(order["id"], int) and order["id"] > 2**53  # a JSON number beyond a float's reach
    assert str(order["id"]) in sim.truth.open_orders and order["side"] in (1, 2) and order["status"] == "NEW"
    await ws.close()


async def test_one_truth_change_is_one_multi_line_message_routed_by_subid(sim) -> None:
    ws = await logged_on(sim)
    balance_id, _ = await subscribe(ws, BALANCE)
    orders_id, _ = await subscribe(ws, ORDERS)
    sol_id, _ = await subscribe(ws, ORDERS, {"symbol": "SOLUSDT"})
    order = next(o for o in sim.truth.open_orders.values() if o.market == "SOL/USDT")
    sim.truth.fill_order(order.order_id, "0.5")  # the order, and two balances
    message = await lines(ws)
    assert [(m["channel"], m["event"]) for m in message] == [
        (ORDERS, orders_id),
        (ORDERS, sol_id),
        (BALANCE, balance_id),
        (BALANCE, balance_id),
    ]
    pushed = message[0]["data"]
    assert (str(pushed["id"]), pushed["status"], pushed["executedQty"], pushed["side"]) == (
        order.order_id,
        "PARTIALLY_FILLED",
        "0.5",
        2,
    )
    assert [b["coin"] for m in message[2:] for b in m["data"]] == ["SOL", "USDT"]
    btc = next(o for o in sim.truth.open_orders.values() if o.market == "BTC/USDT")
    sim.truth.cancel_order(btc.order_id)  # not SOLUSDT: only the unfiltered subscription gets it
    assert [
        (m["event"], m["data"].get("status") if isinstance(m["data"], dict) else None)
        for m in await lines(ws)
    ] == [
        (orders_id, "CANCELED"),
        (balance_id, None),
    ]
    await ws.close()


async def test_unsubscribe_answers_with_the_subid_as_a_string(sim) -> None:
    ws = await logged_on(sim)
    balance_id, _ = await subscribe(ws, BALANCE)
    await ws.send(json.dumps({"channel": BALANCE, "event": "unsub", "data": {}}))
    assert await lines(ws) == [{"channel": BALANCE, "event": "unsub", "data": balance_id}]
    sim.truth.set_balance("ETH", "1")
    await ws.send(json.dumps({"channel": "/api/v1/nothing", "event": "sub", "data": {}}))
    assert await lines(ws) == [
        {"channel": "/api/v1/nothing", "event": "error", "data": {}}
    ]  # nothing else came
    await ws.close()


async def test_expired_tokens_end_the_session_and_new_logons(sim, http) -> None:
    ws = await logged_on(sim)
    await subscribe(ws, BALANCE)
    sim.expire_tokens()
    assert await lines(ws) == [{"channel": "logon", "event": "error", "data": {}}]
    sim.truth.set_balance("ETH", "1")  # no push any more
    await ws.send(json.dumps({"channel": "logon", "event": "sub", "data": {"token": sim.credentials["jwt"]}}))
    assert await lines(ws) == [{"channel": "logon", "event": "error", "data": {}}]
    status, body = await get(http, sim, BALANCE)
    assert status == 401 and (body["errorCode"], body["errorMessage"], body["success"]) == (
        -1002,
        "Unauthorized",
        False,
    )
    fresh = sim.issue_token()
    await (await logged_on(sim, fresh)).close()
    assert (await get(http, sim, BALANCE, token=fresh))[0] == 200
    await ws.close()


async def test_only_the_ws_path_is_served(sim) -> None:
    with pytest.raises(InvalidStatus) as info:
        await connect(sim.ws_url.removesuffix("/ws") + "/stream")
    assert info.value.response.status_code == 404


# ---- REST ------------------------------------------------------------------------------------


async def test_rest_snapshot_in_both_envelopes(sim, http) -> None:
    status, body = await get(http, sim, BALANCE)
    assert status == 200 and body["success"] is True and body["errorCode"] == 200
    assert body["duration"] == DURATION == 9223372036854776000
    assert set(body["data"]) == set(sim.truth.balances)
    btc = body["data"]["BTC"]
    assert set(btc) == {"asset", "balance", "free", "locked", "crossWalletBalance"}
    status, body = await get(http, sim, ORDERS)
    assert status == 200 and (body["code"], body["msg"]) == (0, "success")
    assert {str(o["orderId"]) for o in body["data"]} == set(sim.truth.open_orders)
    assert {o["side"] for o in body["data"]} <= {"BUY", "SELL"}
    _, only_sol = await get(http, sim, ORDERS, Symbol="SOLUSDT")
    assert [o["symbol"] for o in only_sol["data"]] == ["SOLUSDT"]


async def test_rest_refuses_a_missing_or_bad_token_with_1002(sim, http) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": sim.credentials["jwt"]}):
        async with http.get(sim.rest_url + BALANCE, headers=headers) as response:
            assert response.status == 401
            assert (await response.json())["errorCode"] == -1002
    assert sim.rest_auth_failures == 3
    async with http.get(sim.rest_url + "/api/gateway/time") as response:  # public
        assert response.status == 200 and abs((await response.json())["data"]["serverTime"] - now_ms()) < 5000


async def test_trade_history_pages_newest_first(sim, http) -> None:
    sim.truth.set_balance("USDT", "100000")
    order = sim.truth.place_order("ETH/USDT", "buy", "3000", "3")
    fills = [sim.truth.fill_order(order.order_id, "1") for _ in range(3)]
    status, body = await get(http, sim, TRADES, Page="1", Limit="2")
    assert status == 200 and body["success"] and body["data"]["total"] == 3
    rows = body["data"]["list"]
    assert [str(r["id"]) for r in rows] == [fills[2].trade_id, fills[1].trade_id]
    assert all(isinstance(r["id"], int) and r["id"] > 2**53 for r in rows)
    row = rows[0]
    assert (str(row["orderId"]), row["symbol"], row["side"], row["price"], row["qty"]) == (
        order.order_id,
        "ETHUSDT",
        "BUY",
        "3000",
        "1",
    )
    assert (row["commission"], row["commissionAsset"], row["time"]) == ("0.001", "ETH", fills[2].time_ms)
    _, page2 = await get(http, sim, TRADES, Page="2", Limit="2")
    assert [str(r["id"]) for r in page2["data"]["list"]] == [fills[0].trade_id]
    _, later = await get(http, sim, TRADES, StartTime=str(fills[-1].time_ms + 1))
    assert later["data"] == {"total": 0, "list": []}


async def test_query_names_must_be_in_the_servers_case(http) -> None:
    async with BitzoomSimulator(seed=3, param_case="lower") as sim:
        status, body = await get(http, sim, TRADES, Page="1")
        assert status == 400 and body["code"] == -1104 and "Page" in body["msg"]
        status, body = await get(http, sim, TRADES, page="1")
        assert status == 200 and body["success"]


# ---- faults ----------------------------------------------------------------------------------


async def test_a_mixed_frame_has_good_lines_around_a_bad_one(sim) -> None:
    ws = await logged_on(sim)
    balance_id, _ = await subscribe(ws, BALANCE)
    orders_id, _ = await subscribe(ws, ORDERS)
    await sim.send_mixed_frame()
    first, bad, last = (await asyncio.wait_for(ws.recv(), 2)).split("\n")
    assert bad == DEFAULT_BAD_LINE
    assert (json.loads(first)["event"], json.loads(last)["event"]) == (balance_id, orders_id)
    await ws.close()


async def test_refusing_and_dropping(sim) -> None:
    ws = await logged_on(sim)
    await sim.drop_connections()
    sim.refuse_connections(True)
    with pytest.raises(InvalidStatus) as info:
        await connect(sim.ws_url)
    assert info.value.response.status_code == 503
    assert json.loads(info.value.response.body)["errorCode"] == -1001
    sim.refuse_connections(False)
    await (await logged_on(sim)).close()
    assert sim.connection_attempts == 3
    await ws.close()


async def test_random_activity_reaches_the_subscriptions() -> None:
    async with BitzoomSimulator(seed=2, activity_interval_s=0.01) as sim:
        ws = await logged_on(sim)
        balance_id, _ = await subscribe(ws, BALANCE)
        assert any(m["event"] == balance_id for m in await lines(ws))
        await ws.close()


async def test_serve_until_cancelled_prints_urls_and_a_working_token() -> None:
    out = io.StringIO()
    task = asyncio.create_task(serve_until_cancelled(BitzoomSimulator(), out=out))
    try:
        async with asyncio.timeout(2):
            while out.getvalue().count("\n") < 3:
                await asyncio.sleep(0.01)
        printed = dict(line.split(": ", 1) for line in out.getvalue().splitlines())
        creds = json.loads(printed["credentials"])
        assert set(creds) == {"jwt"} and creds["jwt"].count(".") == 2
        assert printed["ws_url"].startswith("ws://127.0.0.1:") and printed["ws_url"].endswith("/ws")
        async with connect(printed["ws_url"]) as ws:
            await ws.send(json.dumps({"channel": "logon", "event": "sub", "data": {"token": creds["jwt"]}}))
            assert (await lines(ws))[0]["event"] == "success"
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
