"""Coins.ph's user data stream: one websocket at `<ws>/openapi/ws/<listenKey>`, nothing to send but the
application ping; the listenKey's life cycle rides on the engine's plan hooks.

- `plans()` (called for every connect, and for the switch to a fresh connection) reuses the key while a
  PUT on it succeeds and POSTs only when it is gone (-1125). POSTs are spaced by `key_spacing_s`, so no
  failure mode can create keys in a tight loop (Coins.ph limits creation per hour, -1026).
- `keepalive` PUTs the key every `keepalive_s` (30 min; a key lives 60), beside the socket. A PUT that
  answers -1125 raises ReconnectNow: the engine opens a new socket on a new key, closes the old one and
  resyncs, without an error state or a backoff. A transient PUT failure is retried a few times first.
- `max_age_s` (23 h 50 min) makes the engine switch to a fresh connection before the server's 24 h cap:
  new socket first, then the old one closed, then a REST resync, so nothing is missed and the account
  stays `live` throughout (its detail says "switching to a fresh connection" meanwhile).
- `refused` turns a refused upgrade (the key expired or was deleted between the PUT and the connect) into a
  short retry instead of an auth error: the next `plans()` finds the key gone and creates one.
- `close()` DELETEs the key when the account stops.

The app ping `{"ping":<ms>}` goes every `ping_s` (60 s; the market-stream page asks for one at least
every 5 min) and is answered `{"pong":<ms>}`; the engine's silence watchdog reconnects when neither data
nor pongs arrive. The `<ms>` is the time the connection's plan was made: the engine sends one fixed
frame, and the server only echoes it. Websocket pings from the server are answered by the library.

`CoinsphTiming` holds these intervals. Tests shrink them together with the simulator's `time_scale`
(`CoinsphTiming().faster(k)` against `CoinsphSimulator(time_scale=k)`), through `spec_with(timing)` in the
package: the engine reads them off the plans, so it needs no knowledge of Coins.ph.

Live events can arrive out of order (the seed: "make sure to order your updates using E"). The engine
sorts what it buffers during a snapshot; for live events `EventOrder` keeps, per order and per asset, the
newest event time applied and drops older updates (fills are never dropped: the store dedupes them).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import partial

import aiohttp

from streams.config import AccountConfig
from streams.events import BalancesEvent, Event, OrdersEvent
from streams.exchange import AuthFailed, Credentials, ExchangeUnavailable, ReconnectNow, StreamPlan
from streams.exchanges.coinsph import parser
from streams.exchanges.coinsph.rest import CoinsphApi, ListenKeyGone, make_api
from streams.model import now_ms, replace

log = logging.getLogger(__name__)

WS_URL = "wss://wsapi.pro.coins.ph"
STREAM_PATH = "/openapi/ws/"
KEEPALIVE_TRIES = 3
_TRANSIENT = (ExchangeUnavailable, aiohttp.ClientError, TimeoutError)


@dataclass(frozen=True, slots=True)
class CoinsphTiming:
    """The protocol's intervals, in seconds (defaults: the real exchange's)."""

    ping_s: float = 60.0  # app-level {"ping":ms}
    keepalive_s: float = 1_800.0  # PUT the listenKey (valid 60 min)
    max_age_s: float = 86_400.0 - 600.0  # switch to a fresh connection before the 24 h cap
    keepalive_retry_s: float = 60.0  # between tries of a failed PUT
    key_spacing_s: float = 60.0  # at least this long between two listenKey creations

    def faster(self, factor: float) -> CoinsphTiming:
        """Every interval divided by `factor`: the client side of the simulator's `time_scale`."""
        return CoinsphTiming(*(getattr(self, f.name) / factor for f in fields(self)))


class EventOrder:
    """'The newest event time wins', per order and per asset, for events as they arrive.

    An order update older than one already passed for the same order is dropped, so a delayed NEW can
    neither undo a partial fill nor re-open a filled order; likewise a balance position older than the
    last one passed for that asset. FillEvents, snapshots and everything else pass untouched. Not
    covered: a live event older than a REST snapshot that arrives after it; the next event for that
    order or asset, or the periodic snapshot, corrects it.
    """

    def __init__(self, remembered: int = 50_000) -> None:
        self._orders: OrderedDict[str, int] = OrderedDict()
        self._assets: dict[str, int] = {}
        self._remembered = remembered
        self.dropped = 0

    def __call__(self, events: Sequence[Event]) -> list[Event]:
        passed: list[Event] = []
        for event in events:
            if isinstance(event, OrdersEvent) and not event.complete:
                orders = tuple(
                    o for o in event.orders if self._newest(self._orders, o.order_id, o.updated_ms)
                )
                if orders:
                    passed.append(event if orders == event.orders else replace(event, orders=orders))
            elif isinstance(event, BalancesEvent) and not event.complete:
                balances = tuple(
                    b for b in event.balances if self._newest(self._assets, b.asset, event.time_ms)
                )
                if balances:
                    passed.append(event if balances == event.balances else replace(event, balances=balances))
            else:
                passed.append(event)
        return passed

    def _newest(self, seen: dict[str, int], key: str, time_ms: int) -> bool:
        last = seen.get(key)
        if last is not None and time_ms < last:
            self.dropped += 1
            log.info(
                "ignoring an update of %s from %d ms before the one already applied", key, last - time_ms
            )
            return False
        seen[key] = time_ms
        if isinstance(seen, OrderedDict):
            seen.move_to_end(key)
            if len(seen) > self._remembered:
                seen.popitem(last=False)
        return True


