"""Bitzoom's unpublished payload fields -> domain values: a tolerant mapper. Pure.

Bitzoom publishes no field list for its balance, open-order and trade payloads (protocol notes
section 8). Each value is read from the first of its likely keys that is present (the keys the notes
list, most specific first), missing amounts are derived from the others, numbers are exact (strings
or JSON numbers, never floats), ids are kept as exact strings (several exceed 2**53), and a payload
may be a list, a single object, an object keyed by id or a list wrapped in an object. Whatever is
not mapped stays visible through the raw payloads (see `parser`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from streams.exchanges.wire import BAD_FIELDS, decimal, integer
from streams.model import Balance, Fill, Order, OrderStatus, Side, market

T = TypeVar("T")

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


def mapped(
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
        except BAD_FIELDS as exc:
            problems.append(f"{what} item skipped: {type(exc).__name__}: {exc}")
    return made, problems


def _first(item: Mapping[str, Any], keys: Iterable[str], fallback: str | None = None) -> Any:
    """The value of the first of `keys` that is present and not null or empty; else `fallback`."""
    for key in keys:
        value = item.get(key)
        if value is not None and value != "":
            return value
    return fallback


def _opt_dec(item: Mapping[str, Any], keys: Iterable[str]) -> Decimal | None:
    value = _first(item, keys)
    return None if value is None else decimal(value)


def _opt_ms(item: Mapping[str, Any], keys: Iterable[str]) -> int | None:
    value = _first(item, keys)
    return None if value is None else _ms(value)


def _ms(value: object) -> int:
    """A timestamp in milliseconds from seconds, milliseconds, micro- or nanoseconds (by magnitude)."""
    number = int(decimal(value))
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


def opt_int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        return None
    try:
        return integer(Decimal(value), value)
    except (InvalidOperation, ValueError, OverflowError):
        return None
