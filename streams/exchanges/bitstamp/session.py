"""Bitstamp's private websocket: one connection, two channels per market, subscribed with a token.

Per connect (`plans()`): the pair list (`trading-pairs-info`, public) and a websocket token. The first
connect after a start may reuse the token kept in the keyring while it is valid; every later connect
(a reconnect, a `bts:request_reconnect`, the 90-day cap) gets a fresh one and replaces the stored one.
A token that runs out while connected is replaced for the next subscribes; running subscriptions
outlive it.

Which markets: the configured ones (checked against the pair list: Bitstamp acknowledges subscribes
to channels that do not exist, so a typo would stay silent), those of earlier connections, and while
connected every market with an open order or whose two currencies the account holds. The handshake
subscribes what is known before the REST snapshot and waits for each ack (a 4009 error instead means
the token was refused). Markets found later (an order in a new market) are subscribed on the same
connection through `subscribe_more`; their acks ask REST for the fills made before them.

Keepalive: `{"event":"bts:heartbeat"}` every 30 s; the engine's silence window (40 s) turns a missing
reply into a dead link. Connections are switched for fresh ones every 20 days (the server's cap is 90).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import aiohttp
from websockets.asyncio.client import ClientConnection

from streams.config import AccountConfig
from streams.events import Event, MalformedFrame, MalformedPart, ReconnectRequested, ServerError
from streams.exchange import AuthFailed, Credentials, ExchangeUnavailable, ReconnectNow, StreamPlan
from streams.exchanges.bitstamp import parser
from streams.exchanges.bitstamp.parser import (
    HEARTBEAT,
    ORDERS_CHANNEL,
    TRADES_CHANNEL,
    UNAUTHORIZED,
    StreamParser,
    channel,
    market_id,
    subscribe_frame,
)
from streams.exchanges.bitstamp.rest import REST_URL, BitstampHttp
from streams.exchanges.bitstamp.token_store import TokenStore, WsToken
from streams.model import now_ms
from streams.store import AccountStore

log = logging.getLogger(__name__)

WS_URL = "wss://ws.bitstamp.net"
HEARTBEAT_S = 30.0  # bts:heartbeat every 30 s; no reply within ~10 s = dead link (spec.silence_s 40 s)
# The server closes connections after 90 days; switching long before is harmless, and a sleep beyond
# 2**31 ms (24.8 days) overflows the Qt timer behind qasync's loop in the GUI.
MAX_AGE_S = 20 * 86_400.0
TOKEN_MARGIN_MS = 10_000  # a token with less validity left is not used for a new subscribe
KINDS = (ORDERS_CHANNEL, TRADES_CHANNEL)


class BitstampSession:
    def __init__(
        self,
        account: AccountConfig,
        credentials: Credentials,
        http: aiohttp.ClientSession,
        *,
        tokens: TokenStore | None = None,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self._account = account
        self._url = account.ws_url or WS_URL
        self._http = BitstampHttp(account.rest_url or REST_URL, credentials, http)
        self.tokens = tokens or TokenStore(account.id, in_keyring=not account.simulated)
        self._heartbeat_s = heartbeat_s
        self.connects = 0
        self._token: WsToken | None = None
        self._token_was_stored = False  # the current token came from the keyring, not from REST
        self._remembered: set[str] = set()  # market ids subscribed on earlier connections
        self._warned: set[str] = set()

    async def plans(self) -> Sequence[StreamPlan]:
        self.connects += 1
        names = await self._http.trading_pairs()
        token = await self._connect_token(reuse_stored=self.connects == 1)
        initial = self._configured(names) | (self._remembered & names.keys())
        return [self._plan(names, token, initial)]

    async def close(self) -> None:
        """Nothing to release: the token is kept (a restart within its validity reuses it)."""

    # ---- tokens --------------------------------------------------------------------------------

    async def _connect_token(self, *, reuse_stored: bool) -> WsToken:
        if reuse_stored:
            stored = await self.tokens.load()
            if stored is not None and stored.valid_for_ms(now_ms()) > TOKEN_MARGIN_MS:
                self._token, self._token_was_stored = stored, True
                return stored
        return await self._fresh_token()

    async def _fresh_token(self) -> WsToken:
        token = await self._http.websocket_token()
        await self.tokens.save(token)
        self._token, self._token_was_stored = token, False
        return token

    async def _subscribe_token(self) -> WsToken:
        """The current token while it is valid, else a fresh one (no reconnect needed for that)."""
        token = self._token
        if token is None or token.valid_for_ms(now_ms()) <= TOKEN_MARGIN_MS:
            token = await self._fresh_token()
        return token

    def _refused(self, code: int | None, words: str) -> Exception:
        """What a bts:error answering our subscribes means for the connection."""
        if code != UNAUTHORIZED:
            return ExchangeUnavailable(f"Bitstamp refused a subscribe: {words}")
        if self._token_was_stored:  # kept from an earlier run but no longer accepted: get a new one
            self._token, self._token_was_stored = None, False
            return ReconnectNow("the stored websocket token was refused; getting a fresh one")
        return AuthFailed(words)

    # ---- markets -------------------------------------------------------------------------------

    def _configured(self, names: dict[str, str]) -> set[str]:
        """Market ids of the configured markets that Bitstamp lists; a warning (once) for the others."""
        found = set()
        for name in self._account.markets:
            mid = market_id(name)
            if mid in names:
                found.add(mid)
            elif name not in self._warned:
                self._warned.add(name)
                log.warning(
                    "%s: configured market %s is not listed by Bitstamp (trading-pairs-info); "
                    "not subscribed: check its spelling",
                    self._account.id,
                    name,
                )
        return found

    # ---- the plan ------------------------------------------------------------------------------

    def _plan(self, names: dict[str, str], token: WsToken, initial: set[str]) -> StreamPlan:
        stream = StreamParser(names)
        backlog: list[str] = []  # frames the handshake read that were not its acks
        covered = set(initial)  # market ids subscribed on this connection
        ids = {name: mid for mid, name in names.items()}
        pairs = [(mid, *name.split("/", 1)) for mid, name in names.items()]

        async def handshake(ws: ClientConnection) -> None:
            """Subscribe what is known before the snapshot and wait for every ack."""
            channels = [channel(kind, mid, token.user_id) for mid in sorted(initial) for kind in KINDS]
            for name in channels:
                await ws.send(subscribe_frame(name, token.token))
            pending = set(channels)
            while pending:
                frame = await ws.recv()
                text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
                try:
                    event, name, data = parser.control(text)
                except MalformedFrame:
                    backlog.append(text)  # counted by the engine when the backlog is parsed
                    continue
                if event == "bts:subscription_succeeded":
                    pending.discard(name)
                elif event == "bts:error":
                    raise self._refused(*parser.error_of_frame({"data": data}))
                else:
                    backlog.append(text)  # data of a channel acked already: not to be lost
            if backlog:
                await ws.send(HEARTBEAT)  # its prompt reply hands the backlog to the reader

        def parse(frame: str) -> list[Event]:
            if backlog:
                events = stream.backlog(backlog)
                backlog.clear()
                try:
                    return events + self._checked(stream(frame))
                except MalformedFrame as exc:
                    return [*events, MalformedPart(str(exc))]
            return self._checked(stream(frame))

        async def subscribe_more(store: AccountStore) -> Sequence[str]:
            wanted = {ids[o.market] for o in store.orders.values() if o.market in ids}
            held = {asset for asset, balance in store.balances.items() if balance.total > 0}
            if len(held) > 1:
                wanted.update(mid for mid, base, quote in pairs if base in held and quote in held)
            new = wanted - covered
            if not new:
                return ()
            fresh = await self._subscribe_token()
            covered.update(new)
            self._remembered.update(new)
            return [
                subscribe_frame(channel(kind, mid, fresh.user_id), fresh.token)
                for mid in sorted(new)
                for kind in KINDS
            ]

        return StreamPlan(
            name="private",
            url=self._url,
            parse=parse,
            handshake=handshake,
            ping_frame=HEARTBEAT,
            ping_interval_s=self._heartbeat_s,
            subscribe_more=subscribe_more,
            max_age_s=MAX_AGE_S,
        )

    def _checked(self, events: list[Event]) -> list[Event]:
        """A 4009 for a token kept from an earlier run asks for a fresh connection (and token)
        instead of an authentication error."""
        if self._token_was_stored and events:
            first = events[0]
            if type(first) is ServerError and first.auth:
                self._token, self._token_was_stored = None, False
                return [ReconnectRequested()]
        return events


def make_session(
    account: AccountConfig,
    credentials: Credentials,
    http: aiohttp.ClientSession,
    *,
    heartbeat_s: float = HEARTBEAT_S,
) -> BitstampSession:
    return BitstampSession(account, credentials, http, heartbeat_s=heartbeat_s)