class CoinsphSession:
    def __init__(self, api: CoinsphApi, ws_base: str, timing: CoinsphTiming) -> None:
        self._api = api
        self._ws_base = ws_base.rstrip("/")
        self._timing = timing
        self._key: str | None = None
        self._created_at: float | None = None  # loop time of the last listenKey creation
        self._order = EventOrder()

    async def plans(self) -> Sequence[StreamPlan]:
        symbols = await self._api.symbols()
        key = await self._listen_key()
        gate = self._order

        def parse(frame: str) -> list[Event]:
            return gate(parser.parse(frame, symbols))

        return [
            StreamPlan(
                name="user-data",
                url=f"{self._ws_base}{STREAM_PATH}{key}",
                parse=parse,
                ping_frame=json.dumps({"ping": now_ms()}),
                ping_interval_s=self._timing.ping_s,
                keepalive=partial(self._keep_alive, key),
                keepalive_interval_s=self._timing.keepalive_s,
                max_age_s=self._timing.max_age_s,
                refused=self._refused,
            )
        ]

    async def close(self) -> None:
        """DELETE the listenKey: the account stopped; nothing should keep it alive on the server."""
        key, self._key = self._key, None
        if key is None:
            return
        try:
            await self._api.delete_listen_key(key)
        except (ListenKeyGone, AuthFailed, *_TRANSIENT) as exc:
            log.info("could not delete the listenKey: %s", exc)

    async def _listen_key(self) -> str:
        """The key to connect with: the current one if a PUT still extends it, else a new one."""
        if self._key is not None:
            try:
                await self._api.keep_alive(self._key)
                return self._key
            except ListenKeyGone:
                log.info("the listenKey no longer exists; creating a new one")
                self._key = None
        loop = asyncio.get_running_loop()
        if self._created_at is not None and loop.time() - self._created_at < self._timing.key_spacing_s:
            raise ExchangeUnavailable(
                f"a listenKey was created less than {self._timing.key_spacing_s:g} s ago; waiting before "
                "creating another (Coins.ph limits listenKey creation per hour)"
            )
        previous, self._created_at = self._created_at, loop.time()
        try:
            self._key = await self._api.create_listen_key()
        except AuthFailed:
            # Refused, so nothing was created: the slow auth retry paces the next POST, and the
            # account keeps showing the exchange's words instead of "waiting before creating another".
            self._created_at = previous
            raise
        return self._key

    async def _keep_alive(self, key: str) -> None:
        """PUT the key. Gone: switch to a new key at once. Transient failures: a few more tries, the
        key stays valid for another 30 minutes meanwhile."""
        for attempt in range(1, KEEPALIVE_TRIES + 1):
            try:
                await self._api.keep_alive(key)
                return
            except ListenKeyGone:
                if self._key == key:
                    self._key = None
                raise ReconnectNow("the listenKey expired; switching to a new one") from None
            except _TRANSIENT as exc:
                if attempt == KEEPALIVE_TRIES:
                    raise
                log.warning("listenKey keep-alive failed (%s); trying again", exc)
                await asyncio.sleep(self._timing.keepalive_retry_s)

    def _refused(self, status: int, text: str) -> Exception | None:
        """A refused upgrade: the URL's only credential is the listenKey, so a 4xx means the key is gone
        (expired or deleted since the PUT). A short retry; the next plans() checks it and makes a new one."""
        if status == 429 or status >= 500:
            return None
        return ExchangeUnavailable(f"the stream refused the listenKey (HTTP {status}: {text}); renewing it")


def make_session(
    account: AccountConfig,
    credentials: Credentials,
    http: aiohttp.ClientSession,
    *,
    timing: CoinsphTiming | None = None,
) -> CoinsphSession:
    return CoinsphSession(
        make_api(account, credentials, http), account.ws_url or WS_URL, timing or CoinsphTiming()
    )
