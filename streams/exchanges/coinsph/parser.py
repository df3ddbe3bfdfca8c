"""Coins.ph user-data-stream frames and REST bodies -> exchange-neutral events. Pure: no socket, no clock.

Follows /work/shared/protocols/coinsph.md, liberal where the sources disagree:
- the balance event under both names (`outboundAccountPosition` in the docs, `outboundAccountInfo` in
  the seed template), one handler;
- `executionReport`: `x` (what just happened) decides whether a fill happened; where `x` is missing (the
  seed template), a fill is `l > 0`. A fill's id is `<i>:<t>`: trade ids are per symbol and a self-trade
  gives the same `t` to two of the account's orders, so only the pair (order id, trade id) is unique.
  Where `t` is missing or `-1` on a fill, or a fill can only be suspected (no `x`, no `l`, but a filled
  status), the parser asks REST for that order's trades (`Refresh(orders=...)`) instead of inventing an
  id that the REST history would then contradict;
- `balanceUpdate` (deposit, withdrawal, transfer: a signed delta) becomes `Refresh(balances=True)`: the
  store holds absolute balances only, whether a position event follows is unpublished, and applying a
  delta on top of a position that may already include it would double count. REST answers with the
  exact balances; the position events stay authoritative;
- `listenKeyExpired` and an error frame with code -1125 ask for a reconnect (new key, resync).

Ids stay strings (`i` exceeds 2**53; json keeps it exact); amounts are Decimal from the wire's strings.
Symbols such as `BTCPHP` carry no separator: `Symbols` maps them to `BTC/PHP` from `exchangeInfo`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from streams.events import (
    BalancesEvent,
    Event,
    FillEvent,
    Heartbeat,
    MalformedFrame,
    OrdersEvent,
    ReconnectRequested,
    Refresh,
    ServerError,
    UnknownEvent,
)
from streams.exchanges.wire import (
    BAD_FIELDS,
    JSON_ERRORS,
    bad_fields,
    bounded,
    decode_json,
    each_item,
    integer,
)
from streams.model import Balance, Fill, Order, OrderStatus, Side, market

ACCOUNT_EVENTS = ("outboundAccountPosition", "outboundAccountInfo")
LISTEN_KEY_GONE = -1125
# Quote assets tried, longest first, for a symbol exchangeInfo did not list (a listing newer than it).
DEFAULT_QUOTES = ("USDT", "USDC", "PHP", "BTC", "ETH", "THB")

_STATUS = {
    "NEW": OrderStatus.OPEN,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELLED,
    "CANCELLED": OrderStatus.CANCELLED,
    "PARTIALLY_CANCELED": OrderStatus.CANCELLED,  # self-trade prevention cancelled the rest
    "PARTIALLY_CANCEL": OrderStatus.CANCELLED,  # the same, as one doc version spells it
    "EXPIRED": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
}
_SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}
_NO_TRADE = -1
_ZERO = Decimal(0)
T = TypeVar("T")


class Symbols:
    """Coins.ph symbols (`BTCPHP`) and the markets they trade (`BTC/PHP`), from `exchangeInfo`.

    A symbol it does not list (listed after the table was read) is split at the longest known quote
    asset that ends it; `unknown` then tells the session to read the table again.
    """

    def __init__(self, pairs: Iterable[tuple[str, str, str]] = ()) -> None:
        self._markets: dict[str, str] = {}
        self._symbols: dict[str, str] = {}
        quotes = set(DEFAULT_QUOTES)
        for symbol, base, quote in pairs:
            name = market(base, quote)
            self._markets[symbol.upper()] = name
            self._symbols[name] = symbol.upper()
            quotes.add(quote.upper())
        self._quotes = sorted(quotes, key=len, reverse=True)
        self.unknown: set[str] = set()

    def market(self, symbol: str) -> str:
        """`BTCPHP` -> `BTC/PHP`; raises ValueError for a symbol no known quote asset ends."""
        symbol = symbol.upper()
        known = self._markets.get(symbol)
        if known is not None:
            return known
        for quote in self._quotes:
            if symbol.endswith(quote) and len(symbol) > len(quote):
                self.unknown.add(symbol)
                return market(symbol[: -len(quote)], quote)
        raise ValueError(f"unknown symbol {symbol!r}")

    def symbol(self, name: str) -> str:
        """`BTC/PHP` -> `BTCPHP`."""
        return self._symbols.get(name.upper()) or name.upper().replace("/", "")

    def markets(self) -> dict[str, str]:
        """Every listed symbol -> its market."""
        return dict(self._markets)


# ---------------------------------------------------------------------------- stream


def parse(frame: str, symbols: Symbols) -> list[Event]:
    """One websocket frame -> its events."""
    msg = _load(frame)
    if not isinstance(msg, dict):
        raise MalformedFrame("not a JSON object")
    name = msg.get("e")
    if name is None:
        return _control(msg)
    if not isinstance(name, str):
        raise MalformedFrame("'e' is not a string")
    handler = _HANDLERS.get(name)
    if handler is None:
        return [UnknownEvent(name, _int(msg["E"]) if type(msg.get("E")) is int else 0)]
    try:
        return handler(msg, symbols)
    except BAD_FIELDS as exc:
        raise bad_fields(name, exc) from None


def _control(msg: Mapping[str, Any]) -> list[Event]:
    """Frames without an event name: pong, a subscribe ack, or an error."""
    if "pong" in msg or "ping" in msg or ("result" in msg and "id" in msg):
        return [Heartbeat()]
    if "code" in msg:
        code, text = msg.get("code"), str(msg.get("msg") or "no reason given")
        if code == LISTEN_KEY_GONE:
            return [ReconnectRequested()]
        return [ServerError(f"{text} (code {code})")]
    raise MalformedFrame("no 'e' field")


def account_position(msg: Mapping[str, Any], symbols: Symbols) -> list[Event]:
    """`outboundAccountPosition` / `outboundAccountInfo`: absolute free and locked of the assets that
    may have changed; upserted, total = free + locked."""
    items = msg["B"]
    if not isinstance(items, list):
        raise TypeError("'B' is not a list")
    balances = tuple(_balance(item["a"], item["f"], item["l"]) for item in items)
    return [BalancesEvent(balances, _int(msg["E"]))]


def balance_update(msg: Mapping[str, Any], symbols: Symbols) -> list[Event]:
    """`balanceUpdate`: a delta from a deposit, withdrawal or transfer -> read the exact balances."""
    if not isinstance(msg["a"], str):
        raise TypeError("'a' is not a string")
    _dec(msg["d"])  # a frame that is not what the protocol promises is malformed, even if unused
    return [Refresh(balances=True, time_ms=_int(msg["E"]))]


def execution_report(msg: Mapping[str, Any], symbols: Symbols) -> list[Event]:
    """`executionReport`: the order's new state, plus its fill when this event is one."""
    time_ms = _int(msg["E"])
    order = _order(
        order_id=msg["i"],
        symbol=msg["s"],
        side=msg["S"],
        kind=msg.get("o", ""),
        price=msg.get("p", "0"),
        amount=msg.get("q", "0"),
        filled=msg.get("z", "0"),
        status=msg["X"],
        created=msg.get("O"),
        updated=time_ms,
        symbols=symbols,
    )
    events: list[Event] = [OrdersEvent((order,), time_ms)]
    last_qty = _dec(msg.get("l", "0"))
    kind = msg.get("x")
    if kind is not None:
        is_fill, suspected = str(kind).upper() == "TRADE", False
    else:  # the seed template comments `x` out: a fill is a quantity filled in this event
        is_fill = last_qty > 0
        suspected = not is_fill and order.filled > 0 and order.status in _FILLED_STATES
    trade = _int(msg["t"]) if msg.get("t") is not None else _NO_TRADE
    if is_fill and trade != _NO_TRADE and last_qty > 0:
        trade_time = _int(msg["T"]) if msg.get("T") is not None else _NO_TRADE
        fill = Fill(
            trade_id=fill_id(order.order_id, trade),
            order_id=order.order_id,
            market=order.market,
            side=order.side,
            price=_dec(msg["L"]),
            amount=last_qty,
            fee=_dec(msg.get("n") or "0"),
            fee_asset=str(msg.get("N") or "").upper(),
            time_ms=trade_time if trade_time > 0 else time_ms,
        )
        events.append(FillEvent(fill, time_ms))
    elif is_fill or suspected:
        events.append(Refresh(orders=frozenset({(order.order_id, order.market)}), time_ms=time_ms))
    return events


