"""What a parser or a REST snapshot hands to the store: exchange-neutral events.

Every event carries the exchange's own time (`time_ms`) so the engine can order events that were
buffered while a REST snapshot was in flight.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.model import Balance, Fill, Order


class MalformedFrame(ValueError):
    """A frame that is not what the protocol promises; the engine logs, counts and skips it."""


@dataclass(frozen=True, slots=True)
class BalancesEvent:
    """Absolute balances. `complete` means these are all of the account's assets (a snapshot):
    any asset not listed is gone. Otherwise each listed asset is upserted."""

    balances: tuple[Balance, ...]
    time_ms: int
    complete: bool = False


@dataclass(frozen=True, slots=True)
class OrdersEvent:
    """Absolute order states. `complete` means these are all open orders (a snapshot): an open order
    not listed has closed. Otherwise each listed order is upserted; a closed status removes it."""

    orders: tuple[Order, ...]
    time_ms: int
    complete: bool = False


@dataclass(frozen=True, slots=True)
class FillEvent:
    fill: Fill
    time_ms: int


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """A well-formed frame of a kind this app does not use; logged once per name and ignored."""

    name: str
    time_ms: int = 0


@dataclass(frozen=True, slots=True)
class ServerError:
    """The exchange answered with an error text inside the stream (not a transport failure)."""

    text: str
    auth: bool = False
    time_ms: int = 0


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """An application-level pong or other keep-alive answer: proof the stream is alive, no data."""

    time_ms: int = 0


@dataclass(frozen=True, slots=True)
class ReconnectRequested:
    """The server asked the client to reconnect (e.g. Bitstamp's bts:request_reconnect)."""

    time_ms: int = 0


Event = BalancesEvent | OrdersEvent | FillEvent | UnknownEvent | ServerError | Heartbeat | ReconnectRequested
