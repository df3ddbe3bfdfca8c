"""A local BitoPro: the three private streams and the REST calls the monitor uses, on loopback.

Follows /work/shared/protocols/bitopro.md: header authentication on the upgrade and on REST, a snapshot
on connect, one frame per change afterwards, fills with a UUID `matchID` on the stream and a numeric
`tradeId` on REST (the documented trap: both describe the same truth fill here).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import random
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from http import HTTPStatus
from typing import Any, ClassVar

from aiohttp import web
from websockets.http11 import Request

from streams.model import Balance, Fill, Order, OrderStatus, Side, now_ms
from streams.simulator.base import ExchangeSimulator, Refusal, SimClient
from streams.simulator.truth import DEMO_MARKETS, Change, split_market

BALANCES = "account-balance"
ORDERS = "orders"
TRADES = "user-trades"
STREAM_PATH = "/v1/pub/auth/"  # after ws_url: ws_url + "/v1/pub/auth/account-balance"
CLOCK_WINDOW_MS = 60_000  # nonces further than this from server time get 409
DAY_MS = 86_400_000

DEMO_CREDENTIALS = {
    "api_key": "demo-bitopro-api-key",
    "api_secret": "demo-bitopro-api-secret",
    "email": "demo@bitopro-simulator.invalid",
}

_STATUS = {  # BitoPro order status codes (protocol doc, section 5)
    OrderStatus.OPEN: 0,
    OrderStatus.PARTIALLY_FILLED: 1,
    OrderStatus.FILLED: 2,
    OrderStatus.CANCELLED: 4,
    OrderStatus.REJECTED: 4,
}
_CANCELLED_AFTER_PARTIAL_FILL = 3


class AuthRefused(Exception):
    """A request's authentication headers are not acceptable."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.text)
        self.refusal = refusal


def check_headers(
    headers: Mapping[str, str], *, api_key: str, api_secret: str, email: str, now: int, last_nonce: int
) -> int:
    """The nonce of a correctly signed GET or upgrade request; raises `AuthRefused` otherwise.

    Pure (clock and last nonce are arguments) so the published signing vector can drive it.
    """
    if not hmac.compare_digest(headers.get("X-BITOPRO-APIKEY", ""), api_key):
        raise AuthRefused(Refusal(HTTPStatus.UNAUTHORIZED, "Invalid API key"))
    payload = headers.get("X-BITOPRO-PAYLOAD", "")
    expected = hmac.new(api_secret.encode(), payload.encode(), hashlib.sha384).hexdigest()
    if not hmac.compare_digest(headers.get("X-BITOPRO-SIGNATURE", ""), expected):
        raise AuthRefused(Refusal(HTTPStatus.UNAUTHORIZED, "Invalid signature"))
    body = _decode_payload(payload)
    if body.get("identity") != email:
        raise AuthRefused(Refusal(HTTPStatus.UNAUTHORIZED, "Invalid identity"))
    nonce = body.get("nonce")
    if not isinstance(nonce, int) or isinstance(nonce, bool):
        raise AuthRefused(Refusal(HTTPStatus.UNAUTHORIZED, "Invalid nonce"))
    if abs(nonce - now) > CLOCK_WINDOW_MS:
        raise AuthRefused(Refusal(HTTPStatus.CONFLICT, "local machine time mismatch"))
    if nonce <= last_nonce:
        raise AuthRefused(Refusal(HTTPStatus.UNAUTHORIZED, "Invalid nonce: not greater than the last one"))
    return nonce


def _decode_payload(payload: str) -> dict[str, Any]:
    """The JSON object inside X-BITOPRO-PAYLOAD (standard base64)."""
    try:
        body = json.loads(base64.b64decode(payload, validate=True))
    except (binascii.Error, ValueError):
        raise AuthRefused(Refusal(HTTPStatus.UNAUTHORIZED, "Invalid payload")) from None
    if not isinstance(body, dict):
        raise AuthRefused(Refusal(HTTPStatus.UNAUTHORIZED, "Invalid payload"))
    return body


def num(amount: Decimal) -> str:
    """A decimal string as BitoPro writes it: no exponent, no trailing zeros ("0.02", "107")."""
    return format(amount.normalize(), "f")


def pair_of(market: str) -> str:
    """`"SOL/USDT"` -> `"sol_usdt"`."""
    base, quote = split_market(market)
    return f"{base}_{quote}".lower()


