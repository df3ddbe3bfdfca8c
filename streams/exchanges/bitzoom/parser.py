"""Bitzoom frames and REST bodies -> exchange-neutral events. Pure: no socket, no clock, no state.

Framing is documented (protocol notes section 3): every message is `{channel, event, data}`, one
websocket message may hold several of them on separate lines, and a data push names its subscription
by `event` = subId. The subId map belongs to one connection, so the caller passes it in.

Payload fields are NOT documented (section 8), so balances, orders and trades go through a tolerant
mapper: it looks for the likely keys, accepts a list, a single object or an object keyed by id, treats
every push as an upsert, and never hides anything: each routed payload also comes out verbatim as a
`RawPayload`, so fields the mapper does not know stay visible in the app's raw data view. A bad item
becomes a `MalformedPart` and the rest of its line is still applied; a bad line of a multi-line frame
likewise. Balances and order changes ask REST for the trade history (`Refresh`): there is no fill
channel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from streams.events import (
    BalancesEvent,
    Event,
    Heartbeat,
    MalformedFrame,
    MalformedPart,
    OrdersEvent,
    RawPayload,
    Refresh,
    ServerError,
    UnknownEvent,
)
from streams.model import Balance, Fill, Order, OrderStatus, Side, market

BALANCE = "/api/v1/balance"
OPEN_ORDERS = "/api/v1/openorders"
LOGON = "logon"
CONTROL_EVENTS = frozenset({"sub", "unsub", "success", "error"})
TOKEN_EXPIRED = "token expired — paste a new one"
UNAUTHORIZED = -1002  # REST: invalid or expired token

T = TypeVar("T")
_BAD_FIELDS = (KeyError, TypeError, ValueError, InvalidOperation, AttributeError)

# The likely keys of the unpublished payloads, most specific first (protocol notes section 8).
ASSET_KEYS = ("asset", "currency", "coin", "marginAsset")
TOTAL_KEYS = ("walletBalance", "balance", "total", "crossWalletBalance")
AVAILABLE_KEYS = ("availableBalance", "available", "free")
LOCKED_KEYS = ("locked", "frozen", "freeze", "frozenBalance", "lockedBalance")
ORDER_ID_KEYS = ("orderId", "id", "orderID", "order_id")
SYMBOL_KEYS = ("symbol", "pair", "market")
SIDE_KEYS = ("side", "orderSide")
KIND_KEYS = ("type", "orderType")
PRICE_KEYS = ("price",)
AMOUNT_KEYS = ("origQty", "quantity", "qty", "amount", "size")
FILLED_KEYS = ("executedQty", "filledQty", "cumQty", "filled")
STATUS_KEYS = ("status", "orderStatus", "state")
CREATED_KEYS = ("time", "createdTime", "createTime", "ctime", "timestamp")
UPDATED_KEYS = ("updateTime", "updatedTime", "utime")
TRADE_ID_KEYS = ("id", "tradeId", "tradeID", "trade_id")
TRADE_ORDER_ID_KEYS = ("orderId", "orderID", "order_id")  # not `id`: in a trade that is the trade's
TRADE_AMOUNT_KEYS = ("qty", "quantity", "amount", "size", "executedQty")
FEE_KEYS = ("commission", "fee")
FEE_ASSET_KEYS = ("commissionAsset", "feeAsset", "feeCurrency", "feeCoin")
TRADE_TIME_KEYS = ("time", "tradeTime", "timestamp", "createdTime", "ctime")
_JWT_LIKE = re.compile(r"eyJ[\w-]*(?:\.[\w-]*){0,2}")  # base64url of '{"' and what follows
_WRAPPERS = ("list", "rows", "items", "records", "data", "balances", "orders", "assets", "trades")

# Futures symbols are `BTCUSDT`: the quote is the known suffix (longest first).
_QUOTES = sorted(("USDT", "USDC", "BUSD", "FDUSD", "TUSD", "USD", "BTC", "ETH", "TWD", "EUR"), key=len)[::-1]
_SIDES = {"BUY": Side.BUY, "BID": Side.BUY, "SELL": Side.SELL, "ASK": Side.SELL}
# The OpenAPI order body has `side` as an integer without a table: 1 = buy, 2 = sell is a guess [L].
_INT_SIDES = {1: Side.BUY, 2: Side.SELL}
_STATUSES = {
    "NEW": OrderStatus.OPEN,
    "OPEN": OrderStatus.OPEN,
    "PENDING": OrderStatus.OPEN,
    "ACCEPTED": OrderStatus.OPEN,
    "UNTRIGGERED": OrderStatus.OPEN,
    "PARTIALLYFILLED": OrderStatus.PARTIALLY_FILLED,
    "PARTIALFILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELLED,
    "CANCELLED": OrderStatus.CANCELLED,
    "PARTIALLYCANCELED": OrderStatus.CANCELLED,
    "PARTIALLYCANCELLED": OrderStatus.CANCELLED,
    "EXPIRED": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
}


@dataclass(frozen=True, slots=True)
class Subscription:
    """What one subId stands for on one connection: the channel and the params it was asked with."""

    channel: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Line:
    """One `{channel, event, data}` message, with its text verbatim (for the raw data view)."""

    channel: str
    event: str
    data: Any
    text: str


class RestError(Exception):
    """A REST answer whose envelope says it failed: the exchange's code and message."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(f"{code}: {message}" if code is not None else message)
        self.code = code
        self.message = message

    @property
    def unauthorized(self) -> bool:
        return self.code == UNAUTHORIZED

    @property
    def bad_parameter(self) -> bool:
        """-11xx are request-parameter errors (Binance-style numbering, which Bitzoom's FAQ follows)."""
        return self.code is not None and -1199 <= self.code <= -1100


