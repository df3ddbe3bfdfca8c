"""CoinW's parser on the example frames of the seed page and CoinW.Net's transcripts (quoted in
../shared/protocols/coinw.md), and on the ways real frames differ from them: `data` as an object or an
array, numbers as strings or bare, ids above 2**53, missing fields."""

import json
from decimal import Decimal

import pytest

from streams.events import (
    BalancesEvent,
    Heartbeat,
    MalformedFrame,
    OrdersEvent,
    Refresh,
    ServerError,
    UnknownEvent,
)
from streams.exchanges.coinw import parser
from streams.model import Balance, Order, OrderStatus, Side

D = Decimal

ASSETS_DOC = """{"biz":"exchange","type":"assets","data":{"available":"12.59490035","currency":"USDT",
 "time":1743773396836,"type":"change","ledger_id":1125899934698144651,"account":"spot","hold":"0"}}"""

ORDER_DOC = """{"biz":"exchange","type":"order","data":{"side":"BUY","fee":"0","dealFunds":"0","type":"RECEIVED",
 "client_id":"you*******","remaining_size":"0.0001","size":"0.0001","price":"82000",
 "product_id":"BTC_USDT","time":1743244437255,"order_id":4624530513294751114,"order_type":"LIMIT"}}"""

OPEN_ORDERS_DOC = """{"code": "200",
 "data": [{"orderNumber": 4624541508540145096, "date": 1743669325942, "startingAmount": "8.20",
   "total": "0.0001", "type": "buy", "prize": "82000.00", "success_count": "0.0000",
   "success_amount": "0.00", "status": 1}],
 "msg": "SUCCESS", "success": true, "failed": false}"""

ORDER_DETAILS_DOC = """{"code": "200",
 "data": {"tradeID": 4624385377802383167, "currencyPair": "BTC_USDT", "type": "buy", "amount": "0.00",
  "success_amount": "98.91", "total": "0.0000", "success_total": "0.0012", "fee": "0.00",
  "date": "2025-03-12 17:37:31", "status": 3},
 "msg": "SUCCESS", "success": true, "failed": false}"""

USER_TRADES_DOC = """{"code": "200",
 "data": {"list": [{"orderType": "LIMIT", "orderId": 4624385377802383167, "fee": "0E-18",
    "price": "82429.080000000000000000", "size": "0.001200000000000000", "side": "BUY",
    "time": 1741772251663, "tradeId": 127204554}]},
 "msg": "SUCCESS", "success": true, "failed": false}"""


def frame(doc: str, **data) -> str:
    msg = json.loads(doc)
    msg["data"].update(data)
    return json.dumps(msg)


# ---- stream: assets ----------------------------------------------------------------------------


def test_assets_doc_frame_is_a_balance_and_a_refresh_of_its_markets():
    balances, refresh = parser.parse(ASSETS_DOC)
    assert balances == BalancesEvent(
        (Balance("USDT", D("12.59490035"), D("12.59490035"), D("0")),), 1743773396836
    )
    assert refresh == Refresh(assets=frozenset({"USDT"}), time_ms=1743773396836)


def test_assets_data_as_array_with_the_tables_types():
    """The seed's table: `data` an Array, `available` a Long, `time` and `ledger_id` Strings."""
    items = [
        {"available": 3, "currency": "btc", "time": "1743773396836", "hold": "0.5", "ledger_id": "1"},
        {"available": "0.25", "currency": "ETH", "time": 1743773396900, "ledger_id": 1125899934698144652},
    ]
    balances, refresh = parser.parse(json.dumps({"biz": "exchange", "type": "assets", "data": items}))
    assert balances.balances == (
        Balance("BTC", D("3.5"), D("3"), D("0.5")),
        Balance("ETH", D("0.25"), D("0.25"), D("0")),  # no `hold`: nothing frozen
    )
    assert balances.time_ms == 1743773396900 and not balances.complete
    assert refresh.assets == frozenset({"BTC", "ETH"})


def test_assets_total_has_no_spurious_trailing_zeros():
    [balance] = parser.parse(frame(ASSETS_DOC, available="467501.9225", hold="32498.0775"))[0].balances
    assert str(balance.total) == "500000" and balance.total == D("500000")


@pytest.mark.parametrize(
    "bad",
    [
        {"available": None},
        {"available": True},
        {"available": "NaN"},
        {"available": "abc"},
        {"currency": None},
    ],
)
def test_bad_assets_fields_are_malformed(bad):
    data = json.loads(ASSETS_DOC)["data"]
    data.update(bad)
    if bad.get("currency", "x") is None:
        del data["currency"]
    with pytest.raises(MalformedFrame):
        parser.parse(json.dumps({"biz": "exchange", "type": "assets", "data": data}))


# ---- stream: orders ----------------------------------------------------------------------------