def iso_ms(ms: int) -> str:
    """`1639553303365` -> `"2021-12-15T07:28:23.365Z"`."""
    seconds, millis = divmod(ms, 1000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


class BitoProSimulator(ExchangeSimulator):
    """BitoPro's private streams at `ws_url + "/v1/pub/auth/{account-balance,orders,user-trades}"`
    and REST at `rest_url` (`.../v3`)."""

    ws_prefix: ClassVar[str] = "/ws"
    rest_prefix: ClassVar[str] = "/v3"
    ping_interval_s: ClassVar[float | None] = 20.0  # the real server pings every 20 s
    ping_timeout_s: ClassVar[float | None] = 5.0  # and wants the pong within 5 s

    def __init__(self, *, seed: int = 1, activity_interval_s: float | None = None) -> None:
        super().__init__(seed=seed, activity_interval_s=activity_interval_s)
        self._event_ids = random.Random(seed + 1)
        self._trade_numbers = random.Random(seed + 2)
        self._last_nonce: dict[str, int] = {}  # per API key, shared by websockets and REST
        self._rest_ids: dict[str, str] = {}  # matchID -> REST tradeId
        self._match_ids: dict[str, str] = {}  # REST tradeId -> matchID
        self._next_rest_id = 70_000_000 + self._trade_numbers.randrange(10**6)

    @property
    def credentials(self) -> dict[str, str]:
        return dict(DEMO_CREDENTIALS)

    # ---- authentication ----------------------------------------------------------------------

    def _check(self, headers: Mapping[str, str]) -> Refusal | None:
        """Validate the three headers and remember the nonce; the refusal if they are not good."""
        creds = DEMO_CREDENTIALS
        try:
            nonce = check_headers(
                headers,
                api_key=creds["api_key"],
                api_secret=creds["api_secret"],
                email=creds["email"],
                now=now_ms(),
                last_nonce=self._last_nonce.get(creds["api_key"], 0),
            )
        except AuthRefused as refused:
            return refused.refusal
        self._last_nonce[creds["api_key"]] = nonce
        return None

    def authenticate_ws(self, request: Request) -> Refusal | None:
        return self._check(request.headers)

    async def authenticate_rest(self, request: web.Request) -> Refusal | None:
        if request.path == f"{self.rest_prefix}/provisioning/trading-pairs":
            return None  # a public endpoint
        return self._check(request.headers)

    # ---- streams -----------------------------------------------------------------------------

    def route(self, path: str) -> set[str] | None:
        prefix = self.ws_prefix + STREAM_PATH
        if not path.startswith(prefix):
            return None
        stream = path.removeprefix(prefix)
        return {stream} if stream in (BALANCES, ORDERS, TRADES) else None

    def welcome(self, client: SimClient) -> list[str]:
        """The snapshot the real server pushes on connect: all balances, or all active orders."""
        if BALANCES in client.streams:
            data = {b.asset: self._ws_balance(b) for b in self.truth.balances.values()}
            return [self._frame("ACCOUNT_BALANCE", data)]
        if ORDERS in client.streams:
            return [self._frame("ACTIVE_ORDERS", self._orders_by_pair(self.truth.open_orders.values()))]
        return []

    def render(self, change: Change) -> list[tuple[str, str]]:
        if isinstance(change, Balance):
            return [(BALANCES, self._frame("ACCOUNT_BALANCE", {change.asset: self._ws_balance(change)}))]
        if isinstance(change, Order):
            return [(ORDERS, self._frame("ACTIVE_ORDERS", self._orders_by_pair([change])))]
        return [(TRADES, self._frame("USER_TRADE", self._ws_trade(change)))]

    def _frame(self, event: str, data: object) -> str:
        stamp = now_ms()
        envelope = {
            "event": event,
            "eventID": str(uuid.UUID(int=self._event_ids.getrandbits(128), version=4)),
            "timestamp": stamp,
            "datetime": iso_ms(stamp),
            "data": data,
        }
        return json.dumps(envelope, separators=(",", ":"))

    @staticmethod
    def _ws_balance(balance: Balance) -> dict[str, object]:
        return {
            "currency": balance.asset.upper(),
            "amount": num(balance.total),
            "available": num(balance.available),
            "stake": "0",
            "tradable": True,
        }

    def _orders_by_pair(self, orders: Iterable[Order]) -> dict[str, list[dict[str, object]]]:
        grouped: dict[str, list[dict[str, object]]] = {}
        for order in orders:
            grouped.setdefault(pair_of(order.market), []).append(self._order(order, client_key="clientID"))
        return grouped

    def _order(self, order: Order, *, client_key: str) -> dict[str, object]:
        """One order in the doc's field set; REST spells the client id `clientId`, streams `clientID`."""
        base, quote = split_market(order.market)
        fills = self.truth.fills_of(order.order_id)
        total = sum((self.truth.quote_amount(f.trade_id) for f in fills), Decimal(0))
        fee = sum((f.fee for f in fills), Decimal(0))
        average = total / order.filled if order.filled else Decimal(0)
        return {
            "id": order.order_id,
            "pair": pair_of(order.market),
            "action": order.side.value.upper(),
            "type": order.kind.upper(),
            "price": num(order.price),
            "avgExecutionPrice": num(average.quantize(Decimal("0.00000001"))),
            "originalAmount": num(order.amount),
            "remainingAmount": num(order.amount - order.filled),
            "executedAmount": num(order.filled),
            "fee": num(fee),
            "feeSymbol": (base if order.side is Side.BUY else quote).lower(),
            "bitoFee": "0",
            "total": num(total),
            "seq": f"{base}{quote}{order.order_id}",
            "timeInForce": "GTC",
            "status": _status(order),
            "createdTimestamp": order.created_ms,
            "updatedTimestamp": order.updated_ms,
            "timestamp": order.created_ms,
            client_key: 0,
        }

    def _is_market(self, fill: Fill) -> bool:
        order = self.truth.orders.get(fill.order_id)
        return order is not None and order.kind == "market"

    def _ws_trade(self, fill: Fill) -> dict[str, object]:
        self._number_fills()
        base, quote = split_market(fill.market)
        is_market = self._is_market(fill)
        return {
            "base": base.lower(),
            "quote": quote.lower(),
            "side": "bid" if fill.side is Side.BUY else "ask",
            "price": num(fill.price),
            "volume": num(fill.amount),
            "fee": num(fill.fee),
            "feeCurrency": fill.fee_asset.lower(),
            "transactionTimestamp": fill.time_ms // 1000,
            "eventTimestamp": now_ms() // 1000,
            "orderID": int(fill.order_id) if fill.order_id.isdigit() else fill.order_id,
            "orderType": "MARKET" if is_market else "LIMIT",
            "matchID": fill.trade_id,
            "isMarket": is_market,
            "isMaker": not is_market,
        }

    # ---- fill ids ----------------------------------------------------------------------------

    def rest_trade_id(self, match_id: str) -> str:
        """The numeric REST `tradeId` of the fill whose stream `matchID` (= truth trade_id) is given."""
        self._number_fills()
        return self._rest_ids[match_id]

    def match_id(self, rest_trade_id: str) -> str:
        """The stream `matchID` (= truth trade_id) of a REST `tradeId`."""
        self._number_fills()
        return self._match_ids[rest_trade_id]

    def _number_fills(self) -> None:
        """Give REST ids to new truth fills, increasing in fill order (fills are append-only)."""
        for fill in self.truth.fills[len(self._rest_ids) :]:
            self._next_rest_id += self._trade_numbers.randint(1, 9)  # gaps: other users' trades
            self._rest_ids[fill.trade_id] = str(self._next_rest_id)
            self._match_ids[str(self._next_rest_id)] = fill.trade_id

    # ---- REST --------------------------------------------------------------------------------

    def rest_routes(self) -> list[web.RouteDef]:
        prefix = self.rest_prefix
        return [
            web.get(f"{prefix}/accounts/balance", self._rest_balance),
            web.get(f"{prefix}/orders/open", self._rest_open_orders),
            web.get(f"{prefix}/orders/trades/{{pair}}", self._rest_trades),
            web.get(f"{prefix}/provisioning/trading-pairs", self._rest_trading_pairs),
        ]

    async def _rest_trading_pairs(self, request: web.Request) -> web.Response:
        """The pairs the simulated exchange lists (the demo markets), in the documented shape."""
        data = []
        for name in DEMO_MARKETS:
            base, quote = split_market(name)
            data.append(
                {
                    "pair": f"{base}_{quote}".lower(),
                    "base": base.lower(),
                    "quote": quote.lower(),
                    "basePrecision": "8",
                    "quotePrecision": "4",
                    "maintain": False,
                }
            )
        return web.json_response({"data": data})

    async def _rest_balance(self, request: web.Request) -> web.Response:
        data = [
            {**self._ws_balance(balance), "currency": balance.asset.lower()}
            for balance in self.truth.balances.values()
        ]
        return web.json_response({"data": data})

    async def _rest_open_orders(self, request: web.Request) -> web.Response:
        pair = request.query.get("pair", "").lower()
        orders = [o for o in self.truth.open_orders.values() if not pair or pair_of(o.market) == pair]
        return web.json_response({"data": [self._order(o, client_key="clientId") for o in orders]})

    async def _rest_trades(self, request: web.Request) -> web.Response:
        """Fills of one pair, newest first. `tradeId` (an offset in the real API) is not supported."""
        pair = request.match_info["pair"].lower()
        try:
            end = int(request.query.get("endTimestamp", now_ms()))
            start = int(request.query.get("startTimestamp", end - 90 * DAY_MS))
            limit = min(max(int(request.query.get("limit", 100)), 1), 1000)
        except ValueError:
            return web.json_response({"error": "Invalid parameters"}, status=HTTPStatus.BAD_REQUEST)
        order_id = request.query.get("orderId")
        fills = [
            f
            for f in reversed(self.truth.fills)
            if pair_of(f.market) == pair
            and start <= f.time_ms <= end
            and (order_id is None or f.order_id == order_id)
        ]
        return web.json_response({"data": [self._rest_trade(f) for f in fills[:limit]]})

    def _rest_trade(self, fill: Fill) -> dict[str, object]:
        return {
            "tradeId": self.rest_trade_id(fill.trade_id),
            "orderId": fill.order_id,
            "price": num(fill.price),
            "action": fill.side.value.upper(),
            "baseAmount": num(fill.amount),
            "quoteAmount": num(self.truth.quote_amount(fill.trade_id)),
            "fee": num(fill.fee),
            "feeSymbol": fill.fee_asset.lower(),
            "isTaker": self._is_market(fill),
            "createdTimestamp": fill.time_ms,
        }


def _status(order: Order) -> int:
    if order.status is OrderStatus.CANCELLED and order.filled > 0:
        return _CANCELLED_AFTER_PARTIAL_FILL
    return _STATUS[order.status]