# ---------------------------------------------------------------------- framing


def split(frame: str) -> list[Line | MalformedPart]:
    """Every non-empty line of a websocket message, each parsed on its own; a bad one becomes a
    `MalformedPart` and the others are kept."""
    parts: list[Line | MalformedPart] = []
    for text in _texts(frame):
        try:
            parts.append(line(text))
        except MalformedFrame as exc:
            parts.append(MalformedPart(str(exc)))
    return parts


def line(text: str) -> Line:
    """One line -> a `Line`; raises `MalformedFrame` when it is not a message of the protocol."""
    try:
        msg = json.loads(text, parse_float=Decimal)
    except ValueError as exc:
        raise MalformedFrame(f"not JSON ({exc.args[0][:80]}): {_snippet(text)}") from None
    if not isinstance(msg, dict):
        raise MalformedFrame(f"not a JSON object: {_snippet(text)}")
    event, channel = msg.get("event"), msg.get("channel", "")
    if not isinstance(event, str) or not event:
        raise MalformedFrame(f"no 'event' member: {_snippet(text)}")
    if not isinstance(channel, str):
        raise MalformedFrame(f"'channel' is not a string: {_snippet(text)}")
    return Line(channel, event, msg.get("data"), text)


def parse(frame: str, subs: Mapping[str, Subscription], time_ms: int) -> list[Event]:
    """One websocket message -> its events, routed by subId through `subs` (this connection's map).

    `time_ms` is when the message arrived: Bitzoom stamps nothing, and the engine orders buffered
    events against the REST snapshot by it. A message of one bad line raises `MalformedFrame`; in a
    message of several lines each bad one becomes a `MalformedPart` and the others still count.
    """
    texts = _texts(frame)
    if len(texts) == 1:
        return events(line(texts[0]), subs, time_ms)
    out: list[Event] = []
    for text in texts:
        try:
            out.extend(events(line(text), subs, time_ms))
        except MalformedFrame as exc:
            out.append(MalformedPart(str(exc), time_ms))
    return out


