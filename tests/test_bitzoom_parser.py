"""Bitzoom's parser (and its tolerant mapper) on the example frames of the docs' "WebSocket Streams" page (seed copy in
../shared/seeds/bitzoom-websocket.txt) and the OpenAPI envelope example, and on the readings of the
unpublished payloads that the tolerant mapper has to accept (protocol notes section 8)."""

import json
from decimal import Decimal

import pytest

from streams.events import (
    BalancesEvent,
    Heartbeat,
    MalformedFrame,
    MalformedPart,
    OrdersEvent,
    RawPayload,
    Refresh,
    ServerError,
    UnknownEvent,
)
from streams.exchanges.bitzoom import mapper, parser
from streams.exchanges.bitzoom.parser import BALANCE, OPEN_ORDERS, TOKEN_EXPIRED, RestError, Subscription
from streams.model import Balance, OrderStatus, Side

D = Decimal
T = 1_700_000_000_000
SUBS = {
    "b1": Subscription(BALANCE),
    "o1": Subscription(OPEN_ORDERS),
    "abc123": Subscription("/api/v1/ticker"),
}

# The docs' frames, verbatim (seed page, "Protocol" and "Subscribe / Unsubscribe").
LOGON_SUCCESS = '{"channel": "logon", "event": "success", "data": {}}'
LOGON_ERROR = '{"channel": "logon", "event": "error", "data": {}}'
SUB_ACK = '{"channel": "/api/v1/ticker", "event": "sub", "data": { "abc123": {} }}'
PUSH = (
    '{"channel": "/api/v1/ticker", "event": "abc123", "data": { "symbol": "BTCUSDT", "price": "50000.00" }}'
)
UNSUB_ACK = '{"channel": "/api/v1/ticker", "event": "unsub", "data": "abc123"}'
# The OpenAPI file's example envelope (examples/bitzoom.gateway.json, every private GET).
OPENAPI_EXAMPLE = (
    '{"traceid":"8e21be71-7bac-4f33-a267-433acb7862a4","errorCode":200,"errorMessage":"","success":true,'
    '"duration":9223372036854776000,"data":null,"host":"testing env","showType":0}'
)


def push(sub_id: str, data: object, channel: str = BALANCE) -> str:
    return json.dumps({"channel": channel, "event": sub_id, "data": data})


def only(events, kind):
    found = [e for e in events if isinstance(e, kind)]
    assert len(found) == 1, events
    return found[0]


# ---- the docs' frames ------------------------------------------------------------------------


def test_logon_answers():
    assert parser.parse(LOGON_SUCCESS, SUBS, T) == [Heartbeat(T)]
    assert parser.parse(LOGON_ERROR, SUBS, T) == [ServerError(TOKEN_EXPIRED, auth=True, time_ms=T)]
    said = parser.parse('{"channel":"logon","event":"error","data":{"msg":"token is expired"}}', SUBS, T)
    assert said[0].auth and said[0].text.startswith(TOKEN_EXPIRED) and "token is expired" in said[0].text


def test_subscribe_ack_carries_the_subids_as_keys_of_data():
    assert parser.ack_ids(parser.line(SUB_ACK)) == ["abc123"]
    assert parser.ack_ids(parser.line(UNSUB_ACK)) == ["abc123"]  # here `data` is a plain string
    assert parser.ack_ids(parser.line('{"channel":"x","event":"sub","data":{"a":{},"b":{}}}')) == ["a", "b"]
    assert parser.ack_ids(parser.line('{"channel":"x","event":"sub","data":{}}')) == []


def test_a_push_is_routed_by_its_subid_and_kept_verbatim():
    events = parser.parse(PUSH, SUBS, T)
    assert events == [RawPayload("/api/v1/ticker", PUSH, T)]  # a channel without a mapper: raw only


