"""Bitstamp HTTP API v2: the signed POSTs both the session (websocket token, pair list) and the REST
client (snapshot, balance polls, fill recovery) make.

Every private call is a POST signed with X-Auth v2 (`signer`). A call without parameters has no body
and then must not carry a Content-Type either: aiohttp would add `application/octet-stream` to an
empty POST by itself, so that automatic header is switched off (`skip_auto_headers`).

Request budget: 10,000 requests per 10 minutes by default. The monitor makes two per snapshot (every
`resync_s`, 30 s), one per balance poll (at most one per engine refresh window, 0.5 s, and only while
orders or trades move), and a few per (re)connect: far below it.
"""

from __future__ import annotations

import asyncio
import hmac
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter
from urllib.parse import urlencode, urlsplit

import aiohttp

from streams.config import AccountConfig
from streams.events import BalancesEvent, Event, FillEvent, Refresh
from streams.exchange import AuthFailed, Credentials, ExchangeUnavailable, Snapshot, retry_after
from streams.exchanges.bitstamp import parser, signer
from streams.exchanges.bitstamp.token_store import WsToken
from streams.model import Fill, now_ms, replace

REST_URL = "https://www.bitstamp.net"
API = "/api/v2"
BALANCES = f"{API}/account_balances/"
OPEN_ORDERS = f"{API}/open_orders/all/"
USER_TRANSACTIONS = f"{API}/user_transactions/"
WEBSOCKETS_TOKEN = f"{API}/websockets_token/"
TRADING_PAIRS = f"{API}/trading-pairs-info/"

PAGE = 1000  # user_transactions' maximum `limit`
MAX_PAGES = 20
RECOVERY_MARGIN_MS = 2_000  # fills are looked for from this much before the last snapshot
_by_time = attrgetter("time_ms")


class BitstampHttp:
    """Signed POSTs and public GETs against one account's REST base URL."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        http: aiohttp.ClientSession,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.base = base_url.rstrip("/")
        url = urlsplit(self.base)
        self._host = url.hostname or ""  # signed without scheme and port: "www.bitstamp.net"
        self._prefix = url.path  # a base URL with a path (a proxy) signs the whole path
        self._credentials = credentials
        self._http = http
        self._clock = clock

    async def post(self, path: str, form: Mapping[str, str] | None = None) -> str:
        """A signed POST; its answer's text. Raises AuthFailed with Bitstamp's own words for a
        refused key or signature, ExchangeUnavailable for anything transient."""
        key, secret = self._credentials["api_key"], self._credentials["api_secret"]
        body = urlencode(form) if form else ""
        nonce, timestamp = signer.new_nonce(), str(self._clock())
        headers = signer.headers(
            key,
            secret,
            method="POST",
            host=self._host,
            path=self._prefix + path,
            nonce=nonce,
            timestamp=timestamp,
            body=body,
        )
        async with self._http.post(
            self.base + path,
            data=body.encode() if body else None,
            headers=headers,
            skip_auto_headers=("Content-Type",),
        ) as response:
            raw = await response.read()
            text = raw.decode("utf-8", "replace")
            failure = _failure(path, response.status, text, retry_after(response.headers))
            if failure is not None:
                raise failure
            claimed = response.headers.get("X-Server-Auth-Signature")
            if claimed is not None:
                content_type = response.headers.get("Content-Type", "")
                expected = signer.response_signature(secret, nonce, timestamp, content_type, raw)
                if not hmac.compare_digest(claimed.lower(), expected):
                    raise ExchangeUnavailable(f"{path}: the answer's X-Server-Auth-Signature does not match")
            return text

    async def get(self, path: str) -> str:
        """A public GET (no signature)."""
        async with self._http.get(self.base + path) as response:
            text = await response.text()
            if response.status != 200:
                raise ExchangeUnavailable(
                    f"{path}: HTTP {response.status}: {_words(text)}", retry_after(response.headers)
                )
            return text

    async def websocket_token(self) -> WsToken:
        """A fresh websocket token (valid_sec counted from before the request: on the safe side)."""
        started = self._clock()
        token, user_id, valid_s = parser.rest_token(await self.post(WEBSOCKETS_TOKEN))
        return WsToken(token, user_id, started + valid_s * 1000)

    async def trading_pairs(self) -> dict[str, str]:
        """{market id: display name} of Bitstamp's spot markets (public)."""
        return parser.rest_trading_pairs(await self.get(TRADING_PAIRS))