def events(msg: Line, subs: Mapping[str, Subscription], time_ms: int) -> list[Event]:
    """The events of one message: control answers, or a push routed by its subId."""
    if msg.event in CONTROL_EVENTS:
        return _control(msg, time_ms)
    sub = subs.get(msg.event)
    if sub is None:  # logged once by the engine, then dropped
        return [UnknownEvent(f"push for unknown subId {msg.event!r} on {msg.channel!r}", time_ms)]
    raw = RawPayload(sub.channel, msg.text, time_ms)
    mapper = _PUSHES.get(sub.channel)
    return [raw] if mapper is None else [raw, *mapper(msg.data, time_ms)]


def ack_ids(msg: Line) -> list[str]:
    """The subIds a `sub` acknowledgement carries: the keys of `data` (a plain string is accepted too,
    as in the `unsub` answer)."""
    if isinstance(msg.data, dict):
        return [str(key) for key in msg.data]
    if isinstance(msg.data, str) and msg.data:
        return [msg.data]
    return []


def logon_refusal(msg: Line) -> str:
    """What to tell the user about `{"channel":"logon","event":"error",...}`: the data is empty in the
    docs (no reason given), so the text is ours, plus whatever the server did say."""
    if msg.data in (None, {}, [], ""):
        return TOKEN_EXPIRED
    return f"{TOKEN_EXPIRED} (Bitzoom said: {_short(msg.data)})"


def _control(msg: Line, time_ms: int) -> list[Event]:
    if msg.event == "error":
        if msg.channel == LOGON:
            return [ServerError(logon_refusal(msg), auth=True, time_ms=time_ms)]
        return [ServerError(f"{msg.channel or 'a request'} failed: {_short(msg.data)}", time_ms=time_ms)]
    if msg.event == "success":
        return [Heartbeat(time_ms)]
    return [UnknownEvent(f"'{msg.event}' answer on {msg.channel}", time_ms)]  # late sub/unsub acks


def _texts(frame: str) -> list[str]:
    return [text.strip() for text in frame.split("\n") if text.strip()]


# ---------------------------------------------------------------------- pushes


def balance_push(data: Any, time_ms: int) -> list[Event]:
    """A `/api/v1/balance` push: each listed asset upserted. A balance may move because of a fill,
    which no channel reports: ask REST for the trade history."""
    balances, problems = _mapped(data, ASSET_KEYS, balance, "balance")
    out: list[Event] = []
    if balances:
        out.append(BalancesEvent(tuple(balances), time_ms))
        out.append(Refresh(assets=frozenset(b.asset for b in balances), time_ms=time_ms))
    out.extend(MalformedPart(problem, time_ms) for problem in problems)
    return out


def orders_push(data: Any, time_ms: int) -> list[Event]:
    """A `/api/v1/openorders` push: each listed order upserted (a closed status removes it). An order
    that filled (partly) asks REST for its trades."""
    orders, problems = _mapped(data, ORDER_ID_KEYS, order, "order")
    out: list[Event] = []
    if orders:
        out.append(OrdersEvent(tuple(orders), time_ms))
        traded = frozenset((o.order_id, o.market) for o in orders if o.filled > 0)
        if traded:
            out.append(Refresh(orders=traded, markets=frozenset(m for _, m in traded), time_ms=time_ms))
    out.extend(MalformedPart(problem, time_ms) for problem in problems)
    return out


_PUSHES: dict[str, Callable[[Any, int], list[Event]]] = {BALANCE: balance_push, OPEN_ORDERS: orders_push}


# ---------------------------------------------------------------------- the tolerant mapper