def test_a_push_for_an_unknown_subid_is_reported_not_raised():
    [event] = parser.parse(push("zz9", [{"asset": "BTC", "balance": "1"}]), SUBS, T)
    assert isinstance(event, UnknownEvent) and "'zz9'" in event.name and BALANCE in event.name
    assert parser.parse(PUSH, {}, T)[0] == UnknownEvent(
        "push for unknown subId 'abc123' on '/api/v1/ticker'", T
    )


def test_late_control_answers_and_channel_errors():
    [late] = parser.parse(SUB_ACK, SUBS, T)
    assert isinstance(late, UnknownEvent)
    [unsub] = parser.parse(UNSUB_ACK, SUBS, T)
    assert isinstance(unsub, UnknownEvent)
    [error] = parser.parse('{"channel":"/api/v1/openorders","event":"error","data":{}}', SUBS, T)
    assert error == ServerError("/api/v1/openorders failed: {}", time_ms=T) and not error.auth


# ---- lines -----------------------------------------------------------------------------------


def test_every_line_of_a_message_is_parsed_and_a_bad_one_drops_nothing_else():
    balances = push("b1", [{"asset": "BTC", "balance": "2", "availableBalance": "1.5"}])
    orders = push(
        "o1",
        {"orderId": 7, "symbol": "ETHUSDT", "side": "SELL", "price": "3000", "origQty": "1"},
        OPEN_ORDERS,
    )
    frame = f"{balances}\n{{not json\r\n\n{orders}\n"
    events = parser.parse(frame, SUBS, T)
    assert only(events, BalancesEvent).balances == (Balance("BTC", D(2), D("1.5"), D("0.5")),)
    assert only(events, OrdersEvent).orders[0].order_id == "7"
    assert isinstance(only(events, MalformedPart), MalformedPart)
    assert [e.channel for e in events if isinstance(e, RawPayload)] == [BALANCE, OPEN_ORDERS]
    assert [e.text for e in events if isinstance(e, RawPayload)] == [balances, orders]


def test_a_line_with_a_bad_item_keeps_the_good_items():
    frame = push(
        "b1", [{"asset": "BTC", "balance": "1"}, {"asset": "ETH", "balance": "lots"}, {"coin": "SOL"}]
    )
    events = parser.parse(frame, SUBS, T)
    assert [b.asset for b in only(events, BalancesEvent).balances] == ["BTC"]
    problems = [e.reason for e in events if isinstance(e, MalformedPart)]
    assert len(problems) == 2 and "ETH" not in problems[1] and "no amount" in problems[1]


@pytest.mark.parametrize(
    "frame",
    [
        '{"channel":"/api/v1/balance","event":',  # truncated
        "[1,2]",
        '{"channel":"logon","data":{}}',  # no event
        '{"channel":5,"event":"sub","data":{}}',
        "",
    ],
)
def test_a_message_of_one_bad_line_is_a_malformed_frame(frame):
    if frame:
        with pytest.raises(MalformedFrame):
            parser.parse(frame, SUBS, T)
    else:
        assert parser.parse(frame, SUBS, T) == []  # nothing to parse is not an error


def test_split_keeps_good_lines_and_names_bad_ones():
    parts = parser.split(f"{LOGON_SUCCESS}\nnope\n{SUB_ACK}")
    assert [type(p).__name__ for p in parts] == ["Line", "MalformedPart", "Line"]
    assert parts[2].text == SUB_ACK and parts[2].data == {"abc123": {}}


