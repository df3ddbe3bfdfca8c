"""The Coins.ph parser on the docs' and the seed's example frames, fields missing or of another type,
huge ids, and the REST bodies."""

import json
from decimal import Decimal

import pytest

from streams.events import (
    BalancesEvent,
    FillEvent,
    Heartbeat,
    MalformedFrame,
    OrdersEvent,
    ReconnectRequested,
    Refresh,
    ServerError,
    UnknownEvent,
)
from streams.exchanges.coinsph import parser
from streams.model import Balance, OrderStatus, Side

D = Decimal
SYMBOLS = parser.Symbols([("ETHBTC", "ETH", "BTC"), ("BTCPHP", "BTC", "PHP"), ("USDTPHP", "USDT", "PHP")])

DOCS_POSITION = """{"e":"outboundAccountPosition","E":1564034571105,"u":1564034571073,
 "B":[{"a":"ETH","f":"10000.000000","l":"0.000000"}]}"""
SEED_ACCOUNT_INFO = """{"e": "outboundAccountInfo", "E": 1499405658849, "T": true, "W": true, "D": true,
 "B": [{"a": "LTC", "f": "17366.18538083", "l": "0.00000000"}]}"""
DOCS_BALANCE_UPDATE = """{"e":"balanceUpdate","E":1573200697110,"a":"ETH","d":"100.00000000",
 "T":1573200697068,"BS":"CHAIN_DEPOSIT","em":"test@coins.ph","BI":"123456789"}"""
# The docs' executionReport example as printed: no comma after "Z" (not valid JSON).
DOCS_EXECUTION_AS_PRINTED = """{"e":"executionReport","E":1499405658658,"s":"ETHBTC","c":"1000087761",
 "S":"BUY","o":"LIMIT","f":"GTC","q":"1.00000000","p":"0.10264410","P":"0.00000000","x":"NEW","X":"NEW",
 "r":"NONE","i":1241518645726809840,"l":"0.00000000","z":"0.00000000","L":"0.00000000","n":"0","N":null,
 "T":-1,"t":-1,"w":true,"m":false,"O":1499405658657,"Z":"0.00000000" "Y":"0.00000000","Q":"0.00000000"}"""
DOCS_EXECUTION = DOCS_EXECUTION_AS_PRINTED.replace('"0.00000000" "Y"', '"0.00000000","Y"')
SEED_EXECUTION = """{"e": "executionReport", "E": 1499405658658, "s": "ETHBTC", "c": 1000087761,
 "S": "BUY", "o": "LIMIT", "f": "GTC", "q": "1.00000000", "p": "0.10264410", "X": "NEW", "i": 4293153,
 "l": "0.00000000", "z": "0.00000000", "L": "0.00000000", "n": "0", "N": null, "u": true, "w": true,
 "m": false, "O": 1499405658657, "Z": "0.00000000"}"""


def report(**changes) -> str:
    msg = json.loads(DOCS_EXECUTION)
    for key, value in changes.items():
        if value is None and key not in ("N",):
            msg.pop(key, None)
        else:
            msg[key] = value
    return json.dumps(msg)


def trade(**changes) -> str:
    fields = {
        "E": 1499405660000, "x": "TRADE", "X": "PARTIALLY_FILLED", "l": "0.40000000", "z": "0.40000000",
        "L": "0.10264410", "n": "0.00040000", "N": "ETH", "T": 1499405659999, "t": 28457, "Z": "0.04105764",
        "Y": "0.04105764", "m": True,
    }  # fmt: skip
    return report(**{**fields, **changes})


def only(events, kind):
    found = [e for e in events if isinstance(e, kind)]
    assert len(found) == 1, events
    return found[0]


# ---- balances ------------------------------------------------------------------------------------


def test_docs_position_event():
    [event] = parser.parse(DOCS_POSITION, SYMBOLS)
    assert event == BalancesEvent((Balance("ETH", D("10000"), D("10000"), D("0")),), 1564034571105)
    assert not event.complete
    assert isinstance(event.balances[0].total, Decimal)


