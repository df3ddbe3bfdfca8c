"""CoinW spot stream frames and REST bodies -> exchange-neutral events. Pure: no socket, no clock.

Liberal where the docs disagree with themselves (protocol notes, section 8): `data` as one object or an
array, amounts and times as strings or numbers, ids above 2**53 as bare integers (kept exact: the JSON
module reads them as int, and they become strings here). Anything that is not a frame of the protocol
raises MalformedFrame.

The order channel has no partial-fill event and no trade ids, so every order frame also asks for a
`Refresh` of that order (its trades over REST), and every `assets` push asks for a `Refresh` of the
markets trading the assets that moved: a partial fill moves balances without any order frame.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from streams.events import (
    BalancesEvent,
    Event,
    Heartbeat,
    MalformedFrame,
    OrdersEvent,
    Refresh,
    ServerError,
    UnknownEvent,
)
from streams.exchanges.wire import BAD_FIELDS, bad_fields, decimal, each_item, integer, load_object
from streams.model import Balance, Fill, Order, OrderStatus, Side, market

_SIDES = {"buy": Side.BUY, "sell": Side.SELL}
_REASONS = {
    "filled": OrderStatus.FILLED,
    "cancelled": OrderStatus.CANCELLED,
    "canceled": OrderStatus.CANCELLED,
    "rejected": OrderStatus.REJECTED,
}
# REST `status` (section 5). 5 "triggered" is a live order again; 6 "trigger failed" never traded.
_REST_STATUS = {
    3: OrderStatus.FILLED,
    4: OrderStatus.CANCELLED,
    6: OrderStatus.REJECTED,
}
_KINDS = {"limit", "market", "hl_limit", "planning", "stop_limit_order", "smart_market_order", "iceberg"}
_CHINA = timezone(timedelta(hours=8))  # returnOrderTrades writes `date` as UTC+8 wall time
AUTH_CODES = frozenset({"1003", "6000", "6001", "6003"})  # spot/futures credential refusals (CoinW.Net)
RATE_LIMIT_CODES = frozenset({"29001", "429"})
BAD_PARAMETER_CODES = frozenset({"-103", "-3"})


# ---- stream ----------------------------------------------------------------------------------


def parse(frame: str) -> list[Event]:
    """One websocket frame -> its events. Control frames carry `channel` (or `event`), data frames
    `biz`/`type`/`data`; a frame with `errorCode`/`errorMsg` and neither is a protocol error."""
    msg = load_object(frame)
    if "channel" in msg:
        return _control(msg)
    event = msg.get("event")
    if event == "pong":
        return [Heartbeat()]
    if isinstance(event, str):
        return [UnknownEvent(event)]
    if "errorCode" in msg or "errorMsg" in msg:
        return [ServerError(error_message(msg))]
    kind = msg.get("type")
    if not isinstance(kind, str) or "data" not in msg:
        raise MalformedFrame("neither a control frame nor a data frame")
    handler = _HANDLERS.get(kind)
    if handler is None:
        return [UnknownEvent(kind)]
    try:
        return handler(_items(msg["data"]))
    except BAD_FIELDS as exc:
        raise bad_fields(kind, exc) from None


def _control(msg: Mapping[str, Any]) -> list[Event]:
    """A login or subscribe answer seen after the handshake (the handshake reads its own)."""
    channel = str(msg["channel"])
    data = msg.get("data")
    if channel not in ("login", "subscribe"):
        return [UnknownEvent(channel)]
    if isinstance(data, dict) and accepted(data):
        return [Heartbeat()]
    text = error_message(data if isinstance(data, dict) else msg)
    return [ServerError(text, auth=channel == "login")]


def accepted(data: Mapping[str, Any]) -> bool:
    """`result` of a login or subscribe answer: true or "true"."""
    result = data.get("result")
    return result is True or (isinstance(result, str) and result.lower() == "true")


def error_message(data: Mapping[str, Any]) -> str:
    """CoinW's own words: `errorMsg (errorCode N)`, as verbatim as the frame gives them."""
    text = data.get("errorMsg") or data.get("msg") or "refused without a reason"
    code = data.get("errorCode", data.get("code"))
    return f"{text} (errorCode {code})" if code is not None else str(text)


def assets(items: list[Mapping[str, Any]]) -> list[Event]:
    """Absolute balances of the currencies that changed; total = available + hold."""
    balances = tuple(
        Balance(
            str(item["currency"]).upper(),
            _trim(decimal(item["available"]) + decimal(item.get("hold", "0"))),
            decimal(item["available"]),
            decimal(item.get("hold", "0")),
        )
        for item in items
    )
    if not balances:
        return []
    time_ms = max(_int(item.get("time", 0)) for item in items)
    moved = frozenset(b.asset for b in balances)
    return [BalancesEvent(balances, time_ms), Refresh(assets=moved, time_ms=time_ms)]


