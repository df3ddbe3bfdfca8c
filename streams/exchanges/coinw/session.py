"""CoinW's spot private websocket: one socket, a `login` frame, then the `assets` and `order`
subscriptions, each acknowledged before the next frame goes out (protocol notes, section 3).

The login frame carries the raw API secret as `passphrase`. It is built inside the handshake, sent with
the websocket library's frame logging switched off for that one send (its DEBUG log prints the start
and end of every frame, which is where the secret sits), and never kept: not in the plan, not in an
exception, not in a log line. Any error text CoinW sends back is scrubbed of the secret too, in case
the server ever echoes it.

Keepalive is CoinW's JSON ping (`{"event":"ping"}` every 10 s, answered by `{"event":"pong"}`): the
engine sends it and goes stale when nothing, pong included, arrives within the spec's silence window.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiohttp
from websockets.asyncio.client import ClientConnection

from streams.config import AccountConfig
from streams.exchange import AuthFailed, Credentials, ExchangeUnavailable, StreamPlan
from streams.exchanges.coinw import parser
from streams.exchanges.wire import JSON_ERRORS

WS_URL = "wss://ws.futurescw.com"
PING_FRAME = json.dumps({"event": "ping"}, separators=(",", ":"))
PING_INTERVAL_S = 10.0  # CoinW's own samples; the pong is due before the next ping
CHANNELS = ("assets", "order")


def login_frame(api_key: str, api_secret: str) -> str:
    """The first frame: no signature, the secret itself as `passphrase`. Never log the result."""
    params = {"api_key": api_key, "passphrase": api_secret}
    return json.dumps({"event": "login", "params": params}, separators=(",", ":"))


def sub_frame(channel: str, event: str = "sub") -> str:
    """`{"event":"sub","params":{"biz":"exchange","type":<channel>}}`, exactly as the seed shows."""
    return json.dumps({"event": event, "params": {"biz": "exchange", "type": channel}}, separators=(",", ":"))


class CoinWSession:
    def __init__(self, account: AccountConfig, credentials: Credentials) -> None:
        self._url = account.ws_url or WS_URL
        self._credentials = credentials

    async def plans(self) -> Sequence[StreamPlan]:
        return [
            StreamPlan(
                name="coinw",
                url=self._url,
                parse=parser.parse,
                handshake=self._handshake,
                ping_frame=PING_FRAME,
                ping_interval_s=PING_INTERVAL_S,
            )
        ]

    async def close(self) -> None:
        """Nothing to release: closing the socket ends the login and its subscriptions."""

    async def _handshake(self, ws: ClientConnection) -> None:
        """Log in, wait for the ack, then subscribe to each channel and wait for its ack. Data frames
        that arrive in between are dropped: the REST snapshot taken right after covers them."""
        secret = self._credentials["api_secret"]
        await send_unlogged(ws, login_frame(self._credentials["api_key"], secret))
        reply = await _answer(ws, lambda m: m.get("channel") == "login")
        if not _ok(reply):
            raise AuthFailed(_scrub(f"login refused: {_error(reply)}", secret))
        for channel in CHANNELS:
            await ws.send(sub_frame(channel))
            reply = await _answer(
                ws, lambda m, c=channel: m.get("channel") == "subscribe" and m.get("type") == c
            )
            if not _ok(reply):
                text = _scrub(f"the {channel} subscription was refused: {_error(reply)}", secret)
                raise ExchangeUnavailable(text)


async def send_unlogged(ws: ClientConnection, text: str) -> None:
    """Send one frame with the connection's DEBUG frame log off, so a frame that carries a secret is
    never formatted into a log record (websockets prints the beginning and end of every frame)."""
    protocol = ws.protocol
    debug = protocol.debug
    protocol.debug = False
    try:
        await ws.send(text)
    finally:
        protocol.debug = debug


async def _answer(ws: ClientConnection, wanted: Callable[[Mapping[str, Any]], bool]) -> Mapping[str, Any]:
    """The next frame `wanted` picks, or an error frame (`errorCode` without `channel`). Other
    frames are skipped; the engine's handshake timeout bounds the wait."""
    while True:
        raw = await ws.recv()
        try:
            msg = json.loads(raw)
        except JSON_ERRORS:
            continue
        if not isinstance(msg, dict):
            continue
        if wanted(msg) or ("channel" not in msg and ("errorCode" in msg or "errorMsg" in msg)):
            return msg


def _ok(reply: Mapping[str, Any]) -> bool:
    data = reply.get("data")
    return "channel" in reply and isinstance(data, dict) and parser.accepted(data)


def _error(reply: Mapping[str, Any]) -> str:
    data = reply.get("data")
    return parser.error_message(data if isinstance(data, dict) and "channel" in reply else reply)


def _scrub(text: str, secret: str) -> str:
    """The text with the secret blanked out, should a server ever quote the login frame back."""
    return text.replace(secret, "***") if secret else text


def make_session(
    account: AccountConfig, credentials: Credentials, http: aiohttp.ClientSession
) -> CoinWSession:
    return CoinWSession(account, credentials)