def balance(item: Mapping[str, Any], key: str | None = None) -> Balance:
    """A balance from whichever of the likely members are there; the missing ones are derived
    (total = available + locked, locked = total - available floored at 0). `key` is the member name
    of an object keyed by asset."""
    asset = _first(item, ASSET_KEYS, key)
    if asset is None:
        raise ValueError("no asset")
    total, available, locked = (_opt_dec(item, keys) for keys in (TOTAL_KEYS, AVAILABLE_KEYS, LOCKED_KEYS))
    if total is None:
        if available is None and locked is None:
            raise ValueError(f"{asset}: no amount")
        total = (available or Decimal(0)) + (locked or Decimal(0))
    if available is None:
        available = total - locked if locked is not None else total
    if locked is None:
        locked = total - available if total > available else Decimal(0)  # never "-0.5" nor "0.000000"
    return Balance(str(asset).upper(), total, available, locked)


def order(item: Mapping[str, Any], key: str | None = None) -> Order:
    """An order from whichever of the likely members are there. Without a known status the amounts
    decide (filled = amount: filled; some: partially filled; none: open)."""
    order_id = _first(item, ORDER_ID_KEYS, key)
    symbol = _first(item, SYMBOL_KEYS)
    if order_id is None or symbol is None:
        raise ValueError("no order id" if order_id is None else "no symbol")
    amount = _opt_dec(item, AMOUNT_KEYS)
    if amount is None:
        raise ValueError(f"order {order_id}: no quantity")
    filled = _opt_dec(item, FILLED_KEYS) or Decimal(0)
    created = _opt_ms(item, CREATED_KEYS) or 0
    return Order(
        order_id=_id(order_id),
        market=market_of(str(symbol)),
        side=side(_first(item, SIDE_KEYS)),
        kind=str(_first(item, KIND_KEYS) or "").lower(),
        price=_opt_dec(item, PRICE_KEYS) or Decimal(0),  # market orders may send none
        amount=amount,
        filled=filled,
        status=status(_first(item, STATUS_KEYS), amount, filled),
        created_ms=created,
        updated_ms=_opt_ms(item, UPDATED_KEYS) or created,
    )


def trade(item: Mapping[str, Any], key: str | None = None) -> Fill:
    """One row of `/api/v1/historytrade`."""
    trade_id = _first(item, TRADE_ID_KEYS, key)
    symbol = _first(item, SYMBOL_KEYS)
    if trade_id is None or symbol is None:
        raise ValueError("no trade id" if trade_id is None else "no symbol")
    raw_side = _first(item, SIDE_KEYS)
    if raw_side is None and isinstance(item.get("buyer"), bool):
        raw_side = "BUY" if item["buyer"] else "SELL"
    amount, price, time_ms = (
        _opt_dec(item, TRADE_AMOUNT_KEYS),
        _opt_dec(item, PRICE_KEYS),
        _opt_ms(item, TRADE_TIME_KEYS),
    )
    if amount is None or price is None or time_ms is None:
        raise ValueError(f"trade {trade_id}: no quantity, price or time")
    order_id = _first(item, TRADE_ORDER_ID_KEYS)
    return Fill(
        trade_id=_id(trade_id),
        order_id=_id(order_id) if order_id is not None else "",
        market=market_of(str(symbol)),
        side=side(raw_side),
        price=price,
        amount=amount,
        fee=_opt_dec(item, FEE_KEYS) or Decimal(0),
        fee_asset=str(_first(item, FEE_ASSET_KEYS) or "").upper(),
        time_ms=time_ms,
    )


def side(raw: object) -> Side:
    """`BUY`/`SELL` (any case, also bid/ask) as the guides write it, or the OpenAPI's integer."""
    if isinstance(raw, str) and raw.strip().upper() in _SIDES:
        return _SIDES[raw.strip().upper()]
    if isinstance(raw, int | str) and not isinstance(raw, bool) and str(raw).strip().isdigit():
        found = _INT_SIDES.get(int(raw))
        if found is not None:
            return found
    raise ValueError(f"unknown side {raw!r}")


