"""CoinW spot REST: the balance and open-order snapshot, the fills a gap hid, and the per-order and
per-market reconciliation the stream cannot do itself.

Every private call is `POST /api/v1/private?command=<name>&<sorted params>&sign=<MD5>` with all
parameters in the query string (protocol notes, sections 2 and 6), answered in an envelope whose `code`
is the string "200" on success.

Open orders exist only per trading pair. The pairs asked are the configured `markets`, the markets of
orders this client knows to be open, and every listed pair whose two assets the account holds. An order
on a pair outside those (a buy of a coin not held yet, on a market not configured) is found once the
order channel names it; its locked funds are noted in the log so the user can add the market.

Trades: `getUserTrades` is the one call that lists real trade ids (with price, size, side and time).
`returnOrderTrades`, despite its name, is CoinW's "Get Order Details": one order's state, its `tradeID`
being the order id; it is used for orders that left the open list and for the side of market orders.
Each market keeps a cursor: the time up to which its trades were read, so a refresh reads only what is
new and any fill the stream never announced is still reported the next time that market is read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import aiohttp

from streams.config import AccountConfig
from streams.events import BalancesEvent, Event, FillEvent, OrdersEvent, Refresh
from streams.exchange import AuthFailed, Credentials, ExchangeUnavailable, Snapshot, http_failure
from streams.exchanges.coinw import parser, signer
from streams.exchanges.coinw.throttle import Throttle
from streams.model import Fill, Order, Side, now_ms

log = logging.getLogger(__name__)

REST_URL = "https://api.coinw.com"
PRIVATE_PATH = "/api/v1/private"
PUBLIC_PATH = "/api/v1/public"
TRADES_LIMIT = 100  # getUserTrades gives at most 100 per call
MAX_TRADE_PAGES = 20
CURSOR_MARGIN_MS = 3_000  # trades are re-read this far back (dedup by trade id): late ledger entries
SYMBOLS_TTL_MS = 6 * 3_600_000
# Calls per window, per command (CoinW's page for returnOrderTrades; CoinW.Net for the others).
LIMITS: dict[str, tuple[int, float]] = {
    "returnCompleteBalances": (5, 2.0),
    "returnOpenOrders": (30, 2.0),
    "returnOrderTrades": (30, 2.0),
    "getUserTrades": (10, 2.0),
    "returnSymbol": (80, 1.0),
}


class BadRequest(Exception):
    """CoinW refused the parameters (`-103`/`-3`), e.g. a configured pair it does not list."""


class CoinWRest:
    def __init__(self, account: AccountConfig, credentials: Credentials, http: aiohttp.ClientSession) -> None:
        self._base = (account.rest_url or REST_URL).rstrip("/")
        self._configured = set(account.markets)
        self._credentials = credentials
        self._http = http
        self._throttles = {command: Throttle(*limit) for command, limit in LIMITS.items()}
        self._open: dict[str, Order] = {}  # orders the last REST answers listed as open
        self._cursors: dict[str, int] = {}  # market -> trades read up to here
        self._sides: dict[str, Side] = {}  # order id -> side, for trades listed without one
        self._started_ms: int | None = None
        self._symbols: tuple[int, list[str]] | None = None
        self._bad_markets: set[str] = set()
        self._unexplained: set[str] = set()

    # ---- the RestClient protocol -------------------------------------------------------------

    async def snapshot(self) -> Snapshot:
        started = now_ms()
        if self._started_ms is None:
            self._started_ms = started
        data = await self._call("returnCompleteBalances", {})
        balances = parser.rest_balances(data, started)
        markets = await self._markets_for(balances)
        listed, queried = await self._open_orders(markets)
        self._remember(listed, queried)
        self._note_unexplained_locks(balances, listed)
        return Snapshot(balances, OrdersEvent(tuple(listed), started, complete=True))

    async def fills_since(self, since_ms: int, markets: set[str], assets: set[str]) -> Sequence[Fill]:
        """Trades from `since_ms` of the markets with orders or configured, plus every listed pair whose
        two assets both moved: an order placed and filled within the gap touches exactly those."""
        names = set(markets) | self._configured
        wanted = {a.upper() for a in assets}
        if len(wanted) > 1:
            names |= {m for m in await self._listed_markets() if set(m.split("/")) <= wanted}
        fills: list[Fill] = []
        for name in sorted(names):
            fills.extend(await self._trades(name, since_ms))
        return fills

    async def refresh(self, request: Refresh) -> Sequence[Event]:
        """The open orders of the markets asked for (and of the asked orders' markets), the final
        state of asked or known orders that left those lists, and the markets' new trades."""
        started = now_ms()
        wanted = dict(request.orders)
        markets = set(request.markets) | set(wanted.values())
        listed, queried = await self._open_orders(markets)
        open_ids = {o.order_id for o in listed}
        gone = {i for i in wanted if i not in open_ids}
        gone |= {i for i, o in self._open.items() if o.market in queried and i not in open_ids}
        closed: list[Order] = []
        for order_id in sorted(gone):
            detail = await self._order_detail(order_id)
            if detail is not None:
                closed.append(detail)
        self._remember(listed, queried)
        for order in closed:
            if not order.status.is_open:
                self._open.pop(order.order_id, None)
        events: list[Event] = []
        if listed or closed:
            events.append(OrdersEvent((*listed, *closed), started))
        for name in sorted(markets):
            since = self._cursors.get(name, (self._started_ms or started) - CURSOR_MARGIN_MS)
            events.extend(FillEvent(f, f.time_ms) for f in await self._trades(name, since))
        return events

    # ---- pieces ------------------------------------------------------------------------------

    async def _markets_for(self, balances: BalancesEvent) -> set[str]:
        held = {b.asset for b in balances.balances if b.total > 0}
        names = self._configured | {o.market for o in self._open.values()}
        if len(held) > 1:
            names |= {m for m in await self._listed_markets() if set(m.split("/")) <= held}
        return names

    async def _open_orders(self, markets: set[str]) -> tuple[list[Order], set[str]]:
        """Open orders of each market, and the markets that answered (a pair CoinW refuses is
        skipped, with one log line)."""
        listed: list[Order] = []
        queried: set[str] = set()
        for name in sorted(markets):
            try:
                data = await self._call("returnOpenOrders", {"currencyPair": parser.market_pair(name)})
            except BadRequest as exc:
                self._skip(name, exc)
                continue
            listed.extend(parser.rest_open_orders(data, name))
            queried.add(name)
        return listed, queried

    async def _order_detail(self, order_id: str) -> Order | None:
        try:
            data = await self._call("returnOrderTrades", {"orderNumber": order_id})
        except BadRequest as exc:
            log.info("CoinW has no details of order %s: %s", order_id, exc)
            return None
        order = parser.rest_order_detail(data, self._open.get(order_id))
        self._sides[order_id] = order.side
        return order

    async def _trades(self, name: str, since_ms: int) -> list[Fill]:
        """The market's trades from `since_ms` on, newest page first, paging back by time until a
        page is short. Advances the market's cursor."""
        started = now_ms()
        found: dict[str, Fill] = {}
        end: int | None = None
        for _ in range(MAX_TRADE_PAGES):
            params = {
                "symbol": parser.market_pair(name),
                "startAt": str(since_ms),
                "limit": str(TRADES_LIMIT),
            }
            if end is not None:
                params["endAt"] = str(end)
            try:
                data = await self._call("getUserTrades", params)
            except BadRequest as exc:
                self._skip(name, exc)
                return []
            page = parser.rest_user_trades(data, name, await self._sides_of(parser.trades_without_side(data)))
            fresh = [f for f in page if f.trade_id not in found]
            found.update((f.trade_id, f) for f in page)
            if len(page) < TRADES_LIMIT or not fresh:
                break
            end = min(f.time_ms for f in page)
        self._cursors[name] = max(self._cursors.get(name, 0), started - CURSOR_MARGIN_MS)
        return [f for f in found.values() if f.time_ms >= since_ms]

    async def _sides_of(self, order_ids: set[str]) -> Mapping[str, Side]:
        """Sides of orders whose trades came without one (market orders), from the order details."""
        for order_id in order_ids - set(self._sides):
            await self._order_detail(order_id)
        return {i: self._sides[i] for i in order_ids if i in self._sides}

    def _remember(self, listed: list[Order], queried: set[str]) -> None:
        """The open set of each queried market is now exactly what it listed."""
        for order_id in [i for i, o in self._open.items() if o.market in queried]:
            del self._open[order_id]
        for order in listed:
            self._open[order.order_id] = order
            self._sides[order.order_id] = order.side

    def _note_unexplained_locks(self, balances: BalancesEvent, listed: list[Order]) -> None:
        """Say once per asset when funds are on orders but no market asked holds an order locking
        them: the order sits on a pair this client cannot guess (see the module docstring)."""
        locking = {o.market.split("/")[1 if o.side is Side.BUY else 0] for o in listed}
        for b in balances.balances:
            if b.locked > 0 and b.asset not in locking and b.asset not in self._unexplained:
                self._unexplained.add(b.asset)
                log.info(
                    "CoinW: %s %s is on orders in a market not watched; add that market to the "
                    "account's `markets` to see the order",
                    b.locked,
                    b.asset,
                )

    def _skip(self, name: str, exc: Exception) -> None:
        if name not in self._bad_markets:
            self._bad_markets.add(name)
            log.warning("CoinW refused market %s, skipping it: %s", name, exc)

    async def _listed_markets(self) -> list[str]:
        """The exchange's pairs (public `returnSymbol`), re-read every few hours."""
        now = now_ms()
        if self._symbols is None or now - self._symbols[0] > SYMBOLS_TTL_MS:
            data = await self._request("GET", PUBLIC_PATH, [("command", "returnSymbol")], "returnSymbol")
            self._symbols = (now, parser.rest_symbols(data))
        return self._symbols[1]

    async def _call(self, command: str, params: dict[str, str]) -> object:
        c = self._credentials
        query = signer.signed_query(command, params, c["api_key"], c["api_secret"])
        return await self._request("POST", PRIVATE_PATH, query, command)

    async def _request(self, method: str, path: str, query: list[tuple[str, str]], command: str) -> object:
        """One throttled call; the envelope's `data`, or the error it stands for. URLs are never put
        in messages (they carry the key and the signature)."""
        throttle = self._throttles.get(command) or self._throttles.setdefault(command, Throttle(10, 1.0))
        async with throttle.slot(), self._http.request(method, self._base + path, params=query) as response:
            body = await response.text()
        if response.status != 200:
            raise http_failure(command, response.status, body, response.headers, (401, 403))
        try:
            return parser.envelope(body, command)
        except parser.RestError as exc:
            if exc.code in parser.AUTH_CODES:
                raise AuthFailed(str(exc)) from None
            if exc.code in parser.BAD_PARAMETER_CODES:
                raise BadRequest(str(exc)) from None
            raise ExchangeUnavailable(f"{command}: {exc}") from None


def make_rest(account: AccountConfig, credentials: Credentials, http: aiohttp.ClientSession) -> CoinWRest:
    return CoinWRest(account, credentials, http)
