"""The Bitstamp parser on the documented frames: the protocol notes' example, the live frames ccxt quotes
in its source (my_orders, my_trades, order_deleted after a fill, an older frame without
amount_at_create), control frames, REST answers; plus missing and extra fields, type drift, huge ids
and malformed input."""

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.events import (
    BalancesEvent,
    FillEvent,
    Heartbeat,
    MalformedFrame,
    MalformedPart,
    OrdersEvent,
    ReconnectRequested,
    Refresh,
    ServerError,
    UnknownEvent,
)
from streams.exchanges.bitstamp import parser
from streams.exchanges.bitstamp.parser import POLL_BALANCES, StreamParser
from streams.exchanges.wire import BAD_FIELDS
from streams.model import OrderStatus, Side

D = Decimal
NAMES = {"btcusd": "BTC/USD", "ethusdt": "ETH/USDT", "ltcusd": "LTC/USD", "btcusd-perp": "BTC/USD-PERP"}
parse = StreamParser(NAMES)

# Protocol notes, section 5 (shape illustration, values invented there).
DOC_ORDER_CREATED = """{"event":"order_created","channel":"private-my_orders_btcusd-123456",
 "data":{"id":1234567890,"id_str":"1234567890","client_order_id":"","order_type":0,"order_subtype":0,
  "datetime":"1700000000","microtimestamp":"1700000000000000","amount":0.5,"amount_str":"0.50000000",
  "amount_traded":"0","amount_at_create":"0.50000000","price":30000,"price_str":"30000",
  "is_liquidation":false,"trade_account_id":0}}"""

# ccxt/python/ccxt/pro/bitstamp.py, handle_orders / parse_ws_order / handle_my_trades / handle_subject.
CCXT_ORDER_CREATED = {
    "data": {
        "id": "2050558851342339",
        "id_str": "2050558851342339",
        "order_type": 0,
        "order_subtype": 2,
        "datetime": "1789459694",
        "microtimestamp": "1789459694223000",
        "amount": 0.005,
        "amount_str": "0.005000",
        "amount_traded": "0",
        "amount_at_create": "0.005000",
        "price": 999999999,
        "price_str": "999999999.00",
        "is_liquidation": False,
        "trade_account_id": 0,
    },
    "channel": "private-my_orders_ethusdt-4416057",
    "event": "order_created",
    "trade_account_id": 0,
    "event_id": "00065b81-0d69-fe98-0000-006902000020",
    "pre_event_id": "00065b81-0d68-6088-0000-006901000020",
    "order_source": "orderbook",
}
CCXT_DELETED_AFTER_FILL = {
    "data": {
        "id": "2050558851342339",
        "id_str": "2050558851342339",
        "order_type": 0,
        "order_subtype": 2,
        "datetime": "1789459694",
        "microtimestamp": "1789459694223000",
        "amount": 0,
        "amount_str": "0",
        "amount_traded": "0.005000",
        "amount_at_create": "0.005000",
        "price": 2468.04,
        "price_str": "2468.04",
        "is_liquidation": False,
        "trade_account_id": 0,
    },
    "channel": "private-my_orders_ethusdt-4416057",
    "event": "order_deleted",
}
CCXT_OLD_DELETED = {  # "event field only present for cancelOrder"; no amount_at_create, no order_subtype
    "data": {
        "id": "1463471322288128",
        "id_str": "1463471322288128",
        "order_type": 1,
        "datetime": "1646127778",
        "microtimestamp": "1646127777950000",
        "amount": 0.05,
        "amount_str": "0.05000000",
        "price": 1000,
        "price_str": "1000.00",
    },
    "channel": "private-my_orders_ltcusd-4848701",
    "event": "order_deleted",
}
CCXT_TRADE = {
    "data": {
        "id": 635698396,
        "amount": "0.005000",
        "price": "2468.04",
        "microtimestamp": "1789459694223000",
        "fee": "0.04936",
        "order_id": "2050558851342339",
        "trade_account_id": 0,
        "side": "buy",
    },
    "channel": "private-my_trades_ethusdt-4416057",
    "event": "trade",
    "trade_account_id": 0,
}


def one_order(frame):
    events = parse(frame if isinstance(frame, str) else json.dumps(frame))
    assert len(events) == 2 and events[1] is POLL_BALANCES  # every order frame asks for a balance poll
    assert isinstance(events[0], OrdersEvent) and not events[0].complete
    [order] = events[0].orders
    return events[0], order