def listen_key_expired(msg: Mapping[str, Any], symbols: Symbols) -> list[Event]:
    return [ReconnectRequested(_int(msg.get("E", 0)))]


_FILLED_STATES = (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED)
_HANDLERS: dict[str, Callable[[Mapping[str, Any], Symbols], list[Event]]] = {
    **dict.fromkeys(ACCOUNT_EVENTS, account_position),
    "balanceUpdate": balance_update,
    "executionReport": execution_report,
    "listenKeyExpired": listen_key_expired,
}


def fill_id(order_id: str, trade_id: object) -> str:
    """The id of one fill of the account: `<order id>:<trade id>` (see the module docstring)."""
    return f"{order_id}:{_id(trade_id)}"


# ---------------------------------------------------------------------------- REST


def rest_server_time(body: str) -> int:
    """GET /openapi/v1/time -> serverTime (ms)."""
    return _field(body, "serverTime", _int, "server time")


def rest_listen_key(body: str) -> str:
    """POST /openapi/v1/userDataStream -> the listenKey."""

    def key(value: object) -> str:
        if not isinstance(value, str) or not value or "/" in value:
            raise ValueError(f"not a listenKey: {value!r}")
        return value

    return _field(body, "listenKey", key, "listenKey")


def rest_symbols(body: str) -> Symbols:
    """GET /openapi/v1/exchangeInfo -> the symbol table."""

    def pair(item: Mapping[str, Any]) -> tuple[str, str, str]:
        return str(item["symbol"]), str(item["baseAsset"]), str(item["quoteAsset"])

    return Symbols(_items(_field(body, "symbols", _list, "exchange info"), pair, "exchange info"))