def test_seed_account_info_is_the_same_handler():
    [event] = parser.parse(SEED_ACCOUNT_INFO, SYMBOLS)
    assert event == BalancesEvent(
        (Balance("LTC", D("17366.18538083"), D("17366.18538083"), D(0)),), 1499405658849
    )


def test_position_total_is_free_plus_locked_and_several_assets():
    frame = '{"e":"outboundAccountPosition","E":5,"B":[{"a":"btc","f":"0.1","l":"0.2"},{"a":"PHP","f":7,"l":"0"}]}'
    [event] = parser.parse(frame, SYMBOLS)
    assert event.balances == (Balance("BTC", D("0.3"), D("0.1"), D("0.2")), Balance("PHP", D(7), D(7), D(0)))


@pytest.mark.parametrize(
    "frame",
    [
        '{"e":"outboundAccountPosition","E":5}',
        '{"e":"outboundAccountPosition","E":5,"B":{"a":"BTC"}}',
        '{"e":"outboundAccountPosition","E":5,"B":[{"a":"BTC","f":"1"}]}',
        '{"e":"outboundAccountPosition","E":5,"B":[{"a":"BTC","f":true,"l":"0"}]}',
        '{"e":"outboundAccountPosition","E":5,"B":[{"a":7,"f":"1","l":"0"}]}',
        '{"e":"outboundAccountPosition","E":5,"B":[{"a":"BTC","f":"NaN","l":"0"}]}',
        '{"e":"outboundAccountPosition","E":"soon","B":[]}',
        '{"e":"outboundAccountPosition","B":[]}',
        '{"e":"outboundAccountPosition","E":true,"B":[]}',
    ],
)
def test_bad_position_events_are_malformed(frame):
    with pytest.raises(MalformedFrame):
        parser.parse(frame, SYMBOLS)


def test_balance_update_asks_rest_for_exact_balances():
    [event] = parser.parse(DOCS_BALANCE_UPDATE, SYMBOLS)
    assert event == Refresh(balances=True, time_ms=1573200697110)
    with pytest.raises(MalformedFrame):
        parser.parse('{"e":"balanceUpdate","E":1,"a":"ETH"}', SYMBOLS)


# ---- orders and fills ----------------------------------------------------------------------------


def test_docs_execution_report_as_printed_is_not_json():
    with pytest.raises(MalformedFrame, match="not JSON"):
        parser.parse(DOCS_EXECUTION_AS_PRINTED, SYMBOLS)


def test_docs_execution_report_new_order_keeps_the_huge_id_exact():
    [event] = parser.parse(DOCS_EXECUTION, SYMBOLS)
    assert isinstance(event, OrdersEvent) and event.time_ms == 1499405658658
    [order] = event.orders
    assert order.order_id == "1241518645726809840"  # > 2**53, not rounded through float
    assert (order.market, order.side, order.kind, order.status) == (
        "ETH/BTC",
        Side.BUY,
        "limit",
        OrderStatus.OPEN,
    )
    assert (order.price, order.amount, order.filled) == (D("0.10264410"), D(1), D(0))
    assert (order.created_ms, order.updated_ms) == (1499405658657, 1499405658658)


def test_trade_is_a_fill_with_id_order_and_trade():
    events = parser.parse(trade(), SYMBOLS)
    order = only(events, OrdersEvent).orders[0]
    fill = only(events, FillEvent)
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.filled == D("0.4")
    assert fill.time_ms == 1499405660000
    f = fill.fill
    assert f.trade_id == "1241518645726809840:28457" and f.order_id == "1241518645726809840"
    assert (f.market, f.side, f.price, f.amount) == ("ETH/BTC", Side.BUY, D("0.10264410"), D("0.4"))
    assert (f.fee, f.fee_asset, f.time_ms, f.late) == (D("0.0004"), "ETH", 1499405659999, False)


