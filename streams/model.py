"""The domain values every exchange is translated into.

Frozen, slotted dataclasses: a value is never changed in place, so a view can keep one without copying.
Money is `Decimal`, built from the wire's string; ids are strings (several exceed 2**53); times are
integer milliseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


def now_ms() -> int:
    """Wall-clock time in integer milliseconds (the unit every exchange timestamp is converted to)."""
    return time.time_ns() // 1_000_000


def market(base: str, quote: str) -> str:
    """The display form of a market: upper case `BASE/QUOTE`."""
    return f"{base.upper()}/{quote.upper()}"


def fmt(amount: Decimal) -> str:
    """An exact decimal string without exponent: `Decimal('1E-8')` -> `'0.00000001'`."""
    return format(amount, "f")


def _never_negative(value: object, *names: str) -> None:
    """A balance, an order's price and sizes, a fill's price and size cannot be below zero: a parser
    that builds one from a hostile frame gets this ValueError, which it reports as MalformedFrame
    (a fee may be negative: a maker rebate)."""
    for name in names:
        if getattr(value, name) < 0:
            raise ValueError(f"negative {name}: {getattr(value, name)}")


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


@dataclass(frozen=True, slots=True)
class Balance:
    """One asset of one account. `locked` is everything that is neither available nor free (in orders,
    held, staked), as far as the exchange tells."""

    asset: str
    total: Decimal
    available: Decimal
    locked: Decimal

    def __post_init__(self) -> None:
        _never_negative(self, "total", "available", "locked")


@dataclass(frozen=True, slots=True)
class Order:
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
        _never_negative(self, "price", "amount", "filled")


@dataclass(frozen=True, slots=True)
class Fill:
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
        _never_negative(self, "price", "amount")