# ---- balances ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        [{"asset": "USDT", "walletBalance": "100", "availableBalance": "60"}],  # a list
        {"asset": "USDT", "walletBalance": "100", "availableBalance": "60"},  # one object
        {"USDT": {"walletBalance": "100", "availableBalance": "60"}},  # keyed by asset
        {"USDT": {"walletBalance": "100", "availableBalance": "60"}, "updateTime": 1},  # and metadata
        {"list": [{"currency": "usdt", "balance": "100", "free": "60"}]},  # wrapped
        [{"coin": "USDT", "total": "100", "available": "60", "locked": "40"}],
        [{"asset": "USDT", "free": "60", "locked": "40"}],  # total derived
        [{"asset": "USDT", "balance": "100", "frozen": "40"}],  # available derived
    ],
)
def test_balance_payload_readings(data):
    events = parser.parse(push("b1", data), SUBS, T)
    assert only(events, BalancesEvent).balances == (Balance("USDT", D(100), D(60), D(40)),)
    assert not any(isinstance(e, MalformedPart) for e in events)
    assert only(events, Refresh).assets == {"USDT"}  # a moved balance may be a fill: ask REST


def test_balance_pushes_are_upserts_and_empty_ones_say_nothing():
    [raw] = parser.parse(push("b1", {}), SUBS, T)
    assert isinstance(raw, RawPayload)
    raw, unknown = parser.parse(push("b1", {"updateTime": 1, "status": "ok"}), SUBS, T)  # no items at all
    assert isinstance(unknown, MalformedPart) and "members ['status', 'updateTime']" in unknown.reason
    assert parser.parse(push("b1", None), SUBS, T) == [RawPayload(BALANCE, push("b1", None), T)]
    event = only(parser.parse(push("b1", [{"asset": "BTC", "balance": "1"}]), SUBS, T), BalancesEvent)
    assert not event.complete and event.time_ms == T
    odd = only(
        parser.parse(push("b1", [{"asset": "BTC", "balance": "1", "free": "2"}]), SUBS, T), BalancesEvent
    )
    assert odd.balances[0].locked == 0  # never a negative lock


def test_unknown_fields_stay_in_the_raw_payload():
    data = [{"asset": "USDT", "walletBalance": "1", "crossUnPnl": "-0.5", "marginRatio": "0.01"}]
    events = parser.parse(push("b1", data), SUBS, T)
    raw = only(events, RawPayload)
    assert json.loads(raw.text)["data"][0]["crossUnPnl"] == "-0.5" and raw.channel == BALANCE


def test_amounts_are_exact_decimals_never_floats():
    events = parser.parse(
        '{"channel":"x","event":"b1","data":[{"asset":"BTC","balance":0.1,"free":1e-8}]}', SUBS, T
    )
    balance = only(events, BalancesEvent).balances[0]
    assert balance.total == D("0.1") and type(balance.total) is Decimal and balance.available == D("1E-8")


# ---- orders -----------------------------------------------------------------------------------

WS_ORDER = {
    "id": 2**63 + 1,
    "symbol": "BTCUSDT",
    "side": 1,
    "positionSide": 3,
    "type": "LIMIT",
    "price": "60000",
    "quantity": "0.5",
    "executedQty": "0",
    "status": "NEW",
    "createdTime": 1700000000123,
    "updatedTime": 1700000000456,
}
REST_ORDER = {
    "orderId": 42,
    "symbol": "SOLUSDT",
    "side": "SELL",
    "type": "LIMIT",
    "price": "160",
    "origQty": "2",
    "executedQty": "0.5",
    "status": "PARTIALLY_FILLED",
    "time": 1700000000,  # seconds
}


def test_order_with_integer_side_and_an_id_beyond_2_53():
    events = parser.parse(push("o1", WS_ORDER, OPEN_ORDERS), SUBS, T)
    [order] = only(events, OrdersEvent).orders
    assert order.order_id == "9223372036854775809"  # exact: never through a float
    assert (order.market, order.side, order.kind) == ("BTC/USDT", Side.BUY, "limit")
    assert (order.price, order.amount, order.filled, order.status) == (
        D(60000),
        D("0.5"),
        D(0),
        OrderStatus.OPEN,
    )
    assert (order.created_ms, order.updated_ms) == (1700000000123, 1700000000456)
    assert not any(isinstance(e, Refresh) for e in events)  # nothing filled: no trade lookup


