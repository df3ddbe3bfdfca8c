"""Coins.ph REST: signed calls with a corrected clock, the listenKey calls, the balance and open-order
snapshot, and the fills a gap in the stream hid.

Clock: every SIGNED call carries `timestamp`, which Coins.ph accepts only within `recvWindow` (5 s) of its
own clock. `ServerClock` measures the offset at GET /openapi/v1/time before the first signed call (the
server's time against the midpoint of the round trip) and stamps every call with local time + offset. A
-1021 answer re-measures and retries once; if the corrected timestamp is refused again, the account shows
`auth_error` with a plain sentence ("timestamp outside recvWindow ... your clock is N s behind ...").

Errors: the exchange's `{"code","msg"}` decides. Credential refusals (-1002, -1022, -2014, -2015, -2017,
-2018, ...) raise AuthFailed with Coins.ph's own words; -1125 raises ListenKeyGone; -1026 (listenKey
creation limited per hour), 429/418 (honouring Retry-After before the next call), 5xx and anything else
raise ExchangeUnavailable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import aiohttp
from yarl import URL

from streams.config import AccountConfig
from streams.events import Event, FillEvent, Refresh
from streams.exchange import AuthFailed, Credentials, ExchangeUnavailable, Snapshot, retry_after
from streams.exchanges.coinsph import parser, signer
from streams.model import Fill, now_ms

log = logging.getLogger(__name__)

REST_URL = "https://api.pro.coins.ph"
RECV_WINDOW_MS = 5_000  # the documented default; the maximum is 60 000
TRADES_LIMIT = 1_000  # the documented maximum page size of myTrades
SNAPSHOT_MARGIN_MS = 1_000  # buffered stream events this much older than the snapshot are still applied
LISTEN_KEY_PATH = "/openapi/v1/userDataStream"
API_KEY_HEADER = "X-COINS-APIKEY"
CLOCK_REJECTED = -1021
LISTEN_KEY_LIMITED = -1026
# Codes that mean the key, its permissions, its IP whitelist or the signature (i.e. the secret) are wrong.
AUTH_CODES = frozenset({-1002, -1022, -1023, -1024, -1150, -1152, -2014, -2015, -2017, -2018, -2019})


class ListenKeyGone(Exception):
    """-1125: the listenKey expired or was deleted; create a new one."""


class _ClockRejected(Exception):
    """-1021: the timestamp is outside recvWindow."""


class ServerClock:
    """Coins.ph's clock as seen from here: local time plus the offset measured at /openapi/v1/time."""

    def __init__(self) -> None:
        self.offset_ms: int | None = None

    def now(self) -> int:
        return now_ms() + (self.offset_ms or 0)

    def describe(self) -> str:
        """The measured offset in words, for the user."""
        offset = (self.offset_ms or 0) / 1000
        if abs(offset) < 0.5:
            return "your clock agrees with Coins.ph's /openapi/v1/time to within 0.5 s"
        return f"your clock is {abs(offset):.1f} s {'behind' if offset > 0 else 'ahead of'} Coins.ph's"