def test_execution_type_decides_not_the_status():
    """x=NEW with X=PARTIALLY_FILLED is not a fill (x is what happened, X the state after it)."""
    events = parser.parse(report(x="NEW", X="PARTIALLY_FILLED", z="0.5", l="0"), SYMBOLS)
    assert [type(e) for e in events] == [OrdersEvent]
    events = parser.parse(trade(X="FILLED", z="1.00000000", l="0.6"), SYMBOLS)
    assert only(events, OrdersEvent).orders[0].status is OrderStatus.FILLED
    assert only(events, FillEvent).fill.amount == D("0.6")


@pytest.mark.parametrize(
    ("wire", "status"),
    [
        ("NEW", OrderStatus.OPEN),
        ("PARTIALLY_FILLED", OrderStatus.PARTIALLY_FILLED),
        ("FILLED", OrderStatus.FILLED),
        ("CANCELED", OrderStatus.CANCELLED),
        ("PARTIALLY_CANCELED", OrderStatus.CANCELLED),
        ("PARTIALLY_CANCEL", OrderStatus.CANCELLED),
        ("EXPIRED", OrderStatus.CANCELLED),
        ("REJECTED", OrderStatus.REJECTED),
        ("SOMETHING_NEW", OrderStatus.OPEN),  # unknown: kept open until the next snapshot says otherwise
    ],
)
def test_order_statuses(wire, status):
    [event] = parser.parse(
        report(x="CANCELED" if status is OrderStatus.CANCELLED else "NEW", X=wire), SYMBOLS
    )
    assert event.orders[0].status is status


def test_seed_execution_report_without_x_and_t():
    [event] = parser.parse(SEED_EXECUTION, SYMBOLS)
    assert event.orders[0].order_id == "4293153" and event.orders[0].status is OrderStatus.OPEN
    # A fill in the seed's shape (no x, no t): inferred from l > 0; its id comes from REST.
    msg = json.loads(SEED_EXECUTION)
    msg.update({"X": "PARTIALLY_FILLED", "l": "0.3", "z": "0.3", "L": "0.1", "n": "0.0003", "N": "ETH"})
    events = parser.parse(json.dumps(msg), SYMBOLS)
    assert only(events, Refresh) == Refresh(orders=frozenset({("4293153", "ETH/BTC")}), time_ms=1499405658658)
    assert only(events, OrdersEvent).orders[0].filled == D("0.3")
    assert not [e for e in events if isinstance(e, FillEvent)]


def test_seed_report_with_a_trade_id_but_no_x_is_a_fill_when_l_is_positive():
    msg = json.loads(SEED_EXECUTION)
    msg.update({"X": "FILLED", "l": "1", "z": "1", "L": "0.1", "t": 77, "T": 1499405658700, "N": "ETH"})
    fill = only(parser.parse(json.dumps(msg), SYMBOLS), FillEvent).fill
    assert fill.trade_id == "4293153:77" and fill.amount == D(1) and fill.time_ms == 1499405658700


def test_no_x_no_l_but_filled_status_is_a_suspected_fill():
    msg = json.loads(SEED_EXECUTION)
    msg.update({"X": "FILLED", "z": "1"})
    del msg["l"]
    assert only(parser.parse(json.dumps(msg), SYMBOLS), Refresh).orders == frozenset({("4293153", "ETH/BTC")})


def test_trade_without_trade_id_asks_rest():
    events = parser.parse(trade(t=-1), SYMBOLS)
    assert only(events, Refresh).orders == frozenset({("1241518645726809840", "ETH/BTC")})
    assert not [e for e in events if isinstance(e, FillEvent)]


def test_missing_optional_fields_and_type_drift():
    frame = report(
        c=1000087761, o=None, f=None, P=None, r=None, O=None, Z=None, Y=None, Q=None, w=None, m=None,
        i="1241518645726809840", E="1499405658658", q=1, p="0.1",
    )  # fmt: skip
    [event] = parser.parse(frame, SYMBOLS)
    order = event.orders[0]
    assert order.order_id == "1241518645726809840" and order.kind == "" and order.amount == D(1)
    assert order.created_ms == order.updated_ms == 1499405658658