def with_data(frame, **changes):
    data = {k: v for k, v in {**frame["data"], **changes}.items() if v is not None}
    return json.dumps({**frame, "data": data})


# ---- stream: orders ------------------------------------------------------------------------------


def test_the_protocol_notes_order_created_example():
    event, order = one_order(DOC_ORDER_CREATED)
    assert (order.order_id, order.market, order.side, order.kind) == (
        "1234567890",
        "BTC/USD",
        Side.BUY,
        "limit",
    )
    assert (order.price, order.amount, order.filled) == (D("30000"), D("0.5"), D("0"))
    assert order.status is OrderStatus.OPEN
    assert (order.created_ms, order.updated_ms, event.time_ms) == (1700000000000,) * 3
    assert all(isinstance(v, Decimal) for v in (order.price, order.amount, order.filled))


def test_ccxt_live_order_created_with_event_ids_and_a_string_id():
    _, order = one_order(CCXT_ORDER_CREATED)
    assert (order.order_id, order.market, order.kind) == ("2050558851342339", "ETH/USDT", "market")
    assert (order.amount, order.price) == (D("0.005"), D("999999999.00"))
    assert (order.created_ms, order.updated_ms) == (1789459694000, 1789459694223)


def test_order_deleted_with_nothing_left_is_filled():
    _, order = one_order(CCXT_DELETED_AFTER_FILL)
    assert order.status is OrderStatus.FILLED
    assert (order.amount, order.filled) == (D("0.005"), D("0.005"))


def test_order_deleted_with_something_left_is_cancelled():
    frame = with_data(CCXT_DELETED_AFTER_FILL, amount_str="0.002000", amount_traded="0.003000")
    _, order = one_order(frame)
    assert order.status is OrderStatus.CANCELLED
    assert (order.amount, order.filled) == (D("0.005"), D("0.003"))


def test_order_deleted_when_amount_traded_equals_the_original_is_filled():
    # ccxt's reading: amount_traded == amount_at_create closes the order as filled
    frame = with_data(CCXT_DELETED_AFTER_FILL, amount_str="0.00000001", amount_traded="0.005000")
    assert one_order(frame)[1].status is OrderStatus.FILLED


def test_an_older_frame_without_amount_at_create_or_subtype():
    _, order = one_order(CCXT_OLD_DELETED)
    assert (order.order_id, order.market, order.side, order.kind) == (
        "1463471322288128",
        "LTC/USD",
        Side.SELL,
        "limit",
    )
    assert (order.amount, order.filled, order.status) == (D("0.05"), D("0"), OrderStatus.CANCELLED)
    changed = with_data(CCXT_OLD_DELETED, amount_traded="0.01000000")
    _, partial = one_order(changed.replace('"order_deleted"', '"order_changed"'))
    # amount_traded read as cumulative: 0.05 remain after 0.01, so the order was 0.06
    assert (partial.amount, partial.filled, partial.status) == (
        D("0.06"),
        D("0.01"),
        OrderStatus.PARTIALLY_FILLED,
    )


def test_partial_fill_from_order_changed_uses_amount_at_create_minus_the_remainder():
    frame = with_data(CCXT_ORDER_CREATED, amount_str="0.002000", amount_traded="0.001")  # traded is ignored
    _, order = one_order(frame.replace('"order_created"', '"order_changed"'))
    assert (order.amount, order.filled, order.status) == (
        D("0.005"),
        D("0.003"),
        OrderStatus.PARTIALLY_FILLED,
    )


def test_order_replaced_reads_like_order_changed():
    _, order = one_order(json.dumps({**CCXT_ORDER_CREATED, "event": "order_replaced"}))
    assert order.status is OrderStatus.OPEN


def test_the_string_fields_win_over_their_float_copies():
    frame = with_data(CCXT_ORDER_CREATED, amount=0.1, price=1.5)
    _, order = one_order(frame)
    assert (order.amount, order.price) == (D("0.005"), D("999999999.00"))


def test_type_drift_numbers_for_strings_and_strings_for_numbers():
    frame = with_data(CCXT_ORDER_CREATED, order_type="1", order_subtype="LIMIT", datetime=1789459694)
    _, order = one_order(frame.replace('"amount_str": "0.005000"', '"amount_str": 0.005'))
    assert (order.side, order.kind, order.amount, order.created_ms) == (
        Side.SELL,
        "limit",
        D("0.005"),
        1789459694000,
    )
    assert one_order(with_data(CCXT_ORDER_CREATED, order_subtype="MARKET"))[1].kind == "market"


