"""The shape every exchange module fills in, and the errors the engine tells apart.

An exchange is a package under `streams/exchanges/<name>/` with the same modules:
`signer` (pure), `parser` (pure: frame -> events), `session` (which websockets to open and what to send
on them), `rest` (snapshot and fill recovery), `simulator` (a local stand-in for the tests and the
demo), and an `ExchangeSpec` in its `__init__` that the registry lists. The engine reads the spec and
never an exchange's name.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from streams.events import BalancesEvent, Event, OrdersEvent, Refresh
from streams.model import Fill
from streams.redaction import register_secret

if TYPE_CHECKING:
    import aiohttp
    from websockets.asyncio.client import ClientConnection

    from streams.config import AccountConfig
    from streams.simulator.base import ExchangeSimulator
    from streams.store import AccountStore


class AuthFailed(Exception):
    """The exchange refused the credentials. `text` is the exchange's own answer, shown to the user.
    Not transient: the engine retries slowly instead of backing off from 0.5 s."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class ExchangeUnavailable(Exception):
    """A transient failure on the exchange's side (HTTP 5xx, 429, refused socket, timeout).
    `retry_after_s` is the exchange's own Retry-After, which the engine waits at least."""

    def __init__(self, text: str, retry_after_s: float | None = None) -> None:
        super().__init__(text)
        self.retry_after_s = retry_after_s


def http_failure(
    what: str, status: int, body: bytes | str | None, headers: Mapping[str, str], auth_statuses: Iterable[int]
) -> AuthFailed | ExchangeUnavailable:
    """The exception for a refused REST call: the exchange's own text, as AuthFailed for the statuses
    that mean credentials (or the clock) on this exchange, else transient with its Retry-After."""
    text = f"HTTP {status}: {error_text(body)}"
    if status in auth_statuses:
        return AuthFailed(text)
    return ExchangeUnavailable(f"{what}: {text}", retry_after(headers))


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Retry-After in seconds (the delta-seconds form; an HTTP date is rare from APIs and ignored)."""
    value = headers.get("Retry-After", "")
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds <= 86_400 else None


class ReconnectNow(Exception):
    """Raised by a session (e.g. a listenKey that no longer exists) to get fresh connections at once:
    the engine opens new plans, switches to them and resyncs, without a backoff wait."""


def error_text(body: bytes | str | None) -> str:
    """The exchange's own words from an error body: its `error`/`message`/`msg` member, or the text."""
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    with contextlib.suppress(ValueError, RecursionError):  # RecursionError: nesting too deep
        data = json.loads(raw)
        if isinstance(data, dict):
            for key in ("error", "message", "msg"):
                if isinstance(data.get(key), str):
                    return data[key]
    return raw.strip()[:300] or "no reason given"


Handshake = Callable[["ClientConnection"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """One websocket the engine opens for an account.

    `headers` are sent on the HTTP upgrade; `handshake` sends login/subscribe frames after it and
    returns once the server acknowledged them (raising `AuthFailed` on a refusal); `ping_frame` is an
    application-level ping sent every `ping_interval_s` (None: the websocket's own ping frames do).

    `subscribe_more` is asked, whenever the account's orders or balances changed, which frames to send
    so the socket also covers markets it did not know of at connect time (Bitstamp's channels are per
    market); it returns nothing when all is covered. `keepalive` runs every `keepalive_interval_s`
    beside the socket (Coins.ph's listenKey PUT); raising ends the connection. After `max_age_s` the
    engine switches to fresh connections before the server's own cap closes this one.

    `refused(status, text)` classifies a refused upgrade where the default (4xx: credentials, so a slow
    auth retry; else transient) is wrong for this URL, e.g. a Coins.ph listenKey that expired: return
    the exception to end the attempt with, or None for the default.
    """

    name: str
    url: str
    parse: Callable[[str], Sequence[Event]]
    headers: Mapping[str, str] = field(default_factory=dict)
    handshake: Handshake | None = None
    ping_frame: str | None = None
    ping_interval_s: float = 20.0
    subscribe_more: Callable[[AccountStore], Awaitable[Sequence[str]]] | None = None
    keepalive: Callable[[], Awaitable[None]] | None = None
    keepalive_interval_s: float = 1800.0
    max_age_s: float | None = None
    refused: Callable[[int, str], Exception | None] | None = None


class ExchangeSession(Protocol):
    """The thin async part of an exchange: fresh plans (new nonce, signature, token) for every connect."""

    async def plans(self) -> Sequence[StreamPlan]: ...

    async def close(self) -> None:
        """Release what the exchange keeps for us (Coins.ph's listenKey) when the account stops."""
        ...


@dataclass(frozen=True, slots=True)
class Snapshot:
    balances: BalancesEvent
    orders: OrdersEvent


class RestClient(Protocol):
    """The REST part: the state to start from, and the fills a gap in the stream may have hidden."""

    async def snapshot(self) -> Snapshot: ...

    async def fills_since(self, since_ms: int, markets: set[str], assets: set[str]) -> Sequence[Fill]:
        """Fills from `since_ms` on. `markets` had open orders or are configured; `assets` changed
        balance across the gap, so an order placed and filled entirely within it is found too."""
        ...

    async def refresh(self, request: Refresh) -> Sequence[Event]:
        """Answer a stream's `Refresh`: the orders, fills or balances it could not carry itself.
        Exchanges whose streams carry everything return nothing."""
        ...


@dataclass(frozen=True, slots=True)
class Credentials:
    """The secrets of one account, as stored in the keyring. `repr` never shows them, and making one
    registers its values with the redactor, so no log line or crash message can show them either."""

    values: Mapping[str, str]

    def __post_init__(self) -> None:
        register_secret(*self.values.values())

    def __getitem__(self, name: str) -> str:
        return self.values[name]

    def __repr__(self) -> str:
        return f"Credentials({sorted(self.values)} hidden)"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class ExchangeSpec:
    """Everything the engine, the CLI and the demo need to know about one exchange."""

    name: str  # config value, e.g. "bitopro"
    title: str  # display name, e.g. "BitoPro"
    secret_fields: tuple[str, ...]  # keyring JSON members, e.g. ("api_key", "api_secret", "email")
    ws_url: str
    rest_url: str
    make_session: Callable[[AccountConfig, Credentials, aiohttp.ClientSession], ExchangeSession]
    make_rest: Callable[[AccountConfig, Credentials, aiohttp.ClientSession], RestClient]
    make_simulator: Callable[..., ExchangeSimulator]
    first_backoff_s: float = 0.5  # the first wait after a lost connection (Bitzoom asks for about 2 s)
    silence_s: float = 30.0  # no frame and no pong for this long: stale, reconnect
    ws_ping_interval_s: float | None = 20.0  # websocket ping frames; None where the exchange pings us
    resync_s: float | None = 300.0  # re-read the REST snapshot this often while live
    balances_polled_s: float | None = None  # set where balances come only from REST polling
    match_fills_across_sources: bool = False  # stream and REST give one fill different ids
    token_kinds: tuple[str, ...] = ()  # short-lived tokens it keeps in the keyring (removed with the account)
