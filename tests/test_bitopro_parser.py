"""BitoPro's parser on the example frames of BitoPro's docs (../shared/protocols/bitopro.md, checked
to be valid JSON), and on the ways real frames differ from them."""

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.events import BalancesEvent, FillEvent, MalformedFrame, OrdersEvent, UnknownEvent
from streams.exchanges.bitopro import parser
from streams.model import Balance, OrderStatus, Side

BALANCE_DOC = """{"event":"ACCOUNT_BALANCE","eventID":"88038887-1de1-4521-b411-93440156cb41","timestamp":1639553303365,
 "datetime":"2021-12-15T07:28:23.365Z",
 "data":{"ADA":{"currency":"ADA","amount":"999999999999.99999999","available":"0","stake":"0","tradable":true}}}"""

ORDERS_DOC = """{"event":"ACTIVE_ORDERS","timestamp":1639552073346,"datetime":"2021-12-15T07:07:53.346Z",
 "data":{"sol_usdt":[{"id":"8917255503","pair":"sol_usdt","price":"107","avgExecutionPrice":"0",
  "action":"SELL","type":"LIMIT","timestamp":1639386803663,"updatedTimestamp":1639386803663,
  "createdTimestamp":1639386803663,"status":0,"originalAmount":"0.02","remainingAmount":"0.02",
  "executedAmount":"0","fee":"0","feeSymbol":"usdt","bitoFee":"0","total":"0",
  "seq":"SOLUSDT3273528249","timeInForce":"GTC"}]}}"""

TRADE_DOC = """{"event":"USER_TRADE","timestamp":1694667358782,"datetime":"2023-09-14T12:55:58.782Z",
 "data":{"base":"usdt","quote":"twd","side":"ask","price":"32.039","volume":"1","fee":"6407800",
  "feeCurrency":"twd","transactionTimestamp":1694667358,"eventTimestamp":1694667358,"orderID":390733918,
  "orderType":"LIMIT","matchID":"bd07673a-94b1-419e-b5ee-d7b723261a5d","isMarket":false,"isMaker":false}}"""


def test_balance_doc_frame():
    [event] = parser.parse(BALANCE_DOC)
    assert isinstance(event, BalancesEvent) and not event.complete
    assert event.time_ms == 1639553303365
    assert event.balances == (
        Balance("ADA", Decimal("999999999999.99999999"), Decimal("0"), Decimal("999999999999.99999999")),
    )


def test_balance_locked_is_total_minus_available_floored_at_zero():
    frame = json.loads(BALANCE_DOC)
    frame["data"]["ADA"].update(amount="1.5", available="2")  # odd, but seen: never a negative lock
    [event] = parser.parse(json.dumps(frame))
    assert event.balances[0].locked == Decimal(0)


def test_orders_doc_frame():
    [event] = parser.parse(ORDERS_DOC)
    assert isinstance(event, OrdersEvent) and not event.complete
    [order] = event.orders
    assert order.order_id == "8917255503"
    assert order.market == "SOL/USDT"
    assert order.side is Side.SELL and order.kind == "limit"
    assert (order.price, order.amount, order.filled) == (Decimal("107"), Decimal("0.02"), Decimal("0"))
    assert order.status is OrderStatus.OPEN
    assert order.created_ms == 1639386803663


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (-1, OrderStatus.OPEN),
        (1, OrderStatus.PARTIALLY_FILLED),
        (2, OrderStatus.FILLED),
        (3, OrderStatus.CANCELLED),
        (4, OrderStatus.CANCELLED),
        (6, OrderStatus.CANCELLED),
        ("2", OrderStatus.FILLED),
    ],
)
def test_order_statuses(raw, status):
    frame = json.loads(ORDERS_DOC)
    frame["data"]["sol_usdt"][0]["status"] = raw
    [event] = parser.parse(json.dumps(frame))
    assert event.orders[0].status is status


def test_trade_doc_frame_times_are_seconds_and_order_id_a_number():
    [event] = parser.parse(TRADE_DOC)
    assert isinstance(event, FillEvent)
    fill = event.fill
    assert fill.trade_id == "bd07673a-94b1-419e-b5ee-d7b723261a5d"
    assert fill.order_id == "390733918"
    assert fill.market == "USDT/TWD" and fill.side is Side.SELL
    assert (fill.price, fill.amount, fill.fee, fill.fee_asset) == (
        Decimal("32.039"),
        Decimal(1),
        Decimal(6407800),
        "TWD",
    )
    assert fill.time_ms == 1694667358000


def test_huge_ids_and_amounts_stay_exact():
    frame = json.loads(TRADE_DOC)
    frame["data"]["orderID"] = 2**63 + 1
    frame["data"]["price"] = "0.000000000000000001"
    [event] = parser.parse(json.dumps(frame))
    assert event.fill.order_id == str(2**63 + 1)
    assert str(event.fill.price) == "1E-18"  # exact; the GUI shows it with fmt() as 0.000000000000000001