def test_order_kinds_known_unknown_and_stop():
    kinds = {
        code: one_order(with_data(CCXT_ORDER_CREATED, order_subtype=code))[1].kind for code in (4, 6, "8", 99)
    }
    assert kinds == {4: "limit_ioc", 6: "limit_fok", "8": "limit_gtd", 99: "other_99"}
    stop = one_order(with_data(CCXT_ORDER_CREATED, order_subtype=0, stop_price="2400"))[1]
    assert stop.kind == "stop_limit"


def test_huge_ids_stay_exact_strings():
    huge = 9_007_199_254_740_993  # 2**53 + 1: a float would make it ...992
    frame = with_data(CCXT_ORDER_CREATED, id=huge, id_str=None)
    assert one_order(frame)[1].order_id == "9007199254740993"
    frame = with_data(CCXT_ORDER_CREATED, id=huge, id_str="123456789012345678901234567890")
    assert one_order(frame)[1].order_id == "123456789012345678901234567890"


def test_missing_times_fall_back_to_the_other_one():
    _, order = one_order(with_data(CCXT_ORDER_CREATED, microtimestamp=None))
    assert (order.created_ms, order.updated_ms) == (1789459694000, 1789459694000)
    _, order = one_order(with_data(CCXT_ORDER_CREATED, datetime=None))
    assert (order.created_ms, order.updated_ms) == (1789459694223, 1789459694223)


def test_perpetual_market_ids_contain_a_dash_of_their_own():
    frame = json.dumps({**CCXT_ORDER_CREATED, "channel": "private-my_orders_btcusd-perp-4416057"})
    assert one_order(frame)[1].market == "BTC/USD-PERP"


# ---- stream: trades ------------------------------------------------------------------------------


def test_ccxt_live_trade():
    events = parse(json.dumps(CCXT_TRADE))
    assert events[1] is POLL_BALANCES
    [fill_event] = [e for e in events if isinstance(e, FillEvent)]
    fill = fill_event.fill
    assert (fill.trade_id, fill.order_id, fill.market, fill.side) == (
        "635698396",
        "2050558851342339",
        "ETH/USDT",
        Side.BUY,
    )
    assert (fill.price, fill.amount, fill.fee, fill.fee_asset) == (
        D("2468.04"),
        D("0.005"),
        D("0.04936"),
        "USDT",
    )
    assert fill.time_ms == fill_event.time_ms == 1789459694223
    assert not fill.late


def test_trade_with_id_str_huge_order_id_and_no_fee():
    data = {**CCXT_TRADE["data"], "id_str": "18446744073709551617", "order_id": 2**64 + 3, "side": "sell"}
    del data["fee"]
    fill = parse(json.dumps({**CCXT_TRADE, "data": data}))[0].fill
    assert (fill.trade_id, fill.order_id, fill.side, fill.fee) == (
        "18446744073709551617",
        "18446744073709551619",
        Side.SELL,
        D(0),
    )


# ---- stream: control frames ---------------------------------------------------------------------


def test_acks_of_live_subscribes_ask_rest_for_that_market():
    ack = {"event": "bts:subscription_succeeded", "channel": "private-my_trades_btcusd-123", "data": {}}
    assert parse(json.dumps(ack)) == [Refresh(markets=frozenset({"BTC/USD"}))]
    orders_ack = {**ack, "channel": "private-my_orders_ethusdt-123"}
    assert parse(json.dumps(orders_ack)) == [Refresh(markets=frozenset({"ETH/USDT"}))]
    for other in ("live_trades_btcusd", "private-my_trades_dogeeur-123", ""):
        assert parse(json.dumps({**ack, "channel": other})) == [Heartbeat()]


def test_heartbeat_reconnect_unsubscribe_and_errors():
    assert parse('{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}') == [Heartbeat()]
    assert parse('{"event":"bts:unsubscription_succeeded","channel":"x","data":{}}') == [Heartbeat()]
    for data in ('""', "{}"):  # "" in the docs, {} in some clients
        frame = f'{{"event":"bts:request_reconnect","channel":"","data":{data}}}'
        assert parse(frame) == [ReconnectRequested()]
    unauthorized = (
        '{"event":"bts:error","channel":"","data":{"code":4009,"message":"Connection is unauthorized."}}'
    )
    assert parse(unauthorized) == [ServerError("Connection is unauthorized. (bts:error 4009)", auth=True)]
    other = '{"event":"bts:error","channel":"","data":{"code":4000,"message":"Bad message format."}}'
    assert parse(other) == [ServerError("Bad message format. (bts:error 4000)", auth=False)]
    assert parse('{"event":"bts:error","data":null}') == [ServerError("error without a message")]