def test_padding_zeros_are_dropped_exactly():
    frame = json.dumps(
        {"e": "outboundAccountPosition", "E": 5, "B": [
            {"a": "BTC", "f": "3400.00000000", "l": "0.00000000"},
            {"a": "PHP", "f": "12345678901234567890.123456789000", "l": "-0.000"},
            {"a": "ETH", "f": "100", "l": "1.50"},
        ]}
    )  # fmt: skip
    btc, php, eth = parser.parse(frame, SYMBOLS)[0].balances
    assert [str(b.available) for b in (btc, php, eth)] == ["3400", "12345678901234567890.123456789", "100"]
    assert [str(b.locked) for b in (btc, php, eth)] == ["0", "0", "1.5"]


def test_json_numbers_are_exact_decimals_never_floats():
    frame = '{"e":"outboundAccountPosition","E":5,"B":[{"a":"BTC","f":0.1,"l":1e-8}]}'
    [event] = parser.parse(frame, SYMBOLS)
    assert event.balances[0] == Balance("BTC", D("0.10000001"), D("0.1"), D("1E-8"))


def test_trade_time_missing_uses_event_time_and_null_fee_asset():
    fill = only(parser.parse(trade(T=None, N=None, n=None), SYMBOLS), FillEvent).fill
    assert fill.time_ms == 1499405660000 and fill.fee == 0 and fill.fee_asset == ""


@pytest.mark.parametrize(
    "changes",
    [
        {"i": None},
        {"s": None},
        {"S": "HOLD"},
        {"X": None},
        {"E": None},
        {"q": [1]},
        {"z": "lots"},
        {"i": True},
        {"s": "XYZ"},  # no known quote asset ends it
    ],
)
def test_bad_execution_reports_are_malformed(changes):
    with pytest.raises(MalformedFrame):
        parser.parse(report(**changes), SYMBOLS)


def test_a_trade_missing_its_price_is_malformed():
    with pytest.raises(MalformedFrame):
        parser.parse(trade(L=None), SYMBOLS)


def test_symbol_not_in_exchange_info_is_split_at_a_known_quote_and_remembered():
    symbols = parser.Symbols([("BTCPHP", "BTC", "PHP")])
    [event] = parser.parse(report(s="DOGEPHP"), symbols)
    assert event.orders[0].market == "DOGE/PHP" and symbols.unknown == {"DOGEPHP"}
    assert symbols.symbol("BTC/PHP") == "BTCPHP" and symbols.symbol("DOGE/PHP") == "DOGEPHP"


# ---- control frames ------------------------------------------------------------------------------


def test_listen_key_expired_asks_for_a_reconnect():
    frame = '{"e":"listenKeyExpired","E":1576653824250,"listenKey":"abc"}'
    assert parser.parse(frame, SYMBOLS) == [ReconnectRequested(1576653824250)]


def test_pong_ping_and_subscribe_ack_are_heartbeats():
    for frame in ('{"pong":1700000000000}', '{"ping":1}', '{"result":null,"id":1}'):
        assert parser.parse(frame, SYMBOLS) == [Heartbeat()]


def test_error_frames():
    assert parser.parse('{"code":-1125,"msg":"This listenKey does not exist"}', SYMBOLS) == [
        ReconnectRequested()
    ]
    [error] = parser.parse('{"code":3,"msg":"Invalid JSON"}', SYMBOLS)
    assert error == ServerError("Invalid JSON (code 3)") and not error.auth


def test_unknown_event_and_junk():
    assert parser.parse('{"e":"newThing","E":7,"x":1}', SYMBOLS) == [UnknownEvent("newThing", 7)]
    for junk in ('{"event":"ACCOUNT_BALANCE","data":', "[1,2]", '{"hello":1}', '{"e":5}'):
        with pytest.raises(MalformedFrame):
            parser.parse(junk, SYMBOLS)


# ---- REST ----------------------------------------------------------------------------------------