def orders(items: list[Mapping[str, Any]]) -> list[Event]:
    """Order states, plus a Refresh of each order so REST supplies its trades (and, for a market
    order pushed with side "", the side)."""
    known: list[Order] = []
    wanted: set[tuple[str, str]] = set()
    time_ms = 0
    for item in items:
        order_id = _id(item["order_id"])
        name = pair_market(str(item["product_id"]))
        time_ms = max(time_ms, _int(item.get("time", 0)))
        wanted.add((order_id, name))
        side = _SIDES.get(str(item.get("side", "")).lower())
        if side is not None:
            known.append(_stream_order(item, order_id, name, side))
    events: list[Event] = []
    if known:
        events.append(OrdersEvent(tuple(known), time_ms))
    events.append(Refresh(orders=frozenset(wanted), time_ms=time_ms))
    return events


def _stream_order(item: Mapping[str, Any], order_id: str, name: str, side: Side) -> Order:
    size = decimal(item["size"])
    remaining = decimal(item.get("remaining_size", size))
    filled = _trim(size - remaining)
    time_ms = _int(item.get("time", 0))
    return Order(
        order_id=order_id,
        market=name,
        side=side,
        kind=kind(item.get("order_type", "")),
        price=decimal(item.get("price") or "0"),
        amount=size,
        filled=filled,
        status=_stream_status(str(item.get("type", "")), str(item.get("reason", "")), filled, remaining),
        created_ms=time_ms,
        updated_ms=time_ms,
    )


def _stream_status(event: str, reason: str, filled: Decimal, remaining: Decimal) -> OrderStatus:
    """`DONE` with its reason closes the order; any other event (`RECEIVED`, or one CoinW may add)
    leaves it open, partially filled when part of it traded."""
    if event.upper() == "DONE":
        status = _REASONS.get(reason.lower())
        if status is not None:
            return status
        return OrderStatus.FILLED if remaining <= 0 else OrderStatus.CANCELLED
    return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN


_HANDLERS: dict[str, Callable[[list[Mapping[str, Any]]], list[Event]]] = {
    "assets": assets,
    "order": orders,
}


def _items(data: object) -> list[Mapping[str, Any]]:
    """`data` as a list: the examples send one object, the docs' table says Array."""
    items = data if isinstance(data, list) else [data]
    if not all(isinstance(item, dict) for item in items):
        raise TypeError("'data' is not an object or a list of objects")
    return items  # type: ignore[return-value]


# ---- REST ------------------------------------------------------------------------------------