def test_unknown_events_are_named_not_fatal():
    assert parse('{"event":"stop_active","channel":"private-my_orders_btcusd-1","data":{}}') == [
        UnknownEvent("stop_active")
    ]
    assert parse('{"event":"self_trade","channel":"private-live_trades_btcusd-1","data":{},"x":1}') == [
        UnknownEvent("self_trade")
    ]


@pytest.mark.parametrize(
    "frame",
    [
        "",
        "not json",
        '{"event":"order_created","data":',
        "[1, 2]",
        '{"channel":"x"}',
        '{"event":5}',
        '{"event":"trade","channel":"private-my_trades_btcusd-1"}',  # no data
        '{"event":"trade","channel":"private-my_trades_xyzabc-1","data":{"id":1,"order_id":2,'
        '"side":"buy","price":"1","amount":"1","microtimestamp":"1"}}',  # a market we never subscribed
        '{"event":"trade","channel":"live_trades_btcusd","data":{"id":1,"order_id":2,"side":"buy",'
        '"price":"1","amount":"1","microtimestamp":"1"}}',  # not our channel kind
        '{"event":"trade","channel":"private-my_trades_btcusd-1","data":{"id":1,"order_id":2,'
        '"side":"hold","price":"1","amount":"1","microtimestamp":"1"}}',  # unknown side
        '{"event":"trade","channel":"private-my_trades_btcusd-1","data":{"id":true,"order_id":2,'
        '"side":"buy","price":"1","amount":"1","microtimestamp":"1"}}',  # a bool id
    ],
)
def test_malformed_frames_raise(frame):
    with pytest.raises(MalformedFrame):
        parse(frame)


@pytest.mark.parametrize(
    "changes",
    [
        {"amount_str": True},
        {"amount_str": "NaN"},
        {"amount_str": "abc"},
        {"price_str": "Infinity"},
        {"amount_at_create": "0.001"},  # less than what remains
        {"order_type": 7},
        {"microtimestamp": "soon"},
        {"id": None, "id_str": None},
    ],
)
def test_bad_order_fields_raise(changes):
    with pytest.raises(MalformedFrame):
        parse(with_data(CCXT_ORDER_CREATED, **changes))


def test_a_handshake_backlog_keeps_good_frames_and_names_bad_ones():
    events = parse.backlog([json.dumps(CCXT_TRADE), "not json", '{"event":"bts:heartbeat"}'])
    assert isinstance(events[0], FillEvent) and events[1] is POLL_BALANCES
    assert isinstance(events[2], MalformedPart) and events[3] == Heartbeat()


# ---- REST ----------------------------------------------------------------------------------------


def test_rest_balances_skip_the_all_zero_currencies():
    body = json.dumps(
        [
            {"currency": "usdt", "total": "7.00000", "available": "7.00000", "reserved": "0.00000"},  # ccxt's
            {"currency": "btc", "total": "1.5", "available": "1.2", "reserved": "0.3"},
            {"currency": "xrp", "total": "0.00000000", "available": "0.00000000", "reserved": "0.00000000"},
        ]
    )
    event = parser.rest_balances(body, 5)
    assert isinstance(event, BalancesEvent) and event.complete and event.time_ms == 5
    assert {b.asset: (b.total, b.available, b.locked) for b in event.balances} == {
        "USDT": (D("7"), D("7"), D("0")),
        "BTC": (D("1.5"), D("1.2"), D("0.3")),
    }


def test_rest_open_orders_old_and_new_shapes():
    body = json.dumps(
        [
            {  # the protocol notes' fields
                "id": "2814205012",
                "datetime": "2019-01-31 21:23:36",
                "type": "0",
                "price": "0.00008012",
                "amount": "15.00000000",
                "currency_pair": "XRP/BTC",
                "client_order_id": "",
            },
            {  # JKorf's BitstampOpenOrder: market and amount_at_create; an id beyond 2**53
                "id": 9007199254740993,
                "datetime": "2022-01-31 14:43:15",
                "type": 1,
                "price": "30000.00",
                "amount": "0.25000000",
                "amount_at_create": "1.00000000",
                "market": "BTC/USD",
            },
        ]
    )
    event = parser.rest_open_orders(body, 9)
    assert event.complete and event.time_ms == 9
    first, second = event.orders
    assert (first.order_id, first.market, first.side, first.status) == (
        "2814205012",
        "XRP/BTC",
        Side.BUY,
        OrderStatus.OPEN,
    )
    assert (first.amount, first.filled, first.created_ms, first.updated_ms) == (
        D("15"),
        D(0),
        1548969816000,
        1548969816000,
    )
    assert (second.order_id, second.side, second.amount, second.filled) == (
        "9007199254740993",
        Side.SELL,
        D(1),
        D("0.75"),
    )
    assert second.status is OrderStatus.PARTIALLY_FILLED