def test_rest_account_is_a_complete_snapshot():
    body = json.dumps(
        {
            "accountType": "SPOT", "canDeposit": True, "canTrade": True, "canWithdraw": True,
            "balances": [{"asset": "PHP", "free": "100", "locked": "0.5"}, {"asset": "APE", "free": "0", "locked": "0"}],
            "token": "PHP", "updateTime": 1707273549694,
        }
    )  # fmt: skip
    event = parser.rest_account(body, 42)
    assert event.complete and event.time_ms == 42
    assert event.balances == (Balance("PHP", D("100.5"), D(100), D("0.5")), Balance("APE", D(0), D(0), D(0)))
    with pytest.raises(MalformedFrame):
        parser.rest_account('{"balances":[{"asset":"PHP","free":"1"}]}', 1)


def test_rest_open_orders():
    body = """[{"symbol":"BTCPHP","orderId":1241518645726809841,"clientOrderId":"x","price":"3000000.00000000",
    "origQty":"0.01","executedQty":"0.004","cummulativeQuoteQty":"12000","status":"PARTIALLY_FILLED",
    "timeInForce":"GTC","type":"LIMIT","side":"SELL","stopPrice":"0","time":1700000000000,
    "updateTime":1700000001000,"isWorking":true,"origQuoteOrderQty":"0"}]"""
    event = parser.rest_open_orders(body, SYMBOLS, 9)
    assert event.complete and event.time_ms == 9
    [order] = event.orders
    assert order.order_id == "1241518645726809841" and order.market == "BTC/PHP" and order.side is Side.SELL
    assert (order.filled, order.status) == (D("0.004"), OrderStatus.PARTIALLY_FILLED)
    assert (order.created_ms, order.updated_ms) == (1700000000000, 1700000001000)
    assert parser.rest_open_orders("[]", SYMBOLS, 1).orders == ()
    with pytest.raises(MalformedFrame):
        parser.rest_open_orders('{"code":-1000}', SYMBOLS, 1)


def test_rest_trades_use_the_stream_fill_ids():
    body = """[{"symbol":"BTCPHP","id":28457,"orderId":1241518645726809841,"price":"3000000","qty":"0.004",
    "quoteQty":"12000","commission":"12","commissionAsset":"PHP","time":1700000000500,"isBuyer":false,
    "isMaker":true,"isBestMatch":true}]"""
    [fill] = parser.rest_trades(body, SYMBOLS)
    assert fill.trade_id == "1241518645726809841:28457" and parser.trade_number(fill) == 28457
    assert (fill.side, fill.amount, fill.fee, fill.fee_asset) == (Side.SELL, D("0.004"), D(12), "PHP")
    with pytest.raises(MalformedFrame):
        parser.rest_trades(body.replace("false", '"no"'), SYMBOLS)


def test_rest_small_bodies():
    assert parser.rest_server_time('{"serverTime": 1538323200000}') == 1538323200000
    key = "1A9LWJjuMwKWYP4QQPw34GRm8gz3x5AephXSuqcDef1RnzoBVhEeGE963CoS1Sgj"
    assert parser.rest_listen_key(json.dumps({"listenKey": key})) == key
    for bad in ("{}", '{"listenKey": ""}', '{"listenKey": "a/b"}', "[]", "nope"):
        with pytest.raises(MalformedFrame):
            parser.rest_listen_key(bad)
    info = '{"timezone":"UTC","symbols":[{"symbol":"BTCPHP","baseAsset":"BTC","quoteAsset":"PHP","status":"TRADING"}]}'
    symbols = parser.rest_symbols(info)
    assert symbols.market("BTCPHP") == "BTC/PHP" and symbols.markets() == {"BTCPHP": "BTC/PHP"}
    assert parser.rest_error('{"code":-1022,"msg":"Signature for this request is not valid."}') == (
        -1022,
        "Signature for this request is not valid.",
    )
    assert parser.rest_error("<html>Bad Gateway</html>") == (None, "<html>Bad Gateway</html>")