def test_order_doc_frame_keeps_the_huge_id_exact_and_asks_for_its_trades():
    orders, refresh = parser.parse(ORDER_DOC)
    assert orders == OrdersEvent(
        (
            Order(
                "4624530513294751114",
                "BTC/USDT",
                Side.BUY,
                "limit",
                D("82000"),
                D("0.0001"),
                D("0"),
                OrderStatus.OPEN,
                1743244437255,
                1743244437255,
            ),
        ),
        1743244437255,
    )
    assert refresh == Refresh(orders=frozenset({("4624530513294751114", "BTC/USDT")}), time_ms=1743244437255)


def test_order_filled_is_size_minus_remaining():
    [order] = parser.parse(frame(ORDER_DOC, size="2", remaining_size="0.5"))[0].orders
    assert order.filled == D("1.5") and order.status is OrderStatus.PARTIALLY_FILLED


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        ("FILLED", OrderStatus.FILLED),
        ("Filled", OrderStatus.FILLED),
        ("CANCELLED", OrderStatus.CANCELLED),
        ("Cancelled", OrderStatus.CANCELLED),
        ("REJECTED", OrderStatus.REJECTED),
    ],
)
def test_done_reasons_close_the_order(reason, status):
    [order] = parser.parse(frame(ORDER_DOC, type="DONE", reason=reason, remaining_size="0"))[0].orders
    assert order.status is status


def test_done_without_a_known_reason_is_judged_by_what_remains():
    [filled] = parser.parse(frame(ORDER_DOC, type="DONE", reason="", remaining_size="0"))[0].orders
    [cancelled] = parser.parse(frame(ORDER_DOC, type="DONE", remaining_size="0.00005"))[0].orders
    assert filled.status is OrderStatus.FILLED and cancelled.status is OrderStatus.CANCELLED


def test_market_order_without_side_only_asks_rest():
    """Market orders come with `side: ""`: no order can be built, REST supplies it."""
    [refresh] = parser.parse(frame(ORDER_DOC, side="", order_type="MARKET"))
    assert refresh.orders == frozenset({("4624530513294751114", "BTC/USDT")})


def test_unknown_order_type_and_event_are_tolerated():
    [order] = parser.parse(frame(ORDER_DOC, order_type="TRAILING", type="UPDATE"))[0].orders
    assert order.kind == "other" and order.status is OrderStatus.OPEN
    data = json.loads(ORDER_DOC)["data"]
    data["order_id"] = "17"  # an id as a string is fine too
    del data["price"]  # and a missing price is 0 (market orders)
    [order] = parser.parse(json.dumps({"biz": "exchange", "type": "order", "data": data}))[0].orders
    assert order.order_id == "17" and order.price == 0


@pytest.mark.parametrize("missing", ["order_id", "product_id", "size"])
def test_order_without_a_required_field_is_malformed(missing):
    data = json.loads(ORDER_DOC)["data"]
    del data[missing]
    with pytest.raises(MalformedFrame, match="order"):
        parser.parse(json.dumps({"biz": "exchange", "type": "order", "data": data}))


# ---- stream: control frames --------------------------------------------------------------------


def test_acks_and_pong_are_heartbeats():
    for text in (
        '{"data":{"result":true},"channel":"login"}',
        '{"biz":"exchange","data":{"result":true},"channel":"subscribe","type":"assets"}',
        '{"event":"pong"}',
    ):
        assert parser.parse(text) == [Heartbeat()]


def test_refused_login_is_an_auth_error_with_coinws_text():
    text = '{"data":{"result":false,"errorCode":1003,"errorMsg":"bad key"},"channel":"login"}'
    assert parser.parse(text) == [ServerError("bad key (errorCode 1003)", auth=True)]


def test_error_frame_without_channel_is_a_protocol_error():
    assert parser.parse('{"errorCode":1001,"errorMsg":"Rate Limit"}') == [
        ServerError("Rate Limit (errorCode 1001)")
    ]


def test_unknown_kinds_are_unknown_events():
    assert parser.parse('{"biz":"exchange","type":"trades","data":{}}') == [UnknownEvent("trades")]
    assert parser.parse('{"event":"notice"}') == [UnknownEvent("notice")]
    assert parser.parse('{"channel":"broadcast","data":{}}') == [UnknownEvent("broadcast")]


@pytest.mark.parametrize(
    "text", ['{"biz":"exchange","type":"assets","data":', "[1,2]", '"pong"', '{"biz":"exchange"}', "{}"]
)
def test_not_a_frame_is_malformed(text):
    with pytest.raises(MalformedFrame):
        parser.parse(text)


def test_data_that_is_no_object_is_malformed():
    with pytest.raises(MalformedFrame):
        parser.parse('{"biz":"exchange","type":"assets","data":[1]}')


# ---- REST --------------------------------------------------------------------------------------