def test_rest_user_transactions_trades_only():
    body = json.dumps(
        [
            {  # ccxt's fetchMyTrades example (a number price, zero members of other currencies)
                "fee": "0.11128",
                "eth_usdt": 4451.25,
                "datetime": "2021-11-25 12:59:59.322000",
                "usdt": "-22.26",
                "order_id": 1429545880227846,
                "usd": 0,
                "btc": 0,
                "eth": "0.00500000",
                "type": "2",
                "id": 209895701,
                "eur": 0,
            },
            {  # a withdrawal (ccxt's fetchDepositsWithdrawals example)
                "fee": "0.00000000",
                "btc_usd": "0.00",
                "id": 1234567894,
                "usd": 0,
                "btc": 0,
                "datetime": "2018-09-08 09:00:31",
                "type": "1",
                "xrp": "-20.00000000",
                "eur": 0,
            },
            {
                "fee": "1.5",
                "btc_usd": "30000.00",
                "datetime": "2023-11-14 22:13:20.000001",
                "usd": "300.00",
                "btc": "-0.01000000",
                "order_id": "9100000000000000001",
                "type": 2,
                "id": 600000001,
            },
        ]
    )
    fills, rows = parser.rest_fills(body)
    assert rows == 3 and len(fills) == 2
    buy, sell = fills
    assert (buy.trade_id, buy.order_id, buy.market, buy.side) == (
        "209895701",
        "1429545880227846",
        "ETH/USDT",
        Side.BUY,
    )
    assert (buy.price, buy.amount, buy.fee, buy.fee_asset) == (D("4451.25"), D("0.005"), D("0.11128"), "USDT")
    assert buy.time_ms == 1637845199322 and not buy.late
    assert (sell.side, sell.amount, sell.price, sell.order_id) == (
        Side.SELL,
        D("0.01"),
        D("30000"),
        "9100000000000000001",
    )
    assert sell.time_ms == 1700000000000


def test_rest_trade_row_without_a_market_member_is_malformed():
    row = {"fee": "0", "datetime": "2021-11-25 12:59:59", "usdt": "-1", "order_id": 1, "type": "2", "id": 2}
    with pytest.raises(MalformedFrame, match="user transactions"):
        parser.rest_fills(json.dumps([row]))


def test_rest_token_and_trading_pairs():
    token = '{"valid_sec":60,"token":"siPaT4m6VGQCdsDCVbLBemiphHQs552e","user_id":4848701}'  # ccxt's
    assert parser.rest_token(token) == ("siPaT4m6VGQCdsDCVbLBemiphHQs552e", "4848701", 60)
    for bad in (
        '{"token":"","user_id":1}',
        '{"user_id":1}',
        "[]",
        '{"token":"t","user_id":true}',
        '{"token":"t","user_id":1,"valid_sec":-1}',
    ):
        with pytest.raises(MalformedFrame):
            parser.rest_token(bad)
    pairs = [
        {  # ccxt's trading-pairs-info example
            "trading": "Enabled",
            "base_decimals": 8,
            "url_symbol": "btcusd",
            "name": "BTC/USD",
            "instant_and_market_orders": "Enabled",
            "minimum_order": "20.0 USD",
            "counter_decimals": 2,
            "description": "Bitcoin / U.S. dollar",
        },
        {"name": "ETH/EUR", "market_symbol": "etheur", "market_type": "SPOT"},  # the /markets/ shape
        {"name": "BTC/USD-PERP", "market_symbol": "btcusd-perp", "market_type": "PERPETUAL"},
    ]
    assert parser.rest_trading_pairs(json.dumps(pairs)) == {"btcusd": "BTC/USD", "etheur": "ETH/EUR"}