def rest_account(body: str, time_ms: int) -> BalancesEvent:
    """GET /openapi/v1/account -> every asset the account lists (a complete snapshot)."""
    items = _field(body, "balances", _list, "account")
    balances = _items(items, lambda b: _balance(b["asset"], b["free"], b["locked"]), "account")
    return BalancesEvent(balances, time_ms, complete=True)


def rest_open_orders(body: str, symbols: Symbols, time_ms: int) -> OrdersEvent:
    """GET /openapi/v1/openOrders (no symbol) -> every open order (a complete snapshot)."""

    def order(item: Mapping[str, Any]) -> Order:
        created = item.get("time")
        return _order(
            order_id=item["orderId"],
            symbol=item["symbol"],
            side=item["side"],
            kind=item.get("type", ""),
            price=item.get("price", "0"),
            amount=item.get("origQty", "0"),
            filled=item.get("executedQty", "0"),
            status=item["status"],
            created=created,
            updated=_int(item.get("updateTime", created if created is not None else 0)),
            symbols=symbols,
        )

    return OrdersEvent(_items(_list(_load(body)), order, "open orders"), time_ms, complete=True)


def rest_trades(body: str, symbols: Symbols) -> list[Fill]:
    """GET /openapi/v1/myTrades -> fills, ids as on the stream (`<orderId>:<id>`)."""

    def fill(item: Mapping[str, Any]) -> Fill:
        order_id = _id(item["orderId"])
        buyer = item["isBuyer"]
        if not isinstance(buyer, bool):
            raise TypeError(f"isBuyer is not a boolean: {buyer!r}")
        return Fill(
            trade_id=fill_id(order_id, item["id"]),
            order_id=order_id,
            market=symbols.market(str(item["symbol"])),
            side=Side.BUY if buyer else Side.SELL,
            price=_dec(item["price"]),
            amount=_dec(item["qty"]),
            fee=_dec(item.get("commission") or "0"),
            fee_asset=str(item.get("commissionAsset") or "").upper(),
            time_ms=_int(item["time"]),
        )

    return list(_items(_list(_load(body)), fill, "trades"))