def test_float_literals_never_become_floats():
    frame = BALANCE_DOC.replace('"amount":"999999999999.99999999"', '"amount":0.1')
    [event] = parser.parse(frame)
    assert event.balances[0].total == Decimal("0.1") and type(event.balances[0].total) is Decimal


def test_unknown_event_is_reported_not_raised():
    [event] = parser.parse('{"event":"RECENT_HISTORY_ORDERS","timestamp":1,"data":{}}')
    assert event == UnknownEvent("RECENT_HISTORY_ORDERS", 1)


@pytest.mark.parametrize(
    "frame",
    [
        '{"event":"ACCOUNT_BALANCE","data":',  # truncated
        "[1,2]",
        '{"data":{}}',
        '{"event":"ACCOUNT_BALANCE","timestamp":1,"data":{"BTC":{"currency":"BTC","amount":"x","available":"0"}}}',
        '{"event":"ACCOUNT_BALANCE","timestamp":1,"data":{"BTC":{"currency":"BTC","amount":"NaN","available":"0"}}}',
        '{"event":"ACTIVE_ORDERS","timestamp":1,"data":{"a_b":[{"id":"1","pair":"a_b","status":99}]}}',
        '{"event":"USER_TRADE","timestamp":1,"data":{"side":"bid"}}',
        '{"event":"ACCOUNT_BALANCE","timestamp":1,"data":[]}',
        '{"event":"ACCOUNT_BALANCE","timestamp":1,"data":{"BTC":{"currency":"BTC","amount":true,"available":"0"}}}',
        '{"event":"ACCOUNT_BALANCE","timestamp":1,"data":{"BTC":{"currency":"BTC","amount":"1","available":"Infinity"}}}',
        '{"event":"ACCOUNT_BALANCE","timestamp":"soon","data":{}}',
    ],
)
def test_malformed_frames_raise_a_typed_error(frame):
    with pytest.raises(MalformedFrame):
        parser.parse(frame)


def test_rest_snapshot_bodies():
    balances = parser.rest_balances(
        '{"data":[{"currency":"btc","amount":"1.5","available":"1","stake":"0","tradable":true}]}', 42
    )
    assert balances.complete and balances.balances == (
        Balance("BTC", Decimal("1.5"), Decimal(1), Decimal("0.5")),
    )
    orders = parser.rest_open_orders(json.dumps({"data": json.loads(ORDERS_DOC)["data"]["sol_usdt"]}), 42)
    assert orders.complete and orders.orders[0].order_id == "8917255503"
    [fill] = parser.rest_trades(
        '{"data":[{"tradeId":"123","orderId":"9","price":"10","action":"BUY","baseAmount":"2","quoteAmount":"20",'
        '"fee":"0.002","feeSymbol":"btc","isTaker":true,"createdTimestamp":1700000000123}]}',
        "btc_usdt",
    )
    assert (fill.trade_id, fill.market, fill.side, fill.amount, fill.time_ms) == (
        "123",
        "BTC/USDT",
        Side.BUY,
        Decimal(2),
        1700000000123,
    )
    with pytest.raises(MalformedFrame):
        parser.rest_balances('{"error":"Invalid signature"}', 0)


_amounts = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(["1E+3", "-0", "0.000000000000000001", "12345678901234567890.123456789"]),
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6),
        st.tuples(_amounts, _amounts),
        max_size=8,
    ),
    st.integers(min_value=0, max_value=2**62) | st.integers(min_value=0, max_value=2**40).map(str),
)
def test_balance_fast_path_agrees_with_the_general_path(balances, timestamp):
    """Balance frames are decoded by msgspec for speed; what comes out must be exactly what the
    general json path makes of the same frame (amounts as strings or JSON numbers)."""
    data = {c: {"currency": c, "amount": a, "available": v, "stake": "0"} for c, (a, v) in balances.items()}
    frame = json.dumps({"event": "ACCOUNT_BALANCE", "timestamp": timestamp, "data": data})
    try:
        general = parser.balances_from_stream(json.loads(frame, parse_float=Decimal)["data"], int(timestamp))
    except ValueError:  # a negative amount: no balance can be below zero, and both paths refuse it
        with pytest.raises(MalformedFrame, match="negative"):
            parser.parse(frame)
        return
    assert parser.parse(frame) == general
    for balance in general[0].balances:
        assert all(type(x) is Decimal for x in (balance.total, balance.available, balance.locked))


def test_the_fast_path_refuses_what_the_model_refuses():
    """The 50-currency fast path checks the wire bounds inline and leaves the sign to Balance itself."""
    with pytest.raises(ValueError, match="negative total"):
        Balance("BTC", Decimal("-1"), Decimal("0"), Decimal("0"))
    for amount, available in (("-1", "0"), ("1", "-0.5"), ("1e999999", "0")):
        data = f'{{"BTC":{{"currency":"BTC","amount":"{amount}","available":"{available}"}}}}'
        with pytest.raises(MalformedFrame):
            parser.parse(f'{{"event":"ACCOUNT_BALANCE","timestamp":1,"data":{data}}}')
    with pytest.raises(AttributeError):
        Balance("BTC", Decimal(1), Decimal(1), Decimal(0)).total = Decimal(2)  # frozen
