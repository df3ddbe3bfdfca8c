"""BitoPro's websockets: one per private stream, authenticated by headers on the upgrade, nothing to
send afterwards. The server pings every 20 s; the websockets library answers."""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp

from streams.config import AccountConfig
from streams.exchange import Credentials, StreamPlan
from streams.exchanges.bitopro import parser, signer
from streams.model import now_ms

WS_URL = "wss://stream.bitopro.com:443/ws"
STREAMS = ("account-balance", "orders", "user-trades")


class BitoProSession:
    def __init__(self, account: AccountConfig, credentials: Credentials, nonces: signer.NonceClock) -> None:
        self._base = (account.ws_url or WS_URL).rstrip("/")
        self._credentials = credentials
        self._nonces = nonces

    async def plans(self) -> Sequence[StreamPlan]:
        """Fresh headers (new nonce and signature) for each stream on every connect."""
        return [
            StreamPlan(
                name=stream,
                url=f"{self._base}/v1/pub/auth/{stream}",
                parse=parser.parse,
                headers=self._headers(),
            )
            for stream in STREAMS
        ]

    async def close(self) -> None:
        """Nothing to release: BitoPro keeps no per-client state for its streams."""

    def _headers(self) -> dict[str, str]:
        c = self._credentials
        return signer.headers(c["api_key"], c["api_secret"], c["email"], self._nonces.next(now_ms()))


def make_session(
    account: AccountConfig, credentials: Credentials, http: aiohttp.ClientSession
) -> BitoProSession:
    return BitoProSession(account, credentials, signer.nonce_clock(credentials["api_key"]))