def status(raw: object, amount: Decimal, filled: Decimal) -> OrderStatus:
    """A named status mapped (NEW, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED, REJECTED, ...); an
    unknown or numeric one (no table is published) read from the amounts."""
    named = (
        _STATUSES.get(str(raw).upper().replace("_", "").replace(" ", "")) if isinstance(raw, str) else None
    )
    if named is None:
        if amount > 0 and filled >= amount:
            return OrderStatus.FILLED
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN
    if named is OrderStatus.OPEN and filled > 0:
        return OrderStatus.PARTIALLY_FILLED
    return named


def market_of(symbol: str) -> str:
    """`BTCUSDT` -> `BTC/USDT` (a known quote suffix); `btc_usdt` or `BTC-USDT` split at the separator;
    anything else is shown as the exchange wrote it."""
    text = symbol.strip().upper()
    for separator in ("/", "_", "-"):
        base, sep, quote = text.partition(separator)
        if sep and base and quote:
            return market(base, quote)
    for quote in _QUOTES:
        if text.endswith(quote) and len(text) > len(quote):
            return market(text[: -len(quote)], quote)
    return text


def items(data: Any, id_keys: tuple[str, ...]) -> list[tuple[Any, str | None]]:
    """The items of a payload, each with the member name it sat under (for an object keyed by id):
    a list of items; one item (it has an id key); an object wrapping a list (`list`, `rows`, ...);
    an object keyed by id (its object members; plain members beside them, such as a time, are
    metadata). `null` and `{}` hold none. Raises ValueError for anything else."""
    if data is None:
        return []
    if isinstance(data, list):
        return [(item, None) for item in data]
    if not isinstance(data, dict):
        raise ValueError(f"a payload of type {type(data).__name__}")
    if any(k in data for k in id_keys):
        return [(data, None)]
    for wrapper in _WRAPPERS:
        if isinstance(data.get(wrapper), list | dict):
            return items(data[wrapper], id_keys)
    members = [(value, str(key)) for key, value in data.items() if isinstance(value, dict)]
    if members or not data:
        return members
    raise ValueError(f"an object with members {sorted(data)[:8]}")


def _mapped(
    data: Any, id_keys: tuple[str, ...], make: Callable[[Mapping[str, Any], str | None], T], what: str
) -> tuple[list[T], list[str]]:
    """Each item through `make`; the problems (bad items, an unknown shape) as texts."""
    try:
        found = items(data, id_keys)
    except ValueError as exc:
        return [], [f"{what} payload: {exc}"]
    made: list[T] = []
    problems: list[str] = []
    for item, key in found:
        try:
            if not isinstance(item, dict):
                raise TypeError(f"an item of type {type(item).__name__}")
            made.append(make(item, key))
        except _BAD_FIELDS as exc:
            problems.append(f"{what} item skipped: {type(exc).__name__}: {exc}")
    return made, problems


# ---------------------------------------------------------------------- REST


def rest_data(body: str) -> Any:
    """The `data` of a REST answer in either documented envelope, or raises `RestError`.

    OpenAPI: `{"traceid","errorCode":200,"errorMessage","success":true,"duration",...,"data"}`;
    guides: `{"code":0,"msg":"success","data"}`. Numbers are parsed exactly: the docs' example
    `duration` (9223372036854776000) is beyond 2**53.
    """
    try:
        msg = json.loads(body, parse_float=Decimal)
    except ValueError as exc:
        raise MalformedFrame(f"REST answer is not JSON ({exc.args[0][:80]})") from None
    if not isinstance(msg, dict):
        return msg  # a bare list: no envelope at all
    if "errorCode" in msg or "success" in msg:
        code = _opt_int(msg.get("errorCode"))
        ok = msg.get("success") is True if "success" in msg else code in (200, 0)
        if not ok:
            raise RestError(code, str(msg.get("errorMessage") or msg.get("msg") or "request failed"))
        return msg.get("data")
    if "code" in msg:
        code = _opt_int(msg.get("code"))
        if code != 0:
            raise RestError(code, str(msg.get("msg") or msg.get("message") or "request failed"))
        return msg.get("data")
    return msg.get("data", msg)


