"""Bitzoom REST (bearer JWT): the balance and open-order snapshot, and the trade history that stands
in for the fill channel Bitzoom does not have.

Fills come from GET /api/v1/historytrade only: after a gap (`fills_since`, which the engine marks
late) and whenever a push hints at one (`refresh`: an order that filled, a balance that moved). The
store de-duplicates them by trade id, so reading a window twice is harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from streams.config import AccountConfig
from streams.events import Event, FillEvent, MalformedFrame, RawPayload, Refresh
from streams.exchange import AuthFailed, Credentials, ExchangeUnavailable, Snapshot, error_text, retry_after
from streams.exchanges.bitzoom import parser, signer
from streams.exchanges.bitzoom.parser import BALANCE, OPEN_ORDERS, TOKEN_EXPIRED, RestError
from streams.exchanges.bitzoom.session import REST_URL, rest_url_for
from streams.model import Fill, now_ms

log = logging.getLogger(__name__)

HISTORY_TRADE = "/api/v1/historytrade"
PAGE_LIMIT = 1000  # the documented maximum
MAX_PAGES = 20  # 20,000 fills in one gap is more than any account monitor should page through at once
REFRESH_MARGIN_MS = 5_000  # a refresh re-reads this much before the last fill it found

__all__ = ["HISTORY_TRADE", "REST_URL", "BitzoomRest", "make_rest"]


class BitzoomRest:
    def __init__(self, account: AccountConfig, credentials: Credentials, http: aiohttp.ClientSession) -> None:
        self._base = rest_url_for(account)
        self._headers = signer.bearer(credentials["jwt"])
        self._http = http
        self._lower_case = False  # the docs: capitalised names; on a parameter error, lower-case
        self._started_ms = now_ms()
        self._last_fill_ms = 0

    async def snapshot(self) -> Snapshot:
        started = now_ms()
        (_, balances), (_, orders) = await asyncio.gather(self._get(BALANCE), self._get(OPEN_ORDERS))
        return Snapshot(parser.rest_balances(balances, started), parser.rest_open_orders(orders, started))

    async def fills_since(self, since_ms: int, markets: set[str], assets: set[str]) -> Sequence[Fill]:
        """One listing covers every symbol (no `Symbol`), so orders placed and filled entirely within
        the gap are found without knowing their markets."""
        fills, _ = await self._trades(since_ms)
        return fills

    async def refresh(self, request: Refresh) -> Sequence[Event]:
        """A push hinted at a fill: read the trade history since shortly before the last fill seen
        (or since this client started). The raw answer is kept for the raw data view."""
        if not (request.orders or request.markets or request.assets):
            return ()
        fills, body = await self._trades(max(self._last_fill_ms, self._started_ms) - REFRESH_MARGIN_MS)
        stamp = now_ms()
        return [*(FillEvent(f, stamp) for f in fills), RawPayload(f"GET {HISTORY_TRADE}", body, stamp)]

    async def _trades(self, since_ms: int) -> tuple[list[Fill], str]:
        """Every fill from `since_ms` until now, page by page; with the first page's body."""
        end = now_ms()
        fills: list[Fill] = []
        first_body = ""
        for page in range(1, MAX_PAGES + 1):
            params = {"Page": page, "Limit": PAGE_LIMIT, "StartTime": since_ms, "EndTime": end}
            body, data = await self._get(HISTORY_TRADE, params)
            first_body = first_body or body
            batch, total = parser.rest_trades(data)
            fills.extend(f for f in batch if f.time_ms >= since_ms)
            if len(batch) < PAGE_LIMIT or (total is not None and page * PAGE_LIMIT >= total):
                break
        else:
            log.warning("trade history: stopped after %d pages", MAX_PAGES)
        if fills:
            self._last_fill_ms = max(self._last_fill_ms, max(f.time_ms for f in fills))
        return fills, first_body

    async def _get(self, path: str, params: Mapping[str, object] | None = None) -> tuple[str, Any]:
        """The body and the envelope's `data` of a successful GET. A refused token is `AuthFailed`;
        a parameter error is retried once with lower-case names; anything else is transient."""
        while True:
            query = {(k.lower() if self._lower_case else k): str(v) for k, v in (params or {}).items()}
            async with self._http.get(self._base + path, params=query, headers=self._headers) as response:
                status, body, waited = response.status, await response.text(), retry_after(response.headers)
            error: RestError | None = None
            data: Any = None
            try:
                data = parser.rest_data(body)
            except RestError as exc:
                error = exc
            except MalformedFrame:
                if status == 200:
                    raise
            if status == 200 and error is None:
                return body, data
            if status in (401, 403) or (error is not None and error.unauthorized):
                words = f"{error.code} {error.message}" if error is not None else f"HTTP {status}"
                raise AuthFailed(f"{TOKEN_EXPIRED} ({words})")
            bad_parameter = status == 400 or (error is not None and error.bad_parameter)
            if bad_parameter and query and not self._lower_case:
                log.info("%s: parameter error (%s); retrying with lower-case names", path, error or status)
                self._lower_case = True
                continue
            raise ExchangeUnavailable(f"{path}: HTTP {status}: {error or error_text(body)}", waited)


def make_rest(account: AccountConfig, credentials: Credentials, http: aiohttp.ClientSession) -> BitzoomRest:
    return BitzoomRest(account, credentials, http)
