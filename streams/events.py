"""What a parser or a REST snapshot hands to the store: exchange-neutral events.

Every event carries the exchange's own time (`time_ms`) so the engine can order events that were
buffered while a REST snapshot was in flight. Frozen msgspec Structs, as the model's values: a frame
makes one or two, and a frozen dataclass costs three times as much to build. Frozen, holding only
model values, tuples and frozensets, they cannot form a cycle: `gc=False` (the collector skips them).
"""

from __future__ import annotations

import msgspec

from streams.model import Balance, Fill, Order


class MalformedFrame(ValueError):
    """A frame that is not what the protocol promises; the engine logs, counts and skips it."""


class BalancesEvent(msgspec.Struct, frozen=True, gc=False):
    """Absolute balances. `complete` means these are all of the account's assets (a snapshot):
    any asset not listed is gone. Otherwise each listed asset is upserted."""

    balances: tuple[Balance, ...]
    time_ms: int
    complete: bool = False


class OrdersEvent(msgspec.Struct, frozen=True, gc=False):
    """Absolute order states. `complete` means these are all open orders (a snapshot): an open order
    not listed has closed. Otherwise each listed order is upserted; a closed status removes it."""

    orders: tuple[Order, ...]
    time_ms: int
    complete: bool = False


class FillEvent(msgspec.Struct, frozen=True, gc=False):
    fill: Fill
    time_ms: int


class UnknownEvent(msgspec.Struct, frozen=True, gc=False):
    """A well-formed frame of a kind this app does not use; logged once per name and ignored."""

    name: str
    time_ms: int = 0


class ServerError(msgspec.Struct, frozen=True, gc=False):
    """The exchange answered with an error text inside the stream (not a transport failure)."""

    text: str
    auth: bool = False
    time_ms: int = 0


class Heartbeat(msgspec.Struct, frozen=True, gc=False):
    """An application-level pong or other keep-alive answer: proof the stream is alive, no data."""

    time_ms: int = 0


class ReconnectRequested(msgspec.Struct, frozen=True, gc=False):
    """The server asked the client to reconnect (Bitstamp's bts:request_reconnect, an expired
    listenKey): the engine opens fresh connections, switches to them, closes the old ones and resyncs."""

    time_ms: int = 0


class Refresh(msgspec.Struct, frozen=True, gc=False):
    """The stream said something changed but not all of it: ask REST (`RestClient.refresh`).

    CoinW's order channel has no partial-fill event, so an order frame asks for that order's trades;
    Bitstamp has no balance channel, so a trade asks for the balances. `orders` are (order id, market)
    pairs; `assets` are widened by the engine to the known markets that trade them. Requests made within
    a short window are merged into one REST round.
    """

    orders: frozenset[tuple[str, str]] = frozenset()
    markets: frozenset[str] = frozenset()
    assets: frozenset[str] = frozenset()
    balances: bool = False
    time_ms: int = 0

    def __or__(self, other: Refresh) -> Refresh:
        return Refresh(
            self.orders | other.orders,
            self.markets | other.markets,
            self.assets | other.assets,
            self.balances or other.balances,
            max(self.time_ms, other.time_ms),
        )


class RawPayload(msgspec.Struct, frozen=True, gc=False):
    """A payload whose fields are not fully published (Bitzoom): kept verbatim so the user can see
    exactly what the exchange sent, next to what the parser made of it."""

    channel: str
    text: str
    time_ms: int = 0


class MalformedPart(msgspec.Struct, frozen=True, gc=False):
    """One bad part of a frame that holds several (Bitzoom's newline-separated lines): counted and
    logged like a malformed frame, while the good parts of the same frame are still applied."""

    reason: str
    time_ms: int = 0


Event = (
    BalancesEvent
    | OrdersEvent
    | FillEvent
    | UnknownEvent
    | ServerError
    | Heartbeat
    | ReconnectRequested
    | Refresh
    | RawPayload
    | MalformedPart
)