def trade_number(fill: Fill) -> int:
    """The exchange's trade id of a fill this module made (for `fromId` paging)."""
    return int(fill.trade_id.rpartition(":")[2])


def rest_error(body: str) -> tuple[int | None, str]:
    """An error body -> (code, msg); (None, text) when it is not the documented `{"code","msg"}`."""
    try:
        data = json.loads(body)
    except JSON_ERRORS:
        return None, body.strip()[:300] or "no reason given"
    if isinstance(data, dict) and isinstance(data.get("code"), int):
        return data["code"], str(data.get("msg") or "no reason given")
    return None, body.strip()[:300] or "no reason given"


# ---------------------------------------------------------------------------- fields


def _order(
    *,
    order_id: object,
    symbol: object,
    side: object,
    kind: object,
    price: object,
    amount: object,
    filled: object,
    status: object,
    created: object,
    updated: int,
    symbols: Symbols,
) -> Order:
    filled_amount = _dec(filled)
    created_ms = _int(created) if created is not None else updated
    return Order(
        order_id=_id(order_id),
        market=symbols.market(_str(symbol)),
        side=_SIDES[_str(side).upper()],
        kind=str(kind).lower(),
        price=_dec(price),
        amount=_dec(amount),
        filled=filled_amount,
        status=_status(_str(status), filled_amount),
        created_ms=created_ms if created_ms > 0 else updated,
        updated_ms=updated,
    )


def _status(raw: str, filled: Decimal) -> OrderStatus:
    """The documented statuses; an unknown one is taken as still open (the next snapshot corrects it
    either way, and an order wrongly shown open is less harmful than one wrongly dropped)."""
    known = _STATUS.get(raw.upper())
    if known is not None:
        return known
    return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN


def _balance(asset: object, free: object, locked: object) -> Balance:
    available, held = _dec(free), _dec(locked)
    return Balance(_str(asset).upper(), available + held, available, held)


def _items(items: list[Any], make: Callable[[Mapping[str, Any]], T], what: str) -> tuple[T, ...]:
    """Each item of a REST list through `make`; any bad item fails the whole answer."""
    if not all(isinstance(i, dict) for i in items):
        raise MalformedFrame(f"{what}: an item is not an object")
    return each_item(items, make, what)


def _field(body: str, name: str, convert: Callable[[Any], T], what: str) -> T:
    data = _load(body)
    if not isinstance(data, dict) or name not in data:
        raise MalformedFrame(f"{what}: REST answer without {name!r}")
    try:
        return convert(data[name])
    except BAD_FIELDS as exc:
        raise bad_fields(what, exc) from None


def _list(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedFrame("REST answer is not a list")
    return value


def _load(text: str) -> Any:
    try:
        return decode_json(text)
    except JSON_ERRORS as exc:
        raise MalformedFrame(f"not JSON ({exc.args[0][:80]})") from None


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"not a string: {value!r}")
    return value


def _dec(value: object) -> Decimal:
    """A finite Decimal from a wire string or integer; floats never reach here (parse_float=Decimal).

    Coins.ph pads every amount to a fixed number of decimals ("3400.00000000"); the padding is dropped
    (the value is unchanged, no context rounding is involved) so amounts read as on other exchanges."""
    if type(value) is str:
        if "." in value and "e" not in value and "E" not in value:
            value = value.rstrip("0").rstrip(".") or "0"
    elif not (isinstance(value, int | Decimal) and not isinstance(value, bool)):
        raise ValueError(f"not a decimal: {value!r}")
    result = bounded(Decimal(value), value)
    return result if result else _ZERO  # "-0.000" too


def _int(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError(f"not an integer: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str | Decimal):
        number = Decimal(value)
        if number != number.to_integral_value():
            raise ValueError(f"not an integer: {value!r}")
        return integer(number, value)
    raise ValueError(f"not an integer: {value!r}")


def _id(value: object) -> str:
    """An exchange id as an exact string: ints (even > 2**53) and digit strings alike."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError(f"not an id: {value!r}")