class CoinsphApi:
    """One API key's calls: public, SIGNED and USER_STREAM, with the clock and the symbol table."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        http: aiohttp.ClientSession,
        *,
        recv_window_ms: int = RECV_WINDOW_MS,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._credentials = credentials
        self._http = http
        self._recv_window_ms = recv_window_ms
        self._blocked_until = 0.0  # loop time before which a 429/418 asked us not to call
        self._symbols: parser.Symbols | None = None
        self.clock = ServerClock()

    # ---- clock and symbols -------------------------------------------------------------------

    async def measure_clock(self) -> int:
        """Measure the server clock's offset: its serverTime against the midpoint of our round trip."""
        sent = now_ms()
        body = await self.public("/openapi/v1/time")
        received = now_ms()
        offset = parser.rest_server_time(body) - (sent + received) // 2
        if self.clock.offset_ms is None or abs(offset - self.clock.offset_ms) >= 500:
            log.info("Coins.ph clock offset measured: %+d ms (round trip %d ms)", offset, received - sent)
        self.clock.offset_ms = offset
        return offset

    async def symbols(self) -> parser.Symbols:
        """The symbol table, read once, and again when a symbol it did not list turned up."""
        if self._symbols is None or self._symbols.unknown:
            self._symbols = parser.rest_symbols(await self.public("/openapi/v1/exchangeInfo"))
        return self._symbols

    # ---- listenKey (USER_STREAM) -------------------------------------------------------------

    async def create_listen_key(self) -> str:
        """POST: a new key, or the account's active key extended (Coins.ph returns that one)."""
        return parser.rest_listen_key(await self.signed("POST", LISTEN_KEY_PATH))

    async def keep_alive(self, listen_key: str) -> None:
        """PUT: extend the key's validity by 60 minutes; ListenKeyGone if it no longer exists."""
        await self.signed("PUT", LISTEN_KEY_PATH, [("listenKey", listen_key)])

    async def delete_listen_key(self, listen_key: str) -> None:
        """DELETE: close the stream and invalidate the key."""
        await self.signed("DELETE", LISTEN_KEY_PATH, [("listenKey", listen_key)])

    # ---- requests ----------------------------------------------------------------------------

    async def public(self, path: str, params: signer.Params = ()) -> str:
        query = signer.encode(params)
        return await self._send("GET", path, query, "", signed=False)

    async def signed(self, method: str, path: str, params: signer.Params = ()) -> str:
        """A SIGNED call (the listenKey calls too: the docs want the key header only, the seed template a
        timestamp; a signed call satisfies both). GET sends its parameters in the query string, the
        others in a form body. One re-measure and retry after -1021."""
        if self.clock.offset_ms is None:
            await self.measure_clock()
        try:
            return await self._signed_once(method, path, params)
        except _ClockRejected:
            await self.measure_clock()
        try:
            return await self._signed_once(method, path, params)
        except _ClockRejected as exc:
            raise AuthFailed(
                f"timestamp outside recvWindow (Coins.ph: {exc}, code {CLOCK_REJECTED}): "
                f"{self.clock.describe()}, and a timestamp corrected by that was refused again; "
                "check this computer's clock"
            ) from None

    async def _signed_once(self, method: str, path: str, params: signer.Params) -> str:
        encoded = signer.encode(signer.timed(params, self.clock.now(), self._recv_window_ms))
        secret = self._credentials["api_secret"]
        if method == "GET":
            query, body = signer.with_signature(secret, query=encoded)
        else:
            query, body = signer.with_signature(secret, body=encoded)
        return await self._send(method, path, query, body, signed=True)

    async def _send(self, method: str, path: str, query: str, body: str, *, signed: bool) -> str:
        loop = asyncio.get_running_loop()
        if loop.time() < self._blocked_until:
            wait = self._blocked_until - loop.time()
            raise ExchangeUnavailable(f"{path}: rate limited by Coins.ph; next call in {wait:.0f} s", wait)
        headers = {API_KEY_HEADER: self._credentials["api_key"]} if signed else {}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        url = URL(f"{self._base}{path}{'?' + query if query else ''}", encoded=True)
        async with self._http.request(method, url, data=body.encode() or None, headers=headers) as response:
            text = await response.text()
            if response.status == 200:
                return text
            waited = retry_after(response.headers)
            if response.status in (418, 429) and waited is not None:
                self._blocked_until = loop.time() + waited
            raise _error(response.status, text, path, waited)


def _error(status: int, body: str, path: str, waited: float | None = None) -> Exception:
    code, msg = parser.rest_error(body)
    if code == CLOCK_REJECTED:
        return _ClockRejected(msg)
    if code == parser.LISTEN_KEY_GONE:
        return ListenKeyGone(msg)
    if code in AUTH_CODES or (code is None and status == 401):
        return AuthFailed(f"HTTP {status}: {msg}" + (f" (code {code})" if code is not None else ""))
    if code == LISTEN_KEY_LIMITED:
        return ExchangeUnavailable(f"Coins.ph limits listenKey creation: {msg} (code {code})")
    suffix = f" (code {code})" if code is not None else ""
    return ExchangeUnavailable(f"{path}: HTTP {status}: {msg}{suffix}", waited)


