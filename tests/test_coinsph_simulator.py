"""The Coins.ph simulator speaks the documented protocol to plain aiohttp and websockets clients:
authentication and its exact errors, the listenKey life cycle on a fast clock, the stream's frames."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from urllib.parse import urlencode

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from streams.exchanges.coinsph.simulator import KEYS_PER_HOUR, CoinsphSimulator, total_params
from streams.model import Side, now_ms
from tests.test_coinsph_signer import VECTORS

D = Decimal
KEY_PATH = "/openapi/v1/userDataStream"


def signed(
    secret: str, params: list[tuple[str, str]], *, at: int | None = None, window: int | None = None
) -> str:
    """`params&timestamp=..[&recvWindow=..]&signature=..`, signed here with hmac (independently of the
    client's signer module)."""
    items = [*params, ("timestamp", str(now_ms() if at is None else at))]
    if window is not None:
        items.append(("recvWindow", str(window)))
    text = urlencode(items)
    return f"{text}&signature={hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()}"


@pytest.fixture
async def sim() -> AsyncIterator[CoinsphSimulator]:
    async with CoinsphSimulator(seed=3) as simulator:
        yield simulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(http, sim, method, path, *, query="", body="", key=None, headers=None) -> tuple[int, object]:
    sent = {"X-COINS-APIKEY": sim.credentials["api_key"] if key is None else key} if key != "" else {}
    if body:
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    sent.update(headers or {})
    url = sim.rest_url + path + (f"?{query}" if query else "")
    async with http.request(method, url, data=body or None, headers=sent) as response:
        return response.status, await response.json()


async def listen_key(http, sim) -> str:
    status, body = await call(http, sim, "POST", KEY_PATH, body=signed(sim.credentials["api_secret"], []))
    assert status == 200, body
    return body["listenKey"]


async def open_stream(sim, key: str) -> ClientConnection:
    before = len(sim.clients())
    ws = await connect(f"{sim.ws_url}/openapi/ws/{key}")
    await sim.wait_connected(before + 1)
    return ws


async def frame(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


# ---- signing rule ------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_the_simulator_signs_what_the_docs_sign(vector):
    inputs = vector["inputs"]
    signature = vector["expected"]["signature"]
    query, body = inputs["query_string"], inputs["request_body"]
    if body:
        body += f"&signature={signature}"
    else:
        query += f"&signature={signature}"
    assert total_params(query, body) == inputs["totalParams"]


def test_the_trailing_ampersand_form_happens_to_verify_too():
    """The docs' trap: a client that signs `...&` and sends `&&signature=` is accepted by the server."""
    assert total_params("a=1&timestamp=5&&signature=abc", "") == "a=1&timestamp=5&"


# ---- REST authentication -----------------------------------------------------------------------


async def test_signed_get_returns_the_account(sim, http):
    status, body = await call(
        http, sim, "GET", "/openapi/v1/account", query=signed(sim.credentials["api_secret"], [])
    )
    assert status == 200
    balances = {b["asset"]: b for b in body["balances"]}
    assert D(balances["BTC"]["free"]) == sim.truth.balances["BTC"].available
    assert balances["BTC"]["free"] == "1.50000000"  # eight decimals, as Coins.ph writes them


@pytest.mark.parametrize(
    ("case", "status", "code", "msg"),
    [
        ("no key header", 401, -1002, "You are not authorized to execute this request"),
        ("unknown key", 401, -2018, "API-key does not exist."),
        ("wrong secret", 400, -1022, "Signature for this request is not valid."),
        ("old timestamp", 400, -1021, "Timestamp for this request is outside of the recv window."),
        ("future timestamp", 400, -1021, "Timestamp for this request is outside of the recv window."),
        ("huge recvWindow", 400, -1025, "Parameter 'recvWindow' is not valid."),
        ("no signature", 400, -1105, "Parameter 'signature' is required."),
        ("no timestamp", 400, -1105, "Parameter 'timestamp' is required."),
    ],
)
async def test_refusals_carry_the_exchanges_code_and_text(sim, http, case, status, code, msg):
    secret = sim.credentials["api_secret"]
    query, key = signed(secret, []), None
    if case == "no key header":
        key = ""
    elif case == "unknown key":
        key = "someone-else"
    elif case == "wrong secret":
        query = signed("wrong", [])
    elif case == "old timestamp":
        query = signed(secret, [], at=now_ms() - 6_000)
    elif case == "future timestamp":
        query = signed(secret, [], at=now_ms() + 1_500)
    elif case == "huge recvWindow":
        query = signed(secret, [], window=60_001)
    elif case == "no signature":
        query = f"timestamp={now_ms()}"
    elif case == "no timestamp":
        query = "recvWindow=5000&signature=00"
    answer = await call(http, sim, "GET", "/openapi/v1/account", query=query, key=key)
    assert answer == (status, {"code": code, "msg": msg})
    assert sim.rest_auth_failures == 1


async def test_recv_window_widens_the_accepted_age_and_disabled_keys_are_refused(sim, http):
    secret = sim.credentials["api_secret"]
    query = signed(secret, [], at=now_ms() - 6_000, window=10_000)
    assert (await call(http, sim, "GET", "/openapi/v1/account", query=query))[0] == 200
    sim.api_key_enabled = False
    answer = await call(http, sim, "GET", "/openapi/v1/account", query=signed(secret, []))
    assert answer == (401, {"code": -2015, "msg": "API-key is not enabled."})


async def test_signature_over_query_then_body_and_query_wins(sim, http):
    """Docs example 3's shape: part in the query, part in the body, signed as query+body without '&'."""
    secret = sim.credentials["api_secret"]
    key = await listen_key(http, sim)
    query = urlencode([("listenKey", key)])
    body = f"timestamp={now_ms()}&recvWindow=5000"
    signature = hmac.new(secret.encode(), (query + body).encode(), hashlib.sha256).hexdigest()
    status, answer = await call(http, sim, "PUT", KEY_PATH, query=query, body=f"{body}&signature={signature}")
    assert (status, answer) == (200, {})
    # The same name in both: the query's value is used (and signed).
    query = urlencode([("listenKey", "not-a-key")])
    body = f"listenKey={key}&timestamp={now_ms()}"
    signature = hmac.new(secret.encode(), (query + body).encode(), hashlib.sha256).hexdigest()
    answer = await call(http, sim, "PUT", KEY_PATH, query=query, body=f"{body}&signature={signature}")
    assert answer == (400, {"code": -1125, "msg": "This listenKey does not exist"})


async def test_public_endpoints_and_the_server_clock(sim, http):
    sim.clock_offset_ms = 7_000
    status, body = await call(http, sim, "GET", "/openapi/v1/time", key="")
    assert status == 200 and abs(body["serverTime"] - (now_ms() + 7_000)) < 2_000
    sim.misreport_time_ms = -7_000
    _, body = await call(http, sim, "GET", "/openapi/v1/time", key="")
    assert abs(body["serverTime"] - now_ms()) < 2_000
    _, info = await call(http, sim, "GET", "/openapi/v1/exchangeInfo", key="")
    pairs = {s["symbol"]: (s["baseAsset"], s["quoteAsset"]) for s in info["symbols"]}
    assert pairs["BTCPHP"] == ("BTC", "PHP") and pairs["BTCUSDT"] == ("BTC", "USDT")


# ---- listenKey life cycle ----------------------------------------------------------------------


async def test_listen_key_post_put_delete(sim, http):
    secret = sim.credentials["api_secret"]
    key = await listen_key(http, sim)
    assert len(key) == 64 and sim.listen_keys == [key]
    assert await listen_key(http, sim) == key  # the active key, extended
    # USER_STREAM: the key header alone is enough
    status, body = await call(http, sim, "POST", KEY_PATH)
    assert (status, body) == (200, {"listenKey": key})
    ws = await open_stream(sim, key)
    status, answer = await call(http, sim, "PUT", KEY_PATH, body=signed(secret, [("listenKey", key)]))
    assert status == 200, answer
    status, _ = await call(http, sim, "DELETE", KEY_PATH, body=signed(secret, [("listenKey", key)]))
    assert status == 200 and sim.listen_keys == []
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    answer = await call(http, sim, "PUT", KEY_PATH, body=signed(secret, [("listenKey", key)]))
    assert answer == (400, {"code": -1125, "msg": "This listenKey does not exist"})
    assert sim.user_stream_calls == {"POST": 3, "PUT": 2, "DELETE": 1}
    assert sim.keys_created == 1


async def test_listen_key_creation_is_limited_per_hour(sim, http):
    for _ in range(KEYS_PER_HOUR):
        await listen_key(http, sim)
        sim.forget_listen_keys()
    status, body = await call(http, sim, "POST", KEY_PATH, body=signed(sim.credentials["api_secret"], []))
    assert (status, body["code"]) == (400, -1026)


async def test_unknown_key_at_the_upgrade_is_refused_or_closed(sim):
    with pytest.raises(InvalidStatus) as refused:
        await connect(f"{sim.ws_url}/openapi/ws/nope")
    assert refused.value.response.status_code == 400
    assert json.loads(refused.value.response.body) == {"code": -1125, "msg": "This listenKey does not exist"}
    sim.unknown_key = "close"
    async with connect(f"{sim.ws_url}/openapi/ws/nope") as ws:
        assert await frame(ws) == {"code": -1125, "msg": "This listenKey does not exist"}
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 1008


async def test_keys_expire_and_connections_are_capped_on_the_fast_clock(http):
    async with CoinsphSimulator(seed=3, time_scale=2_000) as sim:  # 60 min = 1.8 s, 24 h = 43.2 s
        key = await listen_key(http, sim)
        ws = await open_stream(sim, key)
        msg = await frame(ws)
        assert msg["e"] == "listenKeyExpired" and msg["listenKey"] == key and isinstance(msg["E"], int)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert sim.keys_expired == 1 and sim.listen_keys == []
    async with CoinsphSimulator(seed=3, time_scale=100_000) as sim:
        sim.key_validity_s = 1e9  # only the cap, here: 24 h = 0.86 s
        ws = await open_stream(sim, await listen_key(http, sim))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        assert ws.close_code == 1000 and "24 h" in ws.close_reason
        assert sim.cap_closes == 1 and sim.keys_expired == 0


# ---- stream ------------------------------------------------------------------------------------


async def test_ping_pong_and_bad_requests(sim, http):
    ws = await open_stream(sim, await listen_key(http, sim))
    await ws.send('{"ping":1700000000000}')
    assert await frame(ws) == {"pong": 1700000000000}
    await ws.send("not json")
    assert await frame(ws) == {"code": 3, "msg": "Invalid JSON"}
    await ws.send('{"method":"LIST"}')
    assert (await frame(ws))["code"] == 2
    await ws.close()


async def test_order_fill_and_deposit_frames(sim, http):
    ws = await open_stream(sim, await listen_key(http, sim))
    truth = sim.truth
    order = truth.place_order("BTC/USDT", Side.BUY, "60000", "0.1")
    new = await frame(ws)
    assert (new["e"], new["x"], new["X"], new["s"], new["i"]) == (
        "executionReport",
        "NEW",
        "NEW",
        "BTCUSDT",
        int(order.order_id),
    )
    assert new["i"] > 2**53 and new["t"] == -1 and new["N"] is None and new["E"] == order.updated_ms
    position = await frame(ws)
    assert position["e"] == "outboundAccountPosition" and position["B"][0]["a"] == "USDT"
    fill = truth.fill_order(order.order_id, "0.04")
    trade = await frame(ws)
    assert (trade["x"], trade["X"], trade["t"], trade["l"], trade["z"]) == (
        "TRADE", "PARTIALLY_FILLED", int(fill.trade_id), "0.04000000", "0.04000000",
    )  # fmt: skip
    assert (trade["L"], trade["n"], trade["N"], trade["T"]) == (
        "60000.00000000",
        "0.00004000",
        "BTC",
        fill.time_ms,
    )
    assert {(await frame(ws))["e"] for _ in range(2)} == {"outboundAccountPosition"}
    truth.set_balance("ETH", "20")
    update = await frame(ws)
    assert (update["e"], update["a"], update["d"], update["BS"]) == (
        "balanceUpdate",
        "ETH",
        "8.00000000",
        "CHAIN_DEPOSIT",
    )
    assert (await frame(ws))["B"] == [{"a": "ETH", "f": "20.00000000", "l": "0.00000000"}]
    truth.cancel_order(order.order_id)
    cancel = await frame(ws)
    assert (cancel["x"], cancel["X"], cancel["z"]) == ("CANCELED", "CANCELED", "0.04000000")
    await ws.close()


async def test_seed_flavour_frames(http):
    async with CoinsphSimulator(seed=3, flavour="seed", position_after_balance_update=False) as sim:
        ws = await open_stream(sim, await listen_key(http, sim))
        order = sim.truth.place_order("SOL/USDT", Side.SELL, "150", "1")
        new = await frame(ws)
        assert "x" not in new and "t" not in new and isinstance(new["c"], int) and new["X"] == "NEW"
        assert (await frame(ws))["e"] == "outboundAccountInfo"
        sim.truth.fill_order(order.order_id)
        trade = await frame(ws)
        assert "x" not in trade and trade["X"] == "FILLED" and trade["l"] == "1.00000000"
        for _ in range(2):
            await frame(ws)
        sim.truth.set_balance("ETH", "1")
        assert (await frame(ws))["e"] == "balanceUpdate"
        sim.truth.set_balance("BTC", "2")  # no position after the update: the next frame is BTC's update
        assert (await frame(ws))["a"] == "BTC"
        await ws.close()


async def test_my_trades_filters_and_pages(sim, http):
    secret = sim.credentials["api_secret"]
    truth = sim.truth
    order = truth.place_order("ETH/USDT", Side.SELL, "3300", "5")
    fills = [truth.fill_order(order.order_id, "0.5") for _ in range(5)]
    other = truth.place_order("SOL/USDT", Side.BUY, "140", "1")
    truth.fill_order(other.order_id)

    async def trades(**params) -> list[int]:
        items = [("symbol", "ETHUSDT"), *((k, str(v)) for k, v in params.items())]
        status, body = await call(http, sim, "GET", "/openapi/v1/myTrades", query=signed(secret, items))
        assert status == 200, body
        return [t["id"] for t in body]

    ids = [int(f.trade_id) for f in fills]
    assert await trades() == ids
    assert await trades(limit=2) == ids[-2:]  # without fromId/startTime: the most recent
    assert await trades(fromId=ids[2], limit=2) == ids[2:4]
    assert await trades(startTime=fills[0].time_ms, limit=3) == ids[:3]
    assert await trades(orderId=other.order_id) == []
    status, body = await call(http, sim, "GET", "/openapi/v1/myTrades", query=signed(secret, []))
    assert (status, body["code"]) == (400, -1105)


async def test_open_orders_with_and_without_symbol(sim, http):
    secret = sim.credentials["api_secret"]
    _, every = await call(http, sim, "GET", "/openapi/v1/openOrders", query=signed(secret, []))
    assert {o["orderId"] for o in every} == {int(i) for i in sim.truth.open_orders}
    _, sol = await call(
        http, sim, "GET", "/openapi/v1/openOrders", query=signed(secret, [("symbol", "SOLUSDT")])
    )
    assert [o["symbol"] for o in sol] == ["SOLUSDT"] and sol[0]["status"] == "NEW"


async def test_demo_activity_reaches_a_stream(http):
    async with CoinsphSimulator(seed=5, activity_interval_s=0.05) as sim:
        ws = await open_stream(sim, await listen_key(http, sim))
        seen = set()
        for _ in range(5):
            seen.add((await frame(ws))["e"])
        assert seen & {"executionReport", "outboundAccountPosition", "balanceUpdate"}
        await ws.close()
