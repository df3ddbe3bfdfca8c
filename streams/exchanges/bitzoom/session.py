"""Bitzoom's one private websocket: log on with the JWT, subscribe balances and open orders, route the
pushes by the subIds the acks handed out.

Every connect gets a fresh `_Connection` (the engine calls `plans()` for each), so the subId map is
rebuilt from the new acks after a reconnect, as the docs require: subIds change. The engine waits
about 2 s before reconnecting (the spec's first backoff), sends websocket pings (no keepalive is
documented for this protocol) and resyncs through REST afterwards.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from websockets.asyncio.client import ClientConnection

from streams.config import AccountConfig
from streams.events import Event, MalformedFrame, MalformedPart, RawPayload, ServerError
from streams.exchange import AuthFailed, Credentials, ExchangeUnavailable, StreamPlan
from streams.exchanges.bitzoom import parser, signer
from streams.exchanges.bitzoom.parser import BALANCE, CONTROL_EVENTS, LOGON, OPEN_ORDERS, Subscription
from streams.model import now_ms, replace

log = logging.getLogger(__name__)

WS_URL = "ws://119.8.50.236:8088/ws"  # the docs' only host ("Gateway Spec Server"); tests never use it
REST_URL = "http://119.8.50.236:8088"
SUBSCRIPTIONS: tuple[tuple[str, Mapping[str, Any]], ...] = ((BALANCE, {}), (OPEN_ORDERS, {}))
MAX_AGE_S = 23 * 3600.0  # the FAQ says connections close after 24 h: switch before that


def ws_url_for(base: str) -> str:
    """The websocket URL from a configured base, by the docs' scheme rule: a `ws://`/`wss://` URL is
    used as it is; an `http(s)://` URL or a bare `host[:port]` gets `/ws`, with `ws://` for an IP host
    and `wss://` for a domain (`https` always means `wss`)."""
    text = base.strip().rstrip("/")
    scheme, sep, rest = text.partition("://")
    scheme = scheme.lower() if sep else ""
    if scheme in ("ws", "wss"):
        return text
    rest = rest if sep else text
    host = urlsplit("//" + rest).hostname or ""
    secure = scheme == "https" or (scheme != "http" and not _is_ip(host))
    return f"{'wss' if secure else 'ws'}://{rest}/ws"


def rest_url_for(account: AccountConfig) -> str:
    """The REST base: configured, else the websocket's host (same gateway), else the docs' host."""
    if account.rest_url:
        return account.rest_url.rstrip("/")
    if account.ws_url:
        url = ws_url_for(account.ws_url)
        scheme, _, rest = url.partition("://")
        return f"{'https' if scheme == 'wss' else 'http'}://{rest.removesuffix('/ws')}"
    return REST_URL


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class _Connection:
    """One socket's state: the subId map built from its acks, and the payloads that arrived while
    it was still logging on (their raw text is handed on with the first frame after the handshake;
    their data is older than the REST snapshot the engine takes next, so it is not applied)."""

    def __init__(self, account_id: str, token: str) -> None:
        self.account_id = account_id
        self.subs: dict[str, Subscription] = {}
        self._token = token
        self._early: dict[str, str] = {}

    async def handshake(self, ws: ClientConnection) -> None:
        """Log on, then subscribe every channel, and return once every subscription is acked.

        The logon frame carries the token: it is sent, never logged. A refused logon (`event:
        "error"`, empty data) is `AuthFailed`; the engine then retries slowly, not in a storm.
        """
        await ws.send(signer.logon_frame(self._token))
        pending: dict[str, Mapping[str, Any]] | None = None  # channel -> params; None until logged on
        while pending is None or pending:
            frame = await ws.recv()
            text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
            for part in parser.split(text):
                if isinstance(part, MalformedPart):
                    reason = self.scrub(part.reason)
                    log.warning("%s: skipped a malformed line while logging on: %s", self.account_id, reason)
                elif part.channel == LOGON and part.event == "error":
                    log.warning("%s: Bitzoom refused the logon: %s", self.account_id, self.scrub(part.text))
                    raise AuthFailed(self.scrub(parser.logon_refusal(part)))
                elif part.channel == LOGON and part.event == "success":
                    if pending is None:
                        pending = dict(SUBSCRIPTIONS)
                        for channel, params in SUBSCRIPTIONS:
                            await ws.send(_request(channel, "sub", params))
                elif part.event == "sub" and pending and part.channel in pending:
                    self._acked(part, pending.pop(part.channel))
                elif part.event == "error":
                    refused = self.scrub(part.text)[:200]
                    raise ExchangeUnavailable(f"Bitzoom refused {part.channel or 'a request'}: {refused}")
                elif part.event not in CONTROL_EVENTS and part.event in self.subs:
                    self._early[self.subs[part.event].channel] = part.text
                else:
                    log.debug(
                        "%s: ignored while logging on: %s %s", self.account_id, part.channel, part.event
                    )

    def _acked(self, ack: parser.Line, params: Mapping[str, Any]) -> None:
        ids = parser.ack_ids(ack)
        if not ids:
            said = self.scrub(ack.text)[:200]
            raise ExchangeUnavailable(f"Bitzoom acknowledged {ack.channel} without a subId: {said}")
        for sub_id in ids:
            self.subs[sub_id] = Subscription(ack.channel, params)
        log.debug("%s: subscribed %s as %s", self.account_id, ack.channel, ", ".join(ids))

    def parse(self, frame: str) -> Sequence[Event]:
        """The engine's parser for this socket: the pure parser with this connection's subId map and
        the arrival time (Bitzoom stamps nothing)."""
        now = now_ms()
        early, self._early = self._early, {}
        head = [RawPayload(channel, text, now) for channel, text in early.items()]
        try:
            return [self._scrubbed(e) for e in (*head, *parser.parse(frame, self.subs, now))]
        except MalformedFrame as exc:
            if not head:
                raise MalformedFrame(self.scrub(str(exc))) from None
            return [*head, MalformedPart(self.scrub(str(exc)), now)]

    def scrub(self, text: str) -> str:
        """`text` without our token (or its signature part), should the server ever echo it: what the
        engine logs or shows must not carry it."""
        signature = self._token.rpartition(".")[2]
        if "eyJ" not in text and (len(signature) < 8 or signature not in text):
            return text  # the usual case, checked cheaply: this runs for every payload
        for secret in (self._token, signature):
            if len(secret) >= 8:
                text = text.replace(secret, "<token>")
        return parser.redact(text)

    def _scrubbed(self, event: Event) -> Event:
        match event:
            case ServerError(text=text) | MalformedPart(reason=text) | RawPayload(text=text) if (
                self.scrub(text) != text
            ):
                field = "reason" if isinstance(event, MalformedPart) else "text"
                return replace(event, **{field: self.scrub(text)})
        return event


class BitzoomSession:
    def __init__(self, account: AccountConfig, credentials: Credentials) -> None:
        self._account = account
        self._url = ws_url_for(account.ws_url or WS_URL)
        self._token = credentials["jwt"]

    async def plans(self) -> Sequence[StreamPlan]:
        """One socket; a fresh connection state (subId map) for every connect."""
        expiry = signer.expiry_text(self._token, now_ms())
        if expiry:
            log.info("%s: %s", self._account.id, expiry)
        connection = _Connection(self._account.id, self._token)
        return [
            StreamPlan(
                name="private",
                url=self._url,
                parse=connection.parse,
                handshake=connection.handshake,
                max_age_s=MAX_AGE_S,
            )
        ]

    async def close(self) -> None:
        """Nothing to release: subscriptions end with the socket."""


def _request(channel: str, event: str, data: Mapping[str, Any]) -> str:
    return json.dumps({"channel": channel, "event": event, "data": dict(data)}, separators=(",", ":"))


def make_session(
    account: AccountConfig, credentials: Credentials, http: aiohttp.ClientSession
) -> BitzoomSession:
    return BitzoomSession(account, credentials)
