"""The domain values every exchange is translated into.

Frozen values: never changed in place, so a view can keep one without copying. The three that every
frame builds (Balance, Order, Fill) are msgspec Structs: built and compared in C, 3 to 6 times faster
than frozen dataclasses (whose __init__ goes through object.__setattr__ per field), which is most of
a frame's cost on the hot path. They hold only strings, numbers and enums, so they cannot be part
of a reference cycle: `gc=False` keeps them out of the garbage collector's passes. `replace` below
makes a changed copy of a Struct or a dataclass.
Money is `Decimal`, built from the wire's string; ids are strings (several exceed 2**53); times are
integer milliseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

import msgspec

_ZERO = Decimal(0)
T = TypeVar("T")


def now_ms() -> int:
    """Wall-clock time in integer milliseconds (the unit every exchange timestamp is converted to)."""
    return time.time_ns() // 1_000_000


def market(base: str, quote: str) -> str:
    """The display form of a market: upper case `BASE/QUOTE`."""
    return f"{base.upper()}/{quote.upper()}"


def fmt(amount: Decimal) -> str:
    """An exact decimal string without exponent: `Decimal('1E-8')` -> `'0.00000001'`."""
    return format(amount, "f")


def replace(value: T, **changes: Any) -> T:
    """A copy of a model value (Struct) or a dataclass with `changes` applied."""
    if isinstance(value, msgspec.Struct):
        return msgspec.structs.replace(value, **changes)
    return dataclasses.replace(value, **changes)  # type: ignore[type-var]


def _negative(value: msgspec.Struct, *names: str) -> ValueError:
    """A balance, an order's price and sizes, a fill's price and size cannot be below zero: a parser
    that builds one from a hostile frame gets this ValueError, which it reports as MalformedFrame
    (a fee may be negative: a maker rebate)."""
    name = next(n for n in names if getattr(value, n) < 0)
    return ValueError(f"negative {name}: {getattr(value, name)}")


class State(StrEnum):
    """Where an account's connection stands; the GUI, the tray and the headless output show it."""

    CONNECTING = "connecting"
    SYNCING = "syncing"
    LIVE = "live"
    STALE = "stale"
    RECONNECTING = "reconnecting"
    AUTH_ERROR = "auth_error"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class Status:
    state: State
    detail: str
    since_ms: int


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)


class Balance(msgspec.Struct, frozen=True, gc=False):
    """One asset of one account. `locked` is everything that is neither available nor free (in orders,
    held, staked), as far as the exchange tells."""

    asset: str
    total: Decimal
    available: Decimal
    locked: Decimal

    def __post_init__(self) -> None:
        if self.total < _ZERO or self.available < _ZERO or self.locked < _ZERO:
            raise _negative(self, "total", "available", "locked")


class Order(msgspec.Struct, frozen=True, gc=False):
    order_id: str
    market: str
    side: Side
    kind: str  # limit, market, stop_limit, ... lower case, as the exchange names it
    price: Decimal
    amount: Decimal
    filled: Decimal
    status: OrderStatus
    created_ms: int
    updated_ms: int

    def __post_init__(self) -> None:
        if self.price < _ZERO or self.amount < _ZERO or self.filled < _ZERO:
            raise _negative(self, "price", "amount", "filled")


class Fill(msgspec.Struct, frozen=True, gc=False):
    """One match of one of the account's orders. `late` marks a fill first learnt from REST after a gap."""

    trade_id: str
    order_id: str
    market: str
    side: Side
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_asset: str
    time_ms: int
    late: bool = False

    def __post_init__(self) -> None:
        if self.price < _ZERO or self.amount < _ZERO:
            raise _negative(self, "price", "amount")