def test_order_in_the_rest_reading_asks_for_its_trades():
    events = parser.parse(push("o1", [REST_ORDER], OPEN_ORDERS), SUBS, T)
    [order] = only(events, OrdersEvent).orders
    assert (order.order_id, order.market, order.side) == ("42", "SOL/USDT", Side.SELL)
    assert (order.amount, order.filled, order.status) == (D(2), D("0.5"), OrderStatus.PARTIALLY_FILLED)
    assert order.created_ms == order.updated_ms == 1700000000000
    assert only(events, Refresh).orders == {("42", "SOL/USDT")}


@pytest.mark.parametrize(
    ("raw", "filled", "expected"),
    [
        ("NEW", "0", OrderStatus.OPEN),
        ("new", "0.1", OrderStatus.PARTIALLY_FILLED),
        ("PARTIALLY_FILLED", "0.1", OrderStatus.PARTIALLY_FILLED),
        ("FILLED", "1", OrderStatus.FILLED),
        ("CANCELED", "0", OrderStatus.CANCELLED),
        ("CANCELLED", "0.2", OrderStatus.CANCELLED),
        ("EXPIRED", "0", OrderStatus.CANCELLED),
        ("REJECTED", "0", OrderStatus.REJECTED),
        (None, "0", OrderStatus.OPEN),  # no status: the amounts decide
        (2, "0.3", OrderStatus.PARTIALLY_FILLED),  # a number: no table is published
        ("SOMETHING_NEW", "1", OrderStatus.FILLED),
    ],
)
def test_order_statuses(raw, filled, expected):
    item = {"orderId": "1", "symbol": "BTCUSDT", "side": "BUY", "origQty": "1", "executedQty": filled}
    if raw is not None:
        item["status"] = raw
    [order] = only(parser.parse(push("o1", item, OPEN_ORDERS), SUBS, T), OrdersEvent).orders
    assert order.status is expected


def test_orders_keyed_by_id_and_bad_orders():
    data = {
        "11": {"symbol": "ETHUSDT", "side": "buy", "quantity": "1"},
        "12": {"symbol": "ETHUSDT", "side": 7, "quantity": "1"},  # unknown side: skipped, shown raw
        "13": {"symbol": "ETHUSDT", "side": "SELL"},  # no quantity
    }
    events = parser.parse(push("o1", data, OPEN_ORDERS), SUBS, T)
    assert [o.order_id for o in only(events, OrdersEvent).orders] == ["11"]
    reasons = [e.reason for e in events if isinstance(e, MalformedPart)]
    assert len(reasons) == 2 and "unknown side 7" in reasons[0]
    assert "12" in only(events, RawPayload).text


@pytest.mark.parametrize(
    ("symbol", "market"),
    [
        ("BTCUSDT", "BTC/USDT"),
        ("usdttwd", "USDT/TWD"),
        ("BITOTWD", "BITO/TWD"),
        ("ETHBTC", "ETH/BTC"),
        ("eth_usdt", "ETH/USDT"),
        ("SOL-USDC", "SOL/USDC"),
        ("XYZ", "XYZ"),
    ],
)
def test_symbols(symbol, market):
    assert mapper.market_of(symbol) == market


def test_sides():
    assert mapper.side("BUY") is mapper.side("bid") is mapper.side(1) is mapper.side("1") is Side.BUY
    assert mapper.side("sell") is mapper.side(2) is Side.SELL
    for bad in (0, 3, True, "LONG", None):
        with pytest.raises(ValueError):
            mapper.side(bad)


# ---- REST -------------------------------------------------------------------------------------


def test_openapi_envelope_example_with_a_duration_beyond_2_53():
    assert parser.rest_data(OPENAPI_EXAMPLE) is None
    body = OPENAPI_EXAMPLE.replace('"data":null', '"data":{"orderId":9223372036854776000,"x":1.10}')
    assert parser.rest_data(body) == {"orderId": 9223372036854776000, "x": D("1.10")}