def test_rest_errors_in_bitstamps_words():
    assert parser.rest_error('{"status": "error", "reason": "Invalid nonce", "code": "API0004"}') == (
        "API0004",
        "Invalid nonce",
    )
    minimum = '{"status": "error", "reason": {"__all__": ["Minimum order size is 5.0 EUR."]}}'
    assert parser.rest_error(minimum) == (None, "Minimum order size is 5.0 EUR.")
    maintenance = '{"error": "Bitstamp.net is under scheduled maintenance. We\'ll be back soon."}'
    assert parser.rest_error(maintenance) == (
        None,
        "Bitstamp.net is under scheduled maintenance. We'll be back soon.",
    )
    assert parser.rest_error("[]") is None and parser.rest_error("<html>") is None
    assert parser.rest_error('{"token": "x"}') is None


def test_times():
    assert parser.utc_ms("1970-01-01 00:00:01") == 1000
    assert parser.utc_ms("2021-11-25 12:59:59.322000") == 1637845199322
    with pytest.raises(ValueError):
        parser.utc_ms(5)


# ---- the typed fast path for order frames ---------------------------------------------------------

_ORDER_DATA = CCXT_ORDER_CREATED["data"]
_field_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.decimals(allow_nan=False, allow_infinity=False, places=8).map(str),
    st.sampled_from(["", "0", "1", "2", "buy", "sell", "1e999999", "-0", "junk", "1789459694223000"]),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
_order_fields = st.sampled_from(
    [
        "id",
        "id_str",
        "order_type",
        "order_subtype",
        "datetime",
        "microtimestamp",
        "amount_str",
        "amount_traded",
        "amount_at_create",
        "price_str",
        "stop_price",
    ]
)


def _general(frame):
    """What the general (dict) path makes of an order frame: its events, or "malformed"."""
    msg = json.loads(frame, parse_float=Decimal)
    try:
        return [parse._order(msg, msg["event"]), POLL_BALANCES]
    except BAD_FIELDS:
        return "malformed"


def _fast(frame):
    try:
        return parse._fast_order(frame)
    except MalformedFrame:
        return "malformed"


def test_order_frames_of_the_usual_shape_take_the_fast_path():
    for frame in (DOC_ORDER_CREATED, json.dumps(CCXT_ORDER_CREATED), json.dumps(CCXT_DELETED_AFTER_FILL)):
        fast = parse._fast_order(frame)
        assert fast is not None and fast == _general(frame) == parse(frame)
    assert parse._fast_order(json.dumps(CCXT_TRADE)) is None  # not an order frame
    assert (
        parse._fast_order(with_data(CCXT_ORDER_CREATED, amount_str=0.005)) is None
    )  # a number: general path


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(_order_fields, _field_values, max_size=4),
    st.sets(_order_fields, max_size=2),
    st.sampled_from([*sorted(parser._ORDER_EVENTS), "trade", "order_unknown"]),
    st.sampled_from(
        ["private-my_orders_ethusdt-4416057", "private-my_orders_nope-1", "private-my_trades_ethusdt-1"]
    ),
)
def test_the_fast_order_path_agrees_with_the_general_path(changes, dropped, event, channel_name):
    """Any order frame the typed path takes gives exactly what the general path gives (or both refuse
    it); any frame it does not take is the general path's, and parse() always agrees with the latter."""
    data = {k: v for k, v in {**_ORDER_DATA, **changes}.items() if k not in dropped}
    frame = json.dumps({"event": event, "channel": channel_name, "data": data})
    general = _general(frame) if event in parser._ORDER_EVENTS else None
    fast = _fast(frame)
    if fast is not None:
        assert fast == general
    if general is not None:
        try:
            assert parse(frame) == general
        except MalformedFrame:
            assert general == "malformed"


def test_the_typed_path_reads_each_orders_side_kind_and_time_once_and_remembers_a_bounded_number():
    fresh = StreamParser(NAMES)
    first = fresh(with_data(CCXT_ORDER_CREATED, datetime="1700000000"))[0].orders[0]
    again = fresh(with_data(CCXT_ORDER_CREATED, datetime="1700000000", amount_str="0.004"))[0].orders[0]
    assert (again.side, again.kind, again.created_ms) == (first.side, first.kind, 1_700_000_000_000)
    sold = fresh(with_data(CCXT_ORDER_CREATED, datetime="1700000000", order_type=1))[0].orders[0]
    assert sold.side is Side.SELL  # another shape: not the remembered one
    for i in range(2_500):
        fresh(with_data(CCXT_ORDER_CREATED, datetime=str(1_700_000_000 + i)))
    assert 0 < len(fresh._shapes) <= parser._SHAPES_KEPT
