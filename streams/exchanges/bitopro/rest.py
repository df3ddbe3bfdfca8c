"""BitoPro REST: the balance and open-order snapshot, and the fills a gap in the stream hid."""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp

from streams.config import AccountConfig
from streams.events import Event, Refresh
from streams.exchange import Credentials, Snapshot, http_failure
from streams.exchanges.bitopro import parser, signer
from streams.model import Fill, now_ms

REST_URL = "https://api.bitopro.com/v3"
_TRADES_LIMIT = 1000  # the documented maximum page size
_AUTH_STATUSES = (401, 403, 409)  # 409: the nonce (our clock) is outside BitoPro's window


class BitoProRest:
    def __init__(self, account: AccountConfig, credentials: Credentials, http: aiohttp.ClientSession) -> None:
        self._base = (account.rest_url or REST_URL).rstrip("/")
        self._credentials = credentials
        self._http = http
        self._nonces = signer.nonce_clock(credentials["api_key"])
        self._pairs: list[str] | None = None

    async def snapshot(self) -> Snapshot:
        started = now_ms()
        # One after the other: BitoPro wants each key's nonces to arrive in increasing order.
        balances = await self._get("/accounts/balance")
        orders = await self._get("/orders/open")
        return Snapshot(parser.rest_balances(balances, started), parser.rest_open_orders(orders, started))

    async def fills_since(self, since_ms: int, markets: set[str], assets: set[str]) -> Sequence[Fill]:
        """Trades are listed per pair: the pairs with orders, plus every listed pair whose two assets
        both moved (an order placed and filled within the gap touches exactly those)."""
        pairs = {m.replace("/", "_").lower() for m in markets}
        if len(assets) > 1:
            wanted = {a.lower() for a in assets}
            pairs |= {p for p in await self._trading_pairs() if set(p.split("_", 1)) <= wanted}
        fills: list[Fill] = []
        for pair in sorted(pairs):
            body = await self._get(
                f"/orders/trades/{pair}",
                {"startTimestamp": str(since_ms), "endTimestamp": str(now_ms()), "limit": str(_TRADES_LIMIT)},
            )
            fills.extend(f for f in parser.rest_trades(body, pair) if f.time_ms >= since_ms)
        return fills

    async def refresh(self, request: Refresh) -> Sequence[Event]:
        """Never asked: BitoPro's streams carry balances, orders and trades themselves."""
        return ()

    async def _trading_pairs(self) -> list[str]:
        """The exchange's pairs (public endpoint, fetched once per session)."""
        if self._pairs is None:
            async with self._http.get(self._base + "/provisioning/trading-pairs") as response:
                if response.status != 200:
                    body = await response.text()
                    raise http_failure("trading pairs", response.status, body, response.headers, ())
                self._pairs = parser.rest_trading_pairs(await response.text())
        return self._pairs

    async def _get(self, path: str, params: dict[str, str] | None = None) -> str:
        c = self._credentials
        headers = signer.headers(c["api_key"], c["api_secret"], c["email"], self._nonces.next(now_ms()))
        async with self._http.get(self._base + path, params=params, headers=headers) as response:
            body = await response.text()
            if response.status != 200:
                raise http_failure(path, response.status, body, response.headers, _AUTH_STATUSES)
            return body


def make_rest(account: AccountConfig, credentials: Credentials, http: aiohttp.ClientSession) -> BitoProRest:
    return BitoProRest(account, credentials, http)
