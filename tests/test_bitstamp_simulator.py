"""The Bitstamp simulator speaks the documented protocol to plain aiohttp and websockets clients:
X-Auth v2 checked rule by rule with Bitstamp's own error codes, tokens, per-market channels that are
acknowledged whatever their name, heartbeats, forced reconnects and the REST answers."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError

from streams.exchange import AuthFailed, Credentials
from streams.exchanges.bitstamp import signer
from streams.exchanges.bitstamp.parser import ORDERS_CHANNEL, TRADES_CHANNEL
from streams.exchanges.bitstamp.rest import BitstampHttp
from streams.exchanges.bitstamp.simulator import MARKETS, AuthRefused, BitstampSimulator, check_request
from streams.model import now_ms
from streams.simulator.base import DEFAULT_MALFORMED, serve_until_cancelled

D = Decimal
TOKEN_PATH = "/api/v2/websockets_token/"
BALANCES_PATH = "/api/v2/account_balances/"
TX_PATH = "/api/v2/user_transactions/"
KEY, SECRET = "k", "s"


@pytest.fixture
async def sim() -> AsyncIterator[BitstampSimulator]:
    async with BitstampSimulator(seed=7) as simulator:
        yield simulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def client(sim, http, **override) -> BitstampHttp:
    return BitstampHttp(sim.rest_url, Credentials({**sim.credentials, **override}), http)


def signed(
    sim, path, body="", *, secret=None, nonce=None, timestamp=None, host="127.0.0.1"
) -> dict[str, str]:
    creds = sim.credentials
    return signer.headers(
        creds["api_key"],
        secret or creds["api_secret"],
        method="POST",
        host=host,
        path=path,
        nonce=nonce or signer.new_nonce(),
        timestamp=str(timestamp or now_ms()),
        body=body,
    )


async def raw_post(http, sim, path, headers, body=b"", *, skip_content_type=True) -> tuple[int, object]:
    skip = ("Content-Type",) if skip_content_type else ()
    async with http.post(
        sim.rest_url + path, data=body or None, headers=headers, skip_auto_headers=skip
    ) as r:
        return r.status, await r.json(content_type=None)


# ---- X-Auth v2, rule by rule (pure) -----------------------------------------------------------


def request(**changes):
    """A correctly signed request for `check_request`, with `changes` applied to its headers/body."""
    body = changes.pop("body", b"offset=1")
    headers = signer.headers(
        KEY,
        SECRET,
        method="POST",
        host="www.bitstamp.net",
        path=TX_PATH,
        nonce="0e0bd1cb-6b7a-4d0c-9c58-5a2a6d2f3f1e",
        timestamp="1700000000000",
        body=body.decode(),
    )
    headers.update(changes)
    headers = {k: v for k, v in headers.items() if v is not None}
    return {
        "method": "POST",
        "host": "www.bitstamp.net",
        "path": TX_PATH,
        "query": "",
        "headers": headers,
        "body": body,
        "api_key": KEY,
        "api_secret": SECRET,
        "now": 1700000000000,
        "seen_nonces": {},
    }


def refused(**kwargs) -> str:
    with pytest.raises(AuthRefused) as info:
        check_request(**kwargs)
    assert info.value.refusal.status == 403
    return info.value.code


def test_a_correct_request_passes_and_returns_its_nonce():
    assert check_request(**request()) == "0e0bd1cb-6b7a-4d0c-9c58-5a2a6d2f3f1e"
    upper = request()
    upper["headers"]["X-Auth-Signature"] = upper["headers"]["X-Auth-Signature"].upper()  # Java's hex
    assert check_request(**upper)
    empty = request(body=b"", **{"Content-Type": None})
    assert check_request(**empty)


def test_each_rule_has_its_code():
    assert refused(**request(**{"X-Auth": None})) == "API0012"
    assert refused(**request(**{"X-Auth-Signature": None})) == "API0013"
    assert refused(**request(**{"X-Auth-Nonce": None})) == "API0014"
    assert refused(**request(**{"X-Auth-Timestamp": None})) == "API0015"
    assert refused(**request(**{"X-Auth-Version": None})) == "API0016"
    assert refused(**request(**{"X-Auth": "BITSTAMPk"})) == "API0011"
    assert refused(**request(**{"X-Auth": "bitstamp k"})) == "API0011"
    assert refused(**request(**{"X-Auth": "BITSTAMP unknown"})) == "API0001"
    assert refused(**request(**{"X-Auth-Version": "v1"})) == "API0010"
    assert refused(**request(**{"X-Auth-Timestamp": "1700000000.0"})) == "API0018"
    late = request()
    late["now"] += 150_001
    assert refused(**late) == "API0017"
    within = request()
    within["now"] += 150_000
    assert check_request(**within)
    assert refused(**request(body=b"", **{"Content-Type": signer.FORM})) == "API0020"
    assert refused(**request(**{"Content-Type": signer.FORM + "; charset=utf-8"})) == "API0019"
    assert refused(**request(**{"Content-Type": None})) == "API0019"
    reused = request()
    reused["seen_nonces"] = {"0e0bd1cb-6b7a-4d0c-9c58-5a2a6d2f3f1e": 1700000000000 - 150_000}
    assert refused(**reused) == "API0004"
    reused["seen_nonces"] = {"0e0bd1cb-6b7a-4d0c-9c58-5a2a6d2f3f1e": 1700000000000 - 150_001}
    assert check_request(**reused)  # older than 150 s: forgotten
    assert refused(**request(**{"X-Auth-Nonce": "short"})) == "API0004"
    tampered = request()
    tampered["body"] = b"offset=2"  # signed offset=1
    assert refused(**tampered) == "API0005"
    other_host = request()
    other_host["host"] = "127.0.0.1"
    assert refused(**other_host) == "API0005"
    long_url = request()
    long_url["query"] = "x" * 2000
    assert refused(**long_url) == "API0021"


# ---- X-Auth v2 over HTTP ----------------------------------------------------------------------


async def test_our_client_sends_an_empty_post_without_content_type_and_it_passes(sim, http):
    answer = json.loads(await client(sim, http).post(TOKEN_PATH))
    assert set(answer) == {"token", "valid_sec", "user_id"} and answer["valid_sec"] == 60
    assert str(answer["user_id"]) == sim.user_id and len(answer["token"]) == 32
    assert sim.rest_auth_failures == 0 and sim.tokens_issued == 1


async def test_aiohttp_adds_a_content_type_to_an_empty_post_by_itself_and_gets_api0020(sim, http):
    status, body = await raw_post(http, sim, TOKEN_PATH, signed(sim, TOKEN_PATH), skip_content_type=False)
    assert (status, body) == (
        403,
        {"status": "error", "reason": "Content-Type header should not be present", "code": "API0020"},
    )


async def test_refusals_are_403_with_bitstamps_words_and_code(sim, http):
    cases = {
        "API0005": signed(sim, BALANCES_PATH, secret="wrong"),
        "API0001": {**signed(sim, BALANCES_PATH), "X-Auth": "BITSTAMP nobody"},
        "API0017": signed(sim, BALANCES_PATH, timestamp=now_ms() - 200_000),
    }
    for code, headers in cases.items():
        status, body = await raw_post(http, sim, BALANCES_PATH, headers)
        assert status == 403 and body["code"] == code and body["status"] == "error"
    assert body["reason"] == "X-Auth-Timestamp header is out of the allowed window"
    with pytest.raises(AuthFailed, match=r"HTTP 403: Invalid signature \(API0005\)"):
        await client(sim, http, api_secret="wrong").post(BALANCES_PATH)
    with pytest.raises(AuthFailed, match=r"API key not found \(API0001\)"):
        await client(sim, http, api_key="nobody").post(BALANCES_PATH)
    assert sim.rest_auth_failures == 5


async def test_a_nonce_is_accepted_once(sim, http):
    headers = signed(sim, BALANCES_PATH)
    assert (await raw_post(http, sim, BALANCES_PATH, headers))[0] == 200
    status, body = await raw_post(http, sim, BALANCES_PATH, headers)
    assert (status, body["code"], body["reason"]) == (403, "API0004", "Invalid nonce")


async def test_the_signed_host_is_the_host_name_without_port(sim, http):
    with_port = signed(sim, BALANCES_PATH, host=sim.rest_url.removeprefix("http://"))
    assert (await raw_post(http, sim, BALANCES_PATH, with_port))[1]["code"] == "API0005"
    sim.signed_host = "www.bitstamp.net"  # as the real server checks it
    assert (await raw_post(http, sim, BALANCES_PATH, signed(sim, BALANCES_PATH, host="www.bitstamp.net")))[
        0
    ] == 200


async def test_answers_carry_a_valid_server_signature(sim, http):
    headers = signed(sim, BALANCES_PATH)
    async with http.post(
        sim.rest_url + BALANCES_PATH, headers=headers, skip_auto_headers=("Content-Type",)
    ) as r:
        raw = await r.read()
        expected = signer.response_signature(
            sim.credentials["api_secret"],
            headers["X-Auth-Nonce"],
            headers["X-Auth-Timestamp"],
            r.headers["Content-Type"],
            raw,
        )
        assert r.headers["X-Server-Auth-Signature"] == expected


async def test_a_body_with_the_form_content_type_passes(sim, http):
    body = "offset=0&limit=5&sort=asc"
    status, rows = await raw_post(http, sim, TX_PATH, signed(sim, TX_PATH, body), body.encode())
    assert status == 200 and isinstance(rows, list)


# ---- REST answers -----------------------------------------------------------------------------


async def test_balances_list_every_currency_with_reserved(sim, http):
    rows = json.loads(await client(sim, http).post(BALANCES_PATH))
    by_currency = {row["currency"]: row for row in rows}
    assert {a.lower() for a in sim.truth.balances} < set(by_currency)
    assert by_currency["eur"] == {
        "currency": "eur",
        "total": "0.00000000",
        "available": "0.00000000",
        "reserved": "0.00000000",
    }
    usdt = sim.truth.balance("USDT")
    assert (D(by_currency["usdt"]["total"]), D(by_currency["usdt"]["reserved"])) == (usdt.total, usdt.locked)
    one = json.loads(await client(sim, http).post(BALANCES_PATH + "btc/"))
    assert one["currency"] == "btc" and D(one["total"]) == sim.truth.balance("BTC").total


async def test_open_orders_in_the_documented_shape(sim, http):
    rows = json.loads(await client(sim, http).post("/api/v2/open_orders/all/"))
    assert len(rows) == 2
    row = next(r for r in rows if r["currency_pair"] == "SOL/USDT")
    assert set(row) == {
        "id",
        "datetime",
        "type",
        "price",
        "amount",
        "amount_at_create",
        "currency_pair",
        "market",
        "client_order_id",
    }
    assert (row["type"], row["price"], row["amount"]) == ("1", "160", "2.00000000")
    assert int(row["id"]) > 2**53 and len(row["datetime"]) == 19
    only = json.loads(await client(sim, http).post("/api/v2/open_orders/btcusdt/"))
    assert [r["market"] for r in only] == ["BTC/USDT"]


async def test_user_transactions_rows_paging_and_filters(sim, http):
    sim.truth.set_balance("USDT", "100000")
    order = sim.truth.place_order("ETH/USDT", "buy", "3000", "3")
    fills = [sim.truth.fill_order(order.order_id, "1") for _ in range(3)]
    api = client(sim, http)
    rows = json.loads(await api.post(TX_PATH, {"sort": "asc", "limit": "1000"}))
    assert [r["type"] for r in rows] == ["0", "2", "2", "2"]  # the opening deposit, then the trades
    trade = rows[1]
    assert (trade["id"], trade["order_id"]) == (int(fills[0].trade_id), int(order.order_id))
    assert (trade["eth"], trade["usdt"], trade["eth_usdt"]) == ("1.00000000", "-3000.00000000", "3000")
    assert trade["fee"] == "3.00000000"  # 0.001 ETH at 3000, stated in USDT as Bitstamp does
    assert trade["usd"] == 0.0 and trade["datetime"].count(":") == 2 and "." in trade["datetime"]
    newest_first = json.loads(await api.post(TX_PATH))
    assert [r["id"] for r in newest_first][:3] == [int(f.trade_id) for f in reversed(fills)]
    page = json.loads(await api.post(TX_PATH, {"sort": "asc", "offset": "2", "limit": "1"}))
    assert [r["id"] for r in page] == [int(fills[1].trade_id)]
    later = json.loads(await api.post(TX_PATH, {"since_timestamp": str(fills[-1].time_ms // 1000 + 1)}))
    assert later == []
    by_id = json.loads(await api.post(TX_PATH, {"since_id": fills[2].trade_id}))
    assert [r["id"] for r in by_id] == [int(fills[2].trade_id)]
    other = json.loads(await api.post(TX_PATH + "solusdt/"))
    assert other == []
    with pytest.raises(Exception, match="Invalid offset"):
        await api.post(TX_PATH, {"offset": "x"})


async def test_public_pair_lists_need_no_signature(sim, http):
    async with http.get(sim.rest_url + "/api/v2/trading-pairs-info/") as r:
        pairs = await r.json()
    assert {p["name"] for p in pairs} == set(MARKETS) and "BTC/USD" in MARKETS
    assert {p["url_symbol"] for p in pairs} >= {"btcusdt", "bitotwd", "ethbtc"}
    async with http.get(sim.rest_url + "/api/v2/markets/") as r:
        markets = await r.json()
    assert {(m["market_symbol"], m["base_currency"], m["counter_currency"]) for m in markets} >= {
        ("btcusd", "BTC", "USD")
    }
    assert sim.rest_auth_failures == 0


# ---- websocket --------------------------------------------------------------------------------


async def open_socket(sim) -> ClientConnection:
    before = len(sim.clients())
    ws = await connect(sim.ws_url)
    await sim.wait_connected(before + 1)
    return ws


async def frame(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


async def subscribe(ws, channel, auth) -> dict:
    await ws.send(json.dumps({"event": "bts:subscribe", "data": {"channel": channel, "auth": auth}}))
    return await frame(ws)


async def new_token(sim, http) -> str:
    return json.loads(await client(sim, http).post(TOKEN_PATH))["token"]


async def test_nothing_is_sent_on_connect_and_heartbeats_are_answered(sim):
    async with await open_socket(sim) as ws:
        await ws.send('{"event":"bts:heartbeat"}')
        assert await frame(ws) == {"event": "bts:heartbeat", "channel": "", "data": {"status": "success"}}
    assert sim.heartbeats == 1


async def test_private_channels_need_a_valid_token_for_this_user(sim, http):
    token = await new_token(sim, http)
    own = sim.channel(ORDERS_CHANNEL, "BTC/USDT")
    unauthorized = {
        "event": "bts:error",
        "channel": "",
        "data": {"code": 4009, "message": "Connection is unauthorized."},
    }
    async with await open_socket(sim) as ws:
        assert await subscribe(ws, own, "not-a-token") == unauthorized
        assert await subscribe(ws, own.replace(sim.user_id, "1"), token) == unauthorized  # someone else's
        assert await subscribe(ws, own, token) == {
            "event": "bts:subscription_succeeded",
            "channel": own,
            "data": {},
        }
        # one token serves several subscribes while it is valid
        trades = sim.channel(TRADES_CHANNEL, "BTC/USDT")
        assert (await subscribe(ws, trades, token))["event"] == "bts:subscription_succeeded"
        sim.expire_tokens()
        assert await subscribe(ws, sim.channel(ORDERS_CHANNEL, "ETH/USDT"), token) == unauthorized
    assert sim.refused_subscribes == 3


async def test_an_expired_token_gets_4009(sim, http):
    sim.token_valid_s = 0  # expired the moment it is issued
    token = await new_token(sim, http)
    async with await open_socket(sim) as ws:
        answer = await subscribe(ws, sim.channel(TRADES_CHANNEL, "BTC/USDT"), token)
    assert answer["data"]["code"] == 4009


async def test_any_channel_is_acknowledged_even_one_that_does_not_exist(sim, http):
    token = await new_token(sim, http)
    async with await open_socket(sim) as ws:
        for name in (f"private-my_orders_nosuchmarket-{sim.user_id}", "live_trades_xyzxyz"):
            assert await subscribe(ws, name, token) == {
                "event": "bts:subscription_succeeded",
                "channel": name,
                "data": {},
            }
        await ws.send(json.dumps({"event": "bts:unsubscribe", "data": {"channel": "live_trades_xyzxyz"}}))
        assert (await frame(ws))["event"] == "bts:unsubscription_succeeded"


async def test_orders_and_trades_reach_their_market_channels_only(sim, http):
    token = await new_token(sim, http)
    async with await open_socket(sim) as ws:
        for kind in (ORDERS_CHANNEL, TRADES_CHANNEL):
            await subscribe(ws, sim.channel(kind, "ETH/USDT"), token)
        sim.truth.place_order("SOL/USDT", "buy", "100", "1")  # another market: not sent
        sim.truth.set_balance("BTC", "3")  # no balance channel: not sent
        order = sim.truth.place_order("ETH/USDT", "sell", "3300", "2")
        created = await frame(ws)
        assert (created["event"], created["channel"]) == (
            "order_created",
            sim.channel(ORDERS_CHANNEL, "ETH/USDT"),
        )
        data = created["data"]
        assert (data["id_str"], data["id"]) == (order.order_id, int(order.order_id))
        assert (data["order_type"], data["order_subtype"], data["amount_str"], data["price_str"]) == (
            1,
            0,
            "2.00000000",
            "3300",
        )
        assert (data["amount_at_create"], data["amount_traded"], data["amount"]) == (
            "2.00000000",
            "0.00000000",
            2.0,
        )
        assert data["datetime"] == str(order.created_ms // 1000) and data["microtimestamp"] == str(
            order.updated_ms * 1000
        )
        assert {"event_id", "pre_event_id", "order_source", "trade_account_id"} <= set(created)

        fill = sim.truth.fill_order(order.order_id, "0.5")
        trade = await frame(ws)
        assert (trade["event"], trade["channel"]) == ("trade", sim.channel(TRADES_CHANNEL, "ETH/USDT"))
        assert trade["data"] == {
            "id": int(fill.trade_id),
            "id_str": fill.trade_id,
            "amount": "0.50000000",
            "price": "3300",
            "microtimestamp": str(fill.time_ms * 1000),
            "fee": "1.65",
            "order_id": int(order.order_id),
            "client_order_id": "",
            "trade_account_id": 0,
            "side": "sell",
        }
        changed = await frame(ws)
        assert (changed["event"], changed["data"]["amount_str"], changed["data"]["amount_traded"]) == (
            "order_changed",
            "1.50000000",
            "0.50000000",
        )
        sim.truth.fill_order(order.order_id)
        assert (await frame(ws))["event"] == "trade"
        deleted = await frame(ws)
        assert (deleted["event"], deleted["data"]["amount_str"]) == ("order_deleted", "0.00000000")
        cancelled = sim.truth.place_order("ETH/USDT", "buy", "3000", "1")
        assert (await frame(ws))["event"] == "order_created"
        sim.truth.cancel_order(cancelled.order_id)
        gone = await frame(ws)
        assert (gone["event"], gone["data"]["amount_str"]) == ("order_deleted", "1.00000000")


async def test_a_running_subscription_outlives_its_token(sim, http):
    token = await new_token(sim, http)
    async with await open_socket(sim) as ws:
        await subscribe(ws, sim.channel(ORDERS_CHANNEL, "BTC/USDT"), token)
        sim.expire_tokens()
        sim.truth.cancel_order(
            next(o for o in sim.truth.open_orders.values() if o.market == "BTC/USDT").order_id
        )
        assert (await frame(ws))["event"] == "order_deleted"


async def test_bad_messages_get_bts_error(sim):
    async with await open_socket(sim) as ws:
        for bad in ("not json", '{"event":"bts:subscribe","data":{}}', '{"event":"nonsense"}'):
            await ws.send(bad)
            answer = await frame(ws)
            assert answer["event"] == "bts:error" and answer["data"]["code"] == 4000


async def test_request_reconnect_then_the_server_closes(sim):
    async with await open_socket(sim) as ws:
        assert await sim.request_reconnect(close_after_s=0.2) == 1
        assert await frame(ws) == {"event": "bts:request_reconnect", "channel": "", "data": ""}
        with pytest.raises(ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), 5)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1012
    async with await open_socket(sim) as ws:
        await sim.request_reconnect(data={})
        assert (await frame(ws))["data"] == {}


async def test_blast_writes_frames_straight_to_the_sockets(sim, http):
    token = await new_token(sim, http)
    async with await open_socket(sim) as ws:
        name = sim.channel(ORDERS_CHANNEL, "BTC/USDT")
        await subscribe(ws, name, token)
        order = next(iter(sim.truth.open_orders.values()))
        frames = [sim.order_frame(order, "order_changed") for _ in range(500)]
        assert await sim.blast(frames, stream=name) == 500
        received = [await frame(ws) for _ in range(500)]
    assert {f["event"] for f in received} == {"order_changed"}


async def test_random_activity_reaches_a_subscribed_socket(http):
    async with BitstampSimulator(seed=2, activity_interval_s=0.01) as sim:
        token = await new_token(sim, http)
        async with await open_socket(sim) as ws:
            for market in MARKETS:
                for kind in (ORDERS_CHANNEL, TRADES_CHANNEL):
                    await subscribe(ws, sim.channel(kind, market), token)
            events = set()
            while not {"order_created", "trade"} <= events:
                msg = await frame(ws)
                events.add(msg["event"])


# ---- inherited faults -------------------------------------------------------------------------


async def test_drop_and_malformed(sim):
    ws = await open_socket(sim)
    await sim.send_malformed()
    assert await ws.recv() == DEFAULT_MALFORMED
    await sim.drop_connections()
    with pytest.raises(ConnectionClosedError) as info:
        await asyncio.wait_for(ws.recv(), 5)
    assert info.value.rcvd is None


async def test_a_deaf_server_leaves_heartbeats_unanswered(sim):
    async with await open_socket(sim) as ws:
        sim.stop_answering_pings(True)
        await ws.send('{"event":"bts:heartbeat"}')
        sim.truth.set_balance("BTC", "2")  # (no frame for balances anyway)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.5)
        sim.stop_answering_pings(False)
        assert (await frame(ws))["event"] == "bts:heartbeat"  # read now, answered now
    assert sim.heartbeats == 1


async def test_serve_until_cancelled_prints_urls_and_credentials(http):
    out = io.StringIO()
    task = asyncio.create_task(serve_until_cancelled(BitstampSimulator(), out=out))
    try:
        async with asyncio.timeout(5):
            while out.getvalue().count("\n") < 3:
                await asyncio.sleep(0.01)
        lines = dict(line.split(": ", 1) for line in out.getvalue().splitlines())
        creds = json.loads(lines["credentials"])
        assert set(creds) == {"api_key", "api_secret"}
        assert lines["rest_url"].startswith("http://127.0.0.1:") and lines["ws_url"].startswith(
            "ws://127.0.0.1:"
        )
        api = BitstampHttp(lines["rest_url"], Credentials(creds), http)
        assert "token" in json.loads(await api.post(TOKEN_PATH))
        async with connect(lines["ws_url"]) as ws:
            await ws.send('{"event":"bts:heartbeat"}')
            assert (await frame(ws))["event"] == "bts:heartbeat"
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