def _failure(path: str, status: int, text: str, waited: float | None = None) -> Exception | None:
    """Bitstamp answers a refused signature with HTTP 403 and `{"status": "error", "reason": ...,
    "code": "API0005"}`; some endpoints answer errors with HTTP 200 and the same body."""
    error = parser.rest_error(text) if text.lstrip().startswith("{") else None
    if status == 200 and error is None:
        return None
    if error is not None:
        code, reason = error
        words = f"{reason} ({code})" if code else reason
        if code is not None and code.startswith("API0"):  # the authentication error table
            return AuthFailed(f"HTTP {status}: {words}")
        if status in (401, 403):
            return AuthFailed(f"HTTP {status}: {words}")
        return ExchangeUnavailable(f"{path}: HTTP {status}: {words}", waited)
    if status in (401, 403):
        return AuthFailed(f"HTTP {status}: {_words(text)}")
    return ExchangeUnavailable(f"{path}: HTTP {status}: {_words(text)}", waited)


def _words(text: str) -> str:
    return text.strip()[:300] or "no reason given"


class BitstampRest:
    """Snapshot, balance polls and fill recovery (`streams.exchange.RestClient`)."""

    def __init__(self, account: AccountConfig, credentials: Credentials, http: aiohttp.ClientSession) -> None:
        self.http = BitstampHttp(account.rest_url or REST_URL, credentials, http)
        self._snapshots: deque[int] = deque(maxlen=2)  # start times of the last two snapshots

    async def snapshot(self) -> Snapshot:
        started = now_ms()
        # X-Auth nonces are random UUIDs, not a sequence: the two calls may overlap.
        balances, orders = await asyncio.gather(self.http.post(BALANCES), self.http.post(OPEN_ORDERS))
        self._snapshots.append(started)
        return Snapshot(parser.rest_balances(balances, started), parser.rest_open_orders(orders, started))

    async def fills_since(self, since_ms: int, markets: set[str], assets: set[str]) -> Sequence[Fill]:
        """Every trade since `since_ms`, all markets at once: user_transactions lists them together, so
        an order placed and filled within the gap is found whatever its market."""
        fills: list[Fill] = []
        form = {"limit": str(PAGE), "sort": "asc", "since_timestamp": str(since_ms // 1000)}
        for page in range(MAX_PAGES):
            found, rows = parser.rest_fills(
                await self.http.post(USER_TRANSACTIONS, {**form, "offset": str(page * PAGE)})
            )
            fills.extend(f for f in found if f.time_ms >= since_ms)
            if rows < PAGE:
                break
        return fills

    async def refresh(self, request: Refresh) -> Sequence[Event]:
        """Balances after trades and order events (Bitstamp has no balance channel), and for markets
        subscribed while live: the fills made before their subscription was acknowledged (as late
        fills), then the open orders and balances, which repair what those fills moved."""
        events: list[Event] = []
        if request.markets:
            since = (self._snapshots[0] if self._snapshots else now_ms()) - RECOVERY_MARGIN_MS
            fills = await self.fills_since(since, set(request.markets), set())
            missed = sorted((f for f in fills if f.market in request.markets), key=_by_time)
            events.extend(FillEvent(replace(f, late=True), f.time_ms) for f in missed)
            snapshot = await self.snapshot()
            events.extend((snapshot.balances, snapshot.orders))
        elif request.balances:
            events.append(await self.balances())
        return events

    async def balances(self) -> BalancesEvent:
        started = now_ms()
        return parser.rest_balances(await self.http.post(BALANCES), started)


def make_rest(account: AccountConfig, credentials: Credentials, http: aiohttp.ClientSession) -> BitstampRest:
    return BitstampRest(account, credentials, http)
