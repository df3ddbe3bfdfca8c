"""BitoPro stream frames and REST bodies -> exchange-neutral events. Pure: no socket, no clock.

Liberal in what it accepts (see the protocol notes): numbers as strings or numbers, booleans as
either, missing optional fields. Anything that is not a frame of the protocol raises MalformedFrame.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import msgspec

from streams.events import BalancesEvent, Event, FillEvent, MalformedFrame, OrdersEvent, UnknownEvent
from streams.exchanges.wire import (
    BAD_FIELDS,
    JSON_ERRORS,
    MAX_EXPONENT,
    bad_fields,
    decimal,
    each_item,
    integer,
    load_object,
)
from streams.model import Balance, Fill, Order, OrderStatus, Side, market

_ORDER_STATUS = {
    -1: OrderStatus.OPEN,  # stop order not triggered yet
    0: OrderStatus.OPEN,
    1: OrderStatus.PARTIALLY_FILLED,
    2: OrderStatus.FILLED,
    3: OrderStatus.CANCELLED,  # completed with a partial deal: cancelled after a partial fill
    4: OrderStatus.CANCELLED,
    6: OrderStatus.CANCELLED,  # post-only cancelled
}
T = TypeVar("T")
_SIDES = {"buy": Side.BUY, "bid": Side.BUY, "sell": Side.SELL, "ask": Side.SELL}


class _WireBalance(msgspec.Struct, gc=False):  # strings and Decimals only: no cycles to collect
    currency: str
    amount: Decimal
    available: Decimal


class _BalanceFrame(msgspec.Struct):
    event: str
    timestamp: int
    data: dict[str, _WireBalance]


# Balance frames carry every currency (~50) on every change: decoded straight into typed structs in C,
# with amounts as exact Decimals (strings or JSON numbers; never a float). strict=False accepts the
# protocol's numbers-as-strings. Any surprise falls back to the general path below for its error text.
_decode_balances = msgspec.json.Decoder(_BalanceFrame, strict=False).decode
_ZERO = Decimal(0)


def parse(frame: str) -> list[Event]:
    """One websocket frame -> its events."""
    if '"ACCOUNT_BALANCE"' in frame:
        try:
            fast = _decode_balances(frame)
        except JSON_ERRORS:  # a wrong type, a lone surrogate, nesting too deep: the general path says
            pass
        else:
            if fast.event == "ACCOUNT_BALANCE":
                try:
                    return [BalancesEvent(_wire_balances(fast.data), fast.timestamp)]
                except BAD_FIELDS as exc:
                    raise bad_fields("ACCOUNT_BALANCE", exc) from None
    msg = load_object(frame)
    name = msg.get("event")
    if not isinstance(name, str):
        raise MalformedFrame("no 'event' field")
    handler = _HANDLERS.get(name)
    try:
        if handler is None:
            return [UnknownEvent(name, _int(msg.get("timestamp", 0)))]
        return handler(msg["data"], _int(msg["timestamp"]))
    except BAD_FIELDS as exc:
        raise bad_fields(name, exc) from None


def balances_from_stream(data: Mapping[str, Any], time_ms: int) -> list[Event]:
    return [BalancesEvent(tuple(balance(v) for v in data.values()), time_ms)]


def orders_from_stream(data: Mapping[str, Any], time_ms: int) -> list[Event]:
    orders = tuple(order(o) for pair_orders in data.values() for o in pair_orders)
    return [OrdersEvent(orders, time_ms)]


def trade_from_stream(data: Mapping[str, Any], time_ms: int) -> list[Event]:
    fill = Fill(
        trade_id=str(data["matchID"]),
        order_id=str(data["orderID"]),
        market=market(data["base"], data["quote"]),
        side=_SIDES[data["side"].lower()],
        price=decimal(data["price"]),
        amount=decimal(data["volume"]),
        fee=decimal(data.get("fee", "0")),
        fee_asset=str(data.get("feeCurrency", "")).upper(),
        time_ms=_int(data["transactionTimestamp"]) * 1000,  # seconds on this stream
    )
    return [FillEvent(fill, time_ms)]


_HANDLERS: dict[str, Callable[[Any, int], list[Event]]] = {
    "ACCOUNT_BALANCE": balances_from_stream,
    "ACTIVE_ORDERS": orders_from_stream,
    "USER_TRADE": trade_from_stream,
}


def balance(item: Mapping[str, Any]) -> Balance:
    """A balance from a stream or REST item. Locked (in orders or staked) is not sent: it is
    amount - available, floored at 0."""
    total = decimal(item["amount"])
    available = decimal(item["available"])
    locked = total - available
    return Balance(str(item["currency"]).upper(), total, available, locked if locked > 0 else Decimal(0))


def _wire_balances(data: dict[str, _WireBalance]) -> tuple[Balance, ...]:
    """Every currency of a balance frame (~50 on each change): one plain loop, no call per item, since
    this runs 50 times per frame. Locked is amount - available floored at 0 (as in `balance()`: a
    difference of exactly zero becomes `Decimal(0)` too)."""
    out = []
    append = out.append
    for item in data.values():
        total, available = item.amount, item.available
        # wire.bounded(), inline (a call per amount cost a fifth of the frame): finite, zero or within
        # 10**±MAX_EXPONENT. Balance itself refuses a negative amount.
        if not (
            total.is_finite()
            and available.is_finite()
            and (not total or -MAX_EXPONENT <= total.adjusted() <= MAX_EXPONENT)
            and (not available or -MAX_EXPONENT <= available.adjusted() <= MAX_EXPONENT)
        ):
            raise ValueError(f"an amount out of range for {item.currency!r}: {total!r}, {available!r}"[:160])
        locked = total - available
        append(Balance(item.currency.upper(), total, available, locked if locked > _ZERO else _ZERO))
    return tuple(out)


def order(item: Mapping[str, Any]) -> Order:
    """An order from the stream or REST (same fields)."""
    base, _, quote = str(item["pair"]).partition("_")
    raw_status = _int(item["status"])
    status = _ORDER_STATUS.get(raw_status)
    if status is None:
        raise ValueError(f"unknown order status {raw_status}")
    created = _int(item.get("createdTimestamp", item.get("timestamp", 0)))
    return Order(
        order_id=str(item["id"]),
        market=market(base, quote),
        side=_SIDES[str(item["action"]).lower()],
        kind=str(item.get("type", "")).lower(),
        price=decimal(item.get("price", "0")),
        amount=decimal(item["originalAmount"]),
        filled=decimal(item.get("executedAmount", "0")),
        status=status,
        created_ms=created,
        updated_ms=_int(item.get("updatedTimestamp", created)),
    )


def rest_balances(body: str, time_ms: int) -> BalancesEvent:
    """GET /v3/accounts/balance -> every asset (a complete snapshot)."""
    return BalancesEvent(_rest_items(body, balance, "balance snapshot"), time_ms, complete=True)


def rest_open_orders(body: str, time_ms: int) -> OrdersEvent:
    """GET /v3/orders/open -> every open order (a complete snapshot)."""
    return OrdersEvent(_rest_items(body, order, "open orders"), time_ms, complete=True)


def rest_trades(body: str, pair: str) -> list[Fill]:
    """GET /v3/orders/trades/{pair} -> fills. Their ids are REST tradeIds, not the stream's matchIDs."""
    base, _, quote = pair.partition("_")

    def fill(t: Mapping[str, Any]) -> Fill:
        return Fill(
            trade_id=str(t["tradeId"]),
            order_id=str(t["orderId"]),
            market=market(base, quote),
            side=_SIDES[str(t["action"]).lower()],
            price=decimal(t["price"]),
            amount=decimal(t["baseAmount"]),
            fee=decimal(t.get("fee", "0")),
            fee_asset=str(t.get("feeSymbol", "")).upper(),
            time_ms=_int(t.get("createdTimestamp", t.get("timestamp"))),
        )

    return list(_rest_items(body, fill, "trades"))


def rest_trading_pairs(body: str) -> list[str]:
    """GET /provisioning/trading-pairs -> lower-case pair names such as `btc_twd`."""
    return list(_rest_items(body, lambda item: str(item["pair"]).lower(), "trading pairs"))


def _rest_items(body: str, make: Callable[[Mapping[str, Any]], T], what: str) -> tuple[T, ...]:
    """Each item of a REST answer's `data` list through `make`; any bad item fails the whole answer."""
    data = load_object(body).get("data")
    if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
        raise MalformedFrame(f"{what}: REST answer without a 'data' list")
    return each_item(data, make, what)


def _int(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError(f"not an integer: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str | Decimal):
        return integer(Decimal(value), value)
    raise ValueError(f"not an integer: {value!r}")