def test_guides_envelope_and_no_envelope():
    assert parser.rest_data('{"code":0,"msg":"success","data":{"a":1}}') == {"a": 1}
    assert parser.rest_data('{"code":"0","msg":"success","data":[]}') == []
    assert parser.rest_data("[1,2]") == [1, 2]


@pytest.mark.parametrize(
    ("body", "code", "unauthorized", "bad_parameter"),
    [
        (
            '{"traceid":"t","errorCode":-1002,"errorMessage":"Unauthorized","success":false,"data":null}',
            -1002,
            True,
            False,
        ),
        ('{"code":-1002,"msg":"Unauthorized"}', -1002, True, False),
        ('{"code":-1104,"msg":"Not all sent parameters were read","data":null}', -1104, False, True),
        ('{"errorCode":-1003,"errorMessage":"Too many requests","success":false}', -1003, False, False),
        ('{"success":false}', None, False, False),
    ],
)
def test_envelope_errors(body, code, unauthorized, bad_parameter):
    with pytest.raises(RestError) as info:
        parser.rest_data(body)
    assert (info.value.code, info.value.unauthorized, info.value.bad_parameter) == (
        code,
        unauthorized,
        bad_parameter,
    )


def test_rest_snapshots_are_complete_and_refuse_bad_items():
    balances = parser.rest_balances(
        {"BTC": {"asset": "BTC", "balance": "1.5", "free": "1", "locked": "0.5"}}, T
    )
    assert balances.complete and balances.balances == (Balance("BTC", D("1.5"), D(1), D("0.5")),)
    orders = parser.rest_open_orders([REST_ORDER], T)
    assert orders.complete and orders.orders[0].order_id == "42"
    assert parser.rest_open_orders(None, T).orders == ()
    with pytest.raises(MalformedFrame):
        parser.rest_balances([{"asset": "BTC", "balance": "x"}], T)
    with pytest.raises(MalformedFrame):
        parser.rest_open_orders("nope", T)


def test_trade_history_page():
    data = {
        "total": 2,
        "list": [
            {
                "id": 2**62 + 3,
                "orderId": 42,
                "symbol": "SOLUSDT",
                "side": "SELL",
                "price": "160",
                "qty": "0.5",
                "commission": "0.08",
                "commissionAsset": "USDT",
                "time": 1700000000123,
            },
            {
                "tradeId": "t-2",
                "symbol": "BTCUSDT",
                "buyer": True,
                "price": "60000",
                "quantity": "0.01",
                "time": 1700000001,
            },
        ],
    }
    fills, total = parser.rest_trades(data)
    assert total == 2
    first, second = fills
    assert (first.trade_id, first.order_id, first.market, first.side) == (
        str(2**62 + 3),
        "42",
        "SOL/USDT",
        Side.SELL,
    )
    assert (first.price, first.amount, first.fee, first.fee_asset, first.time_ms) == (
        D(160),
        D("0.5"),
        D("0.08"),
        "USDT",
        1700000000123,
    )
    assert (second.trade_id, second.order_id, second.side, second.fee, second.time_ms) == (
        "t-2",
        "",
        Side.BUY,
        D(0),
        1700000001000,
    )
    assert parser.rest_trades({"total": 0, "list": []}) == ([], 0)
    with pytest.raises(MalformedFrame):
        parser.rest_trades([{"id": 1, "symbol": "BTCUSDT", "side": "BUY", "price": "1"}])  # no quantity


def test_the_servers_words_never_carry_a_token():
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0." + "s" * 300  # long: a cut would fall inside it
    refusal = parser.logon_refusal(
        parser.line(json.dumps({"channel": "logon", "event": "error", "data": {"token": token}}))
    )
    assert refusal == f'{TOKEN_EXPIRED} (Bitzoom said: {{"token":"<token>"}})'
    with pytest.raises(MalformedFrame) as info:
        parser.line(f"{token} oops")
    assert "sss" not in str(info.value) and "<token>" in str(info.value)