def rest_balances(data: Any, time_ms: int) -> BalancesEvent:
    """The `data` of GET /api/v1/balance -> every asset (a complete snapshot). A bad item fails the
    whole answer: a snapshot without one of the assets would delete it."""
    return BalancesEvent(_all_items(data, ASSET_KEYS, balance, "balance snapshot"), time_ms, complete=True)


def rest_open_orders(data: Any, time_ms: int) -> OrdersEvent:
    """The `data` of GET /api/v1/openorders -> every open order (a complete snapshot)."""
    return OrdersEvent(_all_items(data, ORDER_ID_KEYS, order, "open orders"), time_ms, complete=True)


def rest_trades(data: Any) -> tuple[list[Fill], int | None]:
    """The `data` of GET /api/v1/historytrade -> (this page's fills, the `total` row count if given)."""
    total = _opt_int(data.get("total")) if isinstance(data, dict) else None
    return list(_all_items(data, TRADE_ID_KEYS, trade, "trade history")), total


def _all_items(
    data: Any, id_keys: tuple[str, ...], make: Callable[[Mapping[str, Any], str | None], T], what: str
) -> tuple[T, ...]:
    if isinstance(data, dict) and "total" in data:  # a page: {"total": n, "list": [...]}
        data = {k: v for k, v in data.items() if k not in ("total", "page", "limit", "pageSize")}
    made, problems = _mapped(data, id_keys, make, what)
    if problems:
        raise MalformedFrame("; ".join(problems[:3]))
    return tuple(made)


# ---------------------------------------------------------------------- fields


def _first(item: Mapping[str, Any], keys: Iterable[str], fallback: str | None = None) -> Any:
    """The value of the first of `keys` that is present and not null or empty; else `fallback`."""
    for key in keys:
        value = item.get(key)
        if value is not None and value != "":
            return value
    return fallback


def _opt_dec(item: Mapping[str, Any], keys: Iterable[str]) -> Decimal | None:
    value = _first(item, keys)
    return None if value is None else _dec(value)


def _opt_ms(item: Mapping[str, Any], keys: Iterable[str]) -> int | None:
    value = _first(item, keys)
    return None if value is None else _ms(value)


def _dec(value: object) -> Decimal:
    """A finite Decimal from a wire string or number; floats never reach here (parse_float=Decimal)."""
    if not (type(value) is str or (isinstance(value, int | Decimal) and not isinstance(value, bool))):
        raise ValueError(f"not a decimal: {value!r}")
    result = Decimal(value)
    if not result.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return result


def _ms(value: object) -> int:
    """A timestamp in milliseconds from seconds, milliseconds, micro- or nanoseconds (by magnitude)."""
    number = int(_dec(value))
    if number < 100_000_000_000:  # before 1973 in ms: these are seconds
        return number * 1000
    while number >= 100_000_000_000_000:  # past year 5000 in ms: micro- or nanoseconds
        number //= 1000
    return number


def _id(value: object) -> str:
    """Ids as exact strings: a JSON number beyond 2**53 is a Python int here, never a float."""
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise ValueError(f"not an id: {value!r}")
    return str(value)


def _opt_int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        return None
    try:
        return int(Decimal(value))
    except (InvalidOperation, ValueError, OverflowError):
        return None


def redact(text: str) -> str:
    """`text` with anything shaped like a JWT replaced: a server that echoes the token must not get
    it into a log line or the window. Done before any cut, so no piece of a token survives."""
    return _JWT_LIKE.sub("<token>", text)


def _short(data: object) -> str:
    """A server's words for the user, without a token, cut short."""
    text = data if isinstance(data, str) else json.dumps(data, default=str, separators=(",", ":"))
    return redact(text)[:200]


def _snippet(text: str) -> str:
    return repr(redact(text)[:60])