class CoinsphRest:
    """The REST side the engine uses: snapshot, gap recovery, and the refreshes the stream asks for."""

    def __init__(self, api: CoinsphApi) -> None:
        self.api = api

    async def snapshot(self) -> Snapshot:
        """Account and every open order (one call without symbol), stamped in Coins.ph's time a little
        early, so stream events buffered meanwhile are applied over it rather than dropped (applying
        an event the snapshot already includes changes nothing; the latest event per item wins)."""
        symbols = await self.api.symbols()
        if self.api.clock.offset_ms is None:
            await self.api.measure_clock()
        started = self.api.clock.now() - SNAPSHOT_MARGIN_MS
        account, orders = await asyncio.gather(
            self.api.signed("GET", "/openapi/v1/account"),
            self.api.signed("GET", "/openapi/v1/openOrders"),
        )
        return Snapshot(
            parser.rest_account(account, started), parser.rest_open_orders(orders, symbols, started)
        )

    async def fills_since(self, since_ms: int, markets: set[str], assets: set[str]) -> Sequence[Fill]:
        """myTrades per symbol: those of `markets`, plus every listed symbol whose two assets both
        moved (an order placed and filled within the gap touches exactly those). `since_ms` mixes our
        clock and Coins.ph's, so the window starts earlier by the measured offset; duplicates are
        dropped by fill id."""
        symbols = await self.api.symbols()
        wanted = {symbols.symbol(m) for m in markets}
        if len(assets) > 1:
            wanted |= {s for s, m in symbols.markets().items() if set(m.split("/")) <= assets}
        start = since_ms - abs(self.api.clock.offset_ms or 0)
        fills: list[Fill] = []
        for symbol in sorted(wanted):
            fills.extend(f for f in await self._trades(symbols, symbol, start=start) if f.time_ms >= start)
        return fills

    async def refresh(self, request: Refresh) -> Sequence[Event]:
        """Balances after a `balanceUpdate`; an order's trades where the stream gave no trade id."""
        events: list[Event] = []
        if request.balances:
            stamp = self.api.clock.now()
            events.append(parser.rest_account(await self.api.signed("GET", "/openapi/v1/account"), stamp))
        if request.orders:
            symbols = await self.api.symbols()
            for order_id, market in sorted(request.orders):
                fills = await self._trades(symbols, symbols.symbol(market), order_id=order_id)
                events.extend(FillEvent(f, f.time_ms) for f in fills if f.order_id == order_id)
        return events

    async def _trades(
        self, symbols: parser.Symbols, symbol: str, *, start: int | None = None, order_id: str | None = None
    ) -> list[Fill]:
        """One symbol's trades from `start` (or of one order), oldest first, paging on with `fromId`."""
        base: list[tuple[str, str]] = [("symbol", symbol)]
        if order_id is not None:
            base.append(("orderId", order_id))
        params = [*base, *([("startTime", str(start))] if start is not None else [])]
        fills: list[Fill] = []
        while True:
            body = await self.api.signed(
                "GET", "/openapi/v1/myTrades", [*params, ("limit", str(TRADES_LIMIT))]
            )
            page = parser.rest_trades(body, symbols)
            fills.extend(page)
            if len(page) < TRADES_LIMIT:
                return fills
            params = [*base, ("fromId", str(max(parser.trade_number(f) for f in page) + 1))]


def make_api(account: AccountConfig, credentials: Credentials, http: aiohttp.ClientSession) -> CoinsphApi:
    return CoinsphApi(account.rest_url or REST_URL, credentials, http)


def make_rest(account: AccountConfig, credentials: Credentials, http: aiohttp.ClientSession) -> CoinsphRest:
    return CoinsphRest(make_api(account, credentials, http))