class RestError(Exception):
    """A REST envelope with `success` false: CoinW's `code` (a string) and its `msg`."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(f"{text} (code {code})")
        self.code = code
        self.text = text


def envelope(body: str, what: str) -> Any:
    """The `data` of a successful envelope; RestError for a refusal; MalformedFrame otherwise.
    `code` is a string in the docs ("200"); a number is accepted too."""
    msg = load_object(body)
    code = str(msg.get("code", ""))
    if code != "200" or msg.get("success") is False:
        if not code:
            raise MalformedFrame(f"{what}: REST answer without a 'code'")
        raise RestError(code, str(msg.get("msg") or "no reason given"))
    if "data" not in msg:
        raise MalformedFrame(f"{what}: REST answer without 'data'")
    return msg["data"]


def rest_balances(data: object, time_ms: int) -> BalancesEvent:
    """returnCompleteBalances: `{CUR: {available, onOrders}}` -> every asset (a complete snapshot)."""
    if not isinstance(data, dict):
        raise MalformedFrame("balances: 'data' is not an object")

    def balance(item: tuple[str, Any]) -> Balance:
        currency, value = item
        available, on_orders = decimal(value["available"]), decimal(value.get("onOrders", "0"))
        return Balance(currency.upper(), _trim(available + on_orders), available, on_orders)

    return BalancesEvent(each_item(data.items(), balance, "balances"), time_ms, complete=True)


def rest_open_orders(data: object, name: str) -> tuple[Order, ...]:
    """returnOpenOrders of one pair. `total` is the order's base quantity, `success_count` what of it
    traded; there is no order type (these are limit orders) and no update time."""
    if not isinstance(data, list):
        raise MalformedFrame("open orders: 'data' is not a list")

    def order(item: Mapping[str, Any]) -> Order:
        amount, filled = decimal(item["total"]), decimal(item.get("success_count", "0"))
        created = _int(item.get("date", 0))
        status = _REST_STATUS.get(_int(item.get("status", 1)))
        if status is None or not status.is_open:  # listed as open: trust the listing
            status = OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN
        return Order(
            order_id=_id(item["orderNumber"]),
            market=name,
            side=_SIDES[str(item["type"]).lower()],
            kind="limit",
            price=decimal(item.get("prize") or item.get("price") or "0"),
            amount=amount,
            filled=filled,
            status=status,
            created_ms=created,
            updated_ms=created,
        )

    return each_item(data, order, "open orders")


def rest_order_detail(data: object, known: Order | None) -> Order:
    """returnOrderTrades ("Get Order Details"): one order's state. Despite the name it lists no
    trades, and `tradeID` is the order id. `total`/`amount` are what is still open (0 once filled),
    `success_total`/`success_amount` what traded; it has no price, so a known order keeps its own."""
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        raise MalformedFrame("order details: 'data' is not an object")
    try:
        filled = decimal(data.get("success_total", "0"))
        remaining = decimal(data.get("total", "0"))
        status = _REST_STATUS.get(_int(data.get("status", 1)))
        if status is None:
            status = OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN
        side = _SIDES.get(str(data.get("type", "")).lower()) or (known.side if known else None)
        if side is None:
            raise ValueError(f"order side {data.get('type')!r}")
        stamp = rest_time(data.get("date", 0))
        if known is not None:
            return Order(
                known.order_id,
                known.market,
                side,
                known.kind,
                known.price,
                known.amount,
                max(filled, known.filled),
                status,
                known.created_ms,
                max(stamp, known.updated_ms),
            )
        traded = decimal(data.get("success_amount", "0"))
        return Order(
            order_id=_id(data["tradeID"]),
            market=pair_market(str(data["currencyPair"])),
            side=side,
            kind="limit",
            price=traded / filled if filled > 0 else Decimal(0),
            amount=filled + remaining,
            filled=filled,
            status=status,
            created_ms=stamp,
            updated_ms=stamp,
        )
    except BAD_FIELDS as exc:
        raise bad_fields("order details", exc) from None


def rest_user_trades(data: object, name: str, sides: Mapping[str, Side] | None = None) -> tuple[Fill, ...]:
    """getUserTrades of one pair: `{list: [...]}` with real trade ids. The fee currency is not sent:
    it is taken to be the asset received (base for a buy, quote for a sell). A trade listed without a
    side takes its order's from `sides` (see `trades_without_side`)."""
    items = data.get("list") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise MalformedFrame("user trades: no 'list'")
    base, quote = name.split("/")

    def fill(item: Mapping[str, Any]) -> Fill:
        side = _SIDES.get(str(item.get("side", "")).lower()) or (sides or {})[_id(item["orderId"])]
        return Fill(
            trade_id=_id(item["tradeId"]),
            order_id=_id(item["orderId"]),
            market=name,
            side=side,
            price=_trim(decimal(item["price"])),
            amount=_trim(decimal(item["size"])),
            fee=_trim(decimal(item.get("fee", "0"))),
            fee_asset=base if side is Side.BUY else quote,
            time_ms=_int(item["time"]),
        )

    return each_item(items, fill, "user trades")


def trades_without_side(data: object) -> set[str]:
    """Order ids of trades listed with an empty or unknown side (market orders on the stream do it)."""
    items = data.get("list") if isinstance(data, dict) else data
    if not isinstance(items, list):
        return set()
    return {
        _id(i["orderId"])
        for i in items
        if isinstance(i, dict) and "orderId" in i and str(i.get("side", "")).lower() not in _SIDES
    }


def rest_symbols(data: object) -> list[str]:
    """returnSymbol: the exchange's pairs as markets (`BTC/USDT`)."""
    if not isinstance(data, list):
        raise MalformedFrame("symbols: 'data' is not a list")
    return list(each_item(data, lambda item: pair_market(str(item["currencyPair"])), "symbols"))


def rest_time(value: object) -> int:
    """A REST `date`: integer milliseconds, or `YYYY-MM-DD HH:MM:SS` in UTC+8 (returnOrderTrades)."""
    if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
        stamp = datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=_CHINA)
        return int(stamp.timestamp() * 1000)
    return _int(value)


# ---- names and numbers -----------------------------------------------------------------------


def pair_market(pair: str) -> str:
    """`BTC_USDT` -> `BTC/USDT`."""
    base, sep, quote = pair.partition("_")
    if not sep or not base or not quote:
        raise ValueError(f"not a trading pair: {pair!r}")
    return market(base, quote)


def market_pair(name: str) -> str:
    """`BTC/USDT` -> `BTC_USDT`, as CoinW's `currencyPair` and `symbol` want it."""
    return name.upper().replace("/", "_")


def kind(order_type: object) -> str:
    """An order type in lower case; ones this app does not know are "other"."""
    name = str(order_type).lower()
    return name if name in _KINDS else "other"


def _id(value: object) -> str:
    """An id as a string; integers above 2**53 stay exact (they never pass through float)."""
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise ValueError(f"not an id: {value!r}")
    return str(value)


def _trim(amount: Decimal) -> Decimal:
    """Without the trailing zeros of getUserTrades' 18-place scale ("0.001200000000000000", "0E-18"),
    and without an exponent: the same value, written as a person would."""
    if amount == amount.to_integral_value():
        return amount.quantize(Decimal(1))
    return amount.normalize()


def _int(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError(f"not an integer: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str | Decimal):
        return integer(Decimal(value), value)
    raise ValueError(f"not an integer: {value!r}")