def test_envelope_success_and_refusals():
    assert parser.envelope('{"code":"200","data":[],"msg":"SUCCESS","success":true}', "x") == []
    assert parser.envelope('{"code":200,"data":{}}', "x") == {}  # a bare number is accepted too
    with pytest.raises(parser.RestError) as refused:
        parser.envelope('{"code":"29001","msg":"API access frequently","success":false,"failed":true}', "x")
    assert (refused.value.code, refused.value.text) == ("29001", "API access frequently")
    for body in ('{"data":[]}', '{"code":"200","msg":"SUCCESS"}', "<html>"):
        with pytest.raises(MalformedFrame):
            parser.envelope(body, "x")


def test_complete_balances():
    data = {"usdt": {"available": "10.5", "onOrders": "2.5"}, "BTC": {"available": "0", "onOrders": "0"}}
    event = parser.rest_balances(data, 5)
    assert event.complete and event.time_ms == 5
    assert event.balances == (Balance("USDT", D("13"), D("10.5"), D("2.5")), Balance("BTC", D(0), D(0), D(0)))
    with pytest.raises(MalformedFrame):
        parser.rest_balances({"BTC": {"onOrders": "1"}}, 5)


def test_open_orders_transcript():
    data = parser.envelope(OPEN_ORDERS_DOC, "returnOpenOrders")
    [order] = parser.rest_open_orders(data, "BTC/USDT")
    assert order == Order(
        "4624541508540145096",
        "BTC/USDT",
        Side.BUY,
        "limit",
        D("82000.00"),
        D("0.0001"),
        D("0.0000"),
        OrderStatus.OPEN,
        1743669325942,
        1743669325942,
    )
    data[0]["success_count"], data[0]["status"] = "0.00004", 2
    assert parser.rest_open_orders(data, "BTC/USDT")[0].status is OrderStatus.PARTIALLY_FILLED


def test_order_details_transcript_is_an_order_not_trades():
    data = parser.envelope(ORDER_DETAILS_DOC, "returnOrderTrades")
    order = parser.rest_order_detail(data, None)
    assert order.order_id == "4624385377802383167"  # `tradeID` is the order id
    assert (order.market, order.side, order.status) == ("BTC/USDT", Side.BUY, OrderStatus.FILLED)
    assert order.filled == order.amount == D("0.0012")
    assert order.price == D("98.91") / D("0.0012")
    assert order.updated_ms == 1741772251000  # 2025-03-12 17:37:31 at UTC+8


def test_order_details_update_a_known_order_and_keep_its_price():
    known = parser.rest_open_orders(parser.envelope(OPEN_ORDERS_DOC, "x"), "BTC/USDT")[0]
    data = {**parser.envelope(ORDER_DETAILS_DOC, "x"), "status": 4, "success_total": "0.00004"}
    order = parser.rest_order_detail(data, known)
    assert order.price == known.price and order.amount == known.amount
    assert (order.filled, order.status) == (D("0.00004"), OrderStatus.CANCELLED)


def test_user_trades_transcript():
    data = parser.envelope(USER_TRADES_DOC, "getUserTrades")
    [fill] = parser.rest_user_trades(data, "BTC/USDT")
    assert fill.trade_id == "127204554" and fill.order_id == "4624385377802383167"
    assert (fill.price, fill.amount, fill.fee) == (D("82429.08"), D("0.0012"), D(0))
    assert (str(fill.price), str(fill.amount), str(fill.fee)) == ("82429.08", "0.0012", "0")
    assert fill.side is Side.BUY and fill.fee_asset == "BTC" and fill.time_ms == 1741772251663
    data["list"][0]["side"] = "SELL"
    assert parser.rest_user_trades(data, "BTC/USDT")[0].fee_asset == "USDT"  # what a sell receives


def test_user_trades_without_side_take_the_orders():
    data = parser.envelope(USER_TRADES_DOC, "getUserTrades")
    data["list"][0]["side"] = ""
    assert parser.trades_without_side(data) == {"4624385377802383167"}
    with pytest.raises(MalformedFrame):
        parser.rest_user_trades(data, "BTC/USDT")
    [fill] = parser.rest_user_trades(data, "BTC/USDT", {"4624385377802383167": Side.SELL})
    assert fill.side is Side.SELL


def test_symbols_and_pairs():
    assert parser.rest_symbols([{"currencyPair": "BTC_USDT"}, {"currencyPair": "eth_btc"}]) == [
        "BTC/USDT",
        "ETH/BTC",
    ]
    assert parser.market_pair("SOL/USDT") == "SOL_USDT"
    with pytest.raises(MalformedFrame):
        parser.rest_symbols([{"currencyPair": "BTCUSDT"}])


def test_rest_time_forms():
    assert parser.rest_time(1743669325942) == parser.rest_time("1743669325942") == 1743669325942
    assert parser.rest_time("2025-03-12 17:37:31") == 1741772251000
