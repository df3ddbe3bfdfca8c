"""A local Coins.ph: the REST calls the monitor uses and the user data stream, on loopback.

Follows /work/shared/protocols/coinsph.md:
- REST authentication as the exchange does it: `X-COINS-APIKEY` (missing -1002, unknown -2018, disabled
  -2015); SIGNED calls need `timestamp` and `signature` = hex HMAC-SHA256 over totalParams (the raw query
  string followed directly by the raw form body, the `signature` parameter left out), -1022 otherwise;
  `timestamp < serverTime + 1000 and serverTime - timestamp <= recvWindow` (default 5000, at most 60000),
  -1021 otherwise. The listenKey calls (USER_STREAM) need only the key header, and are checked like a
  SIGNED call when they carry a timestamp or signature. Errors are `{"code": ..., "msg": ...}` with the
  docs' texts. A parameter sent in both the query string and the body takes the query's value.
- listenKeys: POST creates one valid for 60 minutes (or returns the active one, extended), at most
  `KEYS_PER_HOUR` creations an hour (-1026); PUT extends (-1125 for an unknown key); DELETE ends it and
  its streams. A key that runs out pushes `{"e":"listenKeyExpired",...}` and closes its streams. A
  connection lives at most 24 h. An unknown key at the upgrade is refused with HTTP 400 and -1125
  (`unknown_key="refuse"`) or accepted, answered with the -1125 error frame and closed
  (`unknown_key="close"`): how the real server does it is not published, so tests cover both.
- `time_scale` runs those protocol clocks (key validity, connection cap, the creation limit's hour)
  faster, so tests see a keep-alive PUT, an expiry and the 24 h rotation within seconds. The server's
  wall clock (`serverTime`, the timestamp check, event times) is not scaled: it is the machine's clock
  plus `clock_offset_ms`, which a test sets to put the server ahead or behind.
- The stream: no snapshot on connect; `outboundAccountPosition` (or the seed's `outboundAccountInfo`)
  per balance change, `balanceUpdate` before the position for a deposit or withdrawal, one
  `executionReport` per order event (a fill is `x=TRADE` with `l`, `L`, `n`, `N`, `t`). `flavour="seed"`
  sends the seed template's shapes instead (no `x`, `t`, `T`; `c` a number; `T`/`W`/`D` booleans).
  `{"ping":ms}` is answered `{"pong":ms}`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import string
import time
from collections import Counter
from collections.abc import Callable, Iterable
from decimal import Decimal
from http import HTTPStatus
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl

from aiohttp import web
from websockets.http11 import Request

from streams.model import Balance, Fill, Order, OrderStatus, Side, now_ms
from streams.simulator.base import ExchangeSimulator, Refusal, SimClient
from streams.simulator.truth import DEMO_MARKETS, ZERO, Change, SimulatedAccount, q, split_market, to_decimal

USER = "user-data"  # the one stream a listenKey carries
STREAM_PATH = "/openapi/ws/"
LISTEN_KEY_PATH = "/openapi/v1/userDataStream"
API_KEY_HEADER = "X-COINS-APIKEY"
KEY_VALIDITY_S = 3_600.0
CONNECTION_CAP_S = 86_400.0
KEYS_PER_HOUR = 30
RECV_WINDOW_DEFAULT_MS = 5_000
RECV_WINDOW_MAX_MS = 60_000
TICK_S = 0.02  # how often (real seconds) expiries and the connection cap are checked
PUBLIC_PATHS = frozenset({"/openapi/v1/time", "/openapi/v1/exchangeInfo", "/openapi/v1/ping"})
LISTED_ONLY = ("BTC/PHP", "ETH/PHP", "USDT/PHP")  # listed in exchangeInfo, not traded by the demo

DEMO_CREDENTIALS = {
    "api_key": "demoCoinsPhApiKey0000000000000000000000000000000000000000000000",
    "api_secret": "demoCoinsPhApiSecret000000000000000000000000000000000000000000",
}

# The docs' error texts (coins-docs errors page, 2024 version).
MISSING_KEY = (-1002, "You are not authorized to execute this request")
UNKNOWN_KEY = (-2018, "API-key does not exist.")
DISABLED_KEY = (-2015, "API-key is not enabled.")
BAD_SIGNATURE = (-1022, "Signature for this request is not valid.")
BAD_TIMESTAMP = (-1021, "Timestamp for this request is outside of the recv window.")
LISTEN_KEY_GONE = (-1125, "This listenKey does not exist")
KEYS_LIMITED = (-1026, f"Create listenKey rate limited({KEYS_PER_HOUR} per hour), please try again next hour")
UNAVAILABLE = (-1001, "Internal error.")

_WIRE_STATUS = {
    OrderStatus.OPEN: "NEW",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELLED: "CANCELED",
    OrderStatus.REJECTED: "REJECTED",
}
_EXECUTION_TYPE = {
    OrderStatus.OPEN: "NEW",
    OrderStatus.CANCELLED: "CANCELED",
    OrderStatus.REJECTED: "REJECTED",
}
_SEED_ONLY_DROPS = ("x", "P", "r", "T", "t", "Y", "Q")


def num(amount: Decimal) -> str:
    """A decimal string as Coins.ph writes it: eight decimal places ("0.50000000")."""
    return format(q(amount), "f")


def symbol_of(market: str) -> str:
    """`"BTC/PHP"` -> `"BTCPHP"`."""
    base, quote = split_market(market)
    return base + quote


def total_params(raw_query: str, raw_body: str) -> str:
    """What the client signed: query then body, each without its `signature` parameter."""

    def without_signature(raw: str) -> str:
        if not raw:
            return raw
        return "&".join(part for part in raw.split("&") if not part.startswith("signature="))

    return without_signature(raw_query) + without_signature(raw_body)


def parameters(raw_query: str, raw_body: str) -> dict[str, str]:
    """Both parts decoded; a name in both takes the query string's value."""
    values = dict(parse_qsl(raw_body, keep_blank_values=True))
    values.update(parse_qsl(raw_query, keep_blank_values=True))
    return values


class CoinsphTruth(SimulatedAccount):
    """The ledger with Coins.ph-like ids (order ids above 2**53, numeric trade ids), remembering the
    delta of a balance set outright (a deposit or withdrawal) while its change is reported."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed + 3)
        self._order_seq = 1_241_518_645_726_809_840 + rng.randrange(10**12)
        self._trade_seq = 28_457_000 + rng.randrange(10**5)
        self._seq_rng = rng
        self.moving: tuple[str, Decimal] | None = None
        super().__init__(seed, order_id=self._next_order_id, trade_id=self._next_trade_id)

    def _next_order_id(self) -> str:
        self._order_seq += self._seq_rng.randint(1, 97)
        return str(self._order_seq)

    def _next_trade_id(self) -> str:
        self._trade_seq += self._seq_rng.randint(1, 9)
        return str(self._trade_seq)

    def set_balance(
        self,
        asset: str,
        total: Decimal | int | str,
        available: Decimal | int | str | None = None,
        locked: Decimal | int | str | None = None,
    ) -> Balance:
        self.moving = (asset.upper(), q(to_decimal(total)) - self.balance(asset).total)
        try:
            return super().set_balance(asset, total, available, locked)
        finally:
            self.moving = None


class CoinsphSimulator(ExchangeSimulator):
    """Coins.ph REST at `rest_url` and the user data stream at `ws_url + "/openapi/ws/<listenKey>"`."""

    ws_prefix: ClassVar[str] = ""
    rest_prefix: ClassVar[str] = ""
    ping_interval_s: ClassVar[float | None] = 60.0  # websocket pings, which the client's library answers
    ping_timeout_s: ClassVar[float | None] = 60.0

    def __init__(
        self,
        *,
        seed: int = 1,
        activity_interval_s: float | None = None,
        time_scale: float = 1.0,
        clock_offset_ms: int = 0,
        flavour: Literal["docs", "seed"] = "docs",
        position_after_balance_update: bool = True,
        unknown_key: Literal["refuse", "close"] = "refuse",
    ) -> None:
        super().__init__(seed=seed, activity_interval_s=activity_interval_s)
        self.time_scale = time_scale
        self.key_validity_s = KEY_VALIDITY_S  # simulated seconds; a test may shorten one of them alone
        self.connection_cap_s = CONNECTION_CAP_S
        self.clock_offset_ms = clock_offset_ms  # the server's clock minus the machine's
        self.misreport_time_ms = 0  # fault: /openapi/v1/time answers this far from the server's clock
        self.flavour = flavour
        self.position_after_balance_update = position_after_balance_update
        self.unknown_key = unknown_key
        self.api_key_enabled = True
        self.user_stream_calls: Counter[str] = Counter()  # accepted listenKey calls by HTTP method
        self.keys_created = 0
        self.keys_expired = 0
        self.cap_closes = 0
        self.timestamp_rejections = 0
        self.pongs = 0
        self._t0 = time.monotonic()
        self._keys: dict[str, float] = {}  # listenKey -> expiry, in simulated seconds
        self._creations: list[float] = []  # simulated times of key creations (the hourly limit)
        self._opened: dict[SimClient, tuple[str, float]] = {}  # stream -> (its key, simulated open time)
        self._lose_next_key = False
        self._key_rng = random.Random(seed + 4)
        self._codes: dict[str, int] = {"Service Unavailable": UNAVAILABLE[0], "Not Found": -1000}
        self._timer: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    def make_truth(self, seed: int) -> SimulatedAccount:
        truth = CoinsphTruth(seed)
        truth.populate_demo()
        return truth

    @property
    def credentials(self) -> dict[str, str]:
        return dict(DEMO_CREDENTIALS)

    # ---- clocks ------------------------------------------------------------------------------

    def simulated_s(self) -> float:
        """The protocol clock: real seconds since start times `time_scale`."""
        return (time.monotonic() - self._t0) * self.time_scale

    def server_ms(self) -> int:
        """The server's wall clock (not scaled)."""
        return now_ms() + self.clock_offset_ms

    async def start(self, host: str = "127.0.0.1", ws_port: int = 0, rest_port: int = 0) -> None:
        await super().start(host, ws_port, rest_port)
        self._timer = asyncio.create_task(self._tick())

    async def stop(self) -> None:
        tasks = [t for t in (self._timer, *self._closing) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._timer = None
        await super().stop()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            self._expire()

    def _expire(self) -> None:
        """End keys that ran out (pushing listenKeyExpired) and connections older than the cap."""
        now = self.simulated_s()
        for key, until in list(self._keys.items()):
            if until <= now:
                self._end_key(key, expired=True)
        connected = set(self.clients())
        for client, (_, opened) in list(self._opened.items()):
            if client not in connected:
                del self._opened[client]
            elif now - opened >= self.connection_cap_s:
                self.cap_closes += 1
                self._close(client, None, 1000, "connection lifetime of 24 h reached")

    def _end_key(self, key: str, *, expired: bool) -> None:
        self._keys.pop(key, None)
        if expired:
            self.keys_expired += 1
        notice = (
            json.dumps({"e": "listenKeyExpired", "E": self.server_ms(), "listenKey": key})
            if expired
            else None
        )
        for client, (client_key, _) in list(self._opened.items()):
            if client_key == key:
                self._close(client, notice, 1000, "listenKey expired" if expired else "listenKey deleted")

    def _close(self, client: SimClient, notice: str | None, code: int, reason: str) -> None:
        """Send `notice` (if any), then close the stream with `code`, without blocking the caller."""
        self._opened.pop(client, None)

        async def close() -> None:
            if notice is not None:
                client.send(notice)
                await client.flushed()
            await client.connection.close(code, reason)

        task = asyncio.create_task(close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    # ---- faults ------------------------------------------------------------------------------

    def expire_listen_keys(self) -> None:
        """Every key runs out now, as the 60 minutes would: listenKeyExpired, then the streams close."""
        for key in list(self._keys):
            self._end_key(key, expired=True)

    async def expire_session(self) -> None:
        """The session credential is the listenKey: it runs out now (listenKeyExpired, then close)."""
        self.expire_listen_keys()

    def forget_listen_keys(self) -> None:
        """Every key vanishes silently (streams stay open): the next PUT answers -1125."""
        self._keys.clear()

    def lose_key_at_next_upgrade(self) -> None:
        """The key the next upgrade presents is gone by then (expired or deleted since the client's
        PUT): it is refused or closed as `unknown_key` says."""
        self._lose_next_key = True

    @property
    def listen_keys(self) -> list[str]:
        return list(self._keys)

    # ---- websocket ---------------------------------------------------------------------------

    def route(self, path: str) -> set[str] | None:
        key = path.removeprefix(STREAM_PATH)
        if path.startswith(STREAM_PATH) and key and "/" not in key:
            return {USER}
        return None

    def authenticate_ws(self, request: Request) -> Refusal | None:
        key = request.path.split("?", 1)[0].removeprefix(STREAM_PATH)
        if self._lose_next_key:
            self._lose_next_key = False
            self._keys.pop(key, None)
        if key in self._keys or self.unknown_key == "close":
            return None
        return self._refusal(HTTPStatus.BAD_REQUEST, LISTEN_KEY_GONE)

    def welcome(self, client: SimClient) -> list[str]:
        """Nothing is pushed on connect; an unknown key (with `unknown_key="close"`) gets the error
        frame and a close right away."""
        key = client.path.removeprefix(STREAM_PATH)
        if key in self._keys:
            self._opened[client] = (key, self.simulated_s())
        else:
            code, msg = LISTEN_KEY_GONE
            self._close(client, json.dumps({"code": code, "msg": msg}), 1008, "listenKey does not exist")
        return []

    def on_message(self, client: SimClient, text: str | bytes) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            client.send(json.dumps({"code": 3, "msg": "Invalid JSON"}))
            return
        if isinstance(msg, dict) and "ping" in msg:
            self.pongs += 1
            client.send(json.dumps({"pong": msg["ping"]}))
            return
        client.send(json.dumps({"code": 2, "msg": "Invalid request: unknown method"}))

    def render(self, change: Change) -> list[tuple[str, str]]:
        if isinstance(change, Balance):
            return [(USER, frame) for frame in self._balance_frames(change)]
        if isinstance(change, Fill):
            return [(USER, self.execution_report(self.truth.orders[change.order_id], change))]
        if change.status in _EXECUTION_TYPE and not (change.status is OrderStatus.OPEN and change.filled):
            return [(USER, self.execution_report(change))]
        return []  # partially filled / filled: reported with the fill that did it

    def _balance_frames(self, balance: Balance) -> list[str]:
        frames = []
        moving = getattr(self.truth, "moving", None)
        if moving is not None and moving[0] == balance.asset and moving[1]:
            frames.append(self.balance_update(balance.asset, moving[1]))
            if not self.position_after_balance_update:
                return frames
        frames.append(self.account_position([balance]))
        return frames

    def account_position(self, balances: Iterable[Balance], *, event_ms: int | None = None) -> str:
        stamp = self.server_ms() if event_ms is None else event_ms
        items = [{"a": b.asset, "f": num(b.available), "l": num(b.locked)} for b in balances]
        if self.flavour == "seed":
            payload: dict[str, Any] = {
                "e": "outboundAccountInfo",
                "E": stamp,
                "T": True,
                "W": True,
                "D": True,
            }
        else:
            payload = {"e": "outboundAccountPosition", "E": stamp, "u": stamp}
        payload["B"] = items
        return json.dumps(payload)

    def balance_update(self, asset: str, delta: Decimal) -> str:
        stamp = self.server_ms()
        business = "CHAIN_DEPOSIT" if delta > 0 else "CHAIN_WITHDRAWAL"
        return json.dumps(
            {"e": "balanceUpdate", "E": stamp, "a": asset, "d": num(delta), "T": stamp, "BS": business}
        )

    def execution_report(self, order: Order, fill: Fill | None = None, *, event_ms: int | None = None) -> str:
        """One order event in the docs' field set (or the seed's): `fill` makes it an `x=TRADE`."""
        offset = self.clock_offset_ms
        fills = self.truth.fills_of(order.order_id)
        quote_total = sum((self.truth.quote_amount(f.trade_id) for f in fills), ZERO)
        payload: dict[str, Any] = {
            "e": "executionReport",
            "E": order.updated_ms + offset if event_ms is None else event_ms,
            "s": symbol_of(order.market),
            "c": f"sim{order.order_id[-10:]}",
            "S": order.side.value.upper(),
            "o": order.kind.upper(),
            "f": "GTC",
            "q": num(order.amount),
            "p": num(order.price),
            "P": num(ZERO),
            "x": "TRADE" if fill is not None else _EXECUTION_TYPE.get(order.status, "NEW"),
            "X": _WIRE_STATUS[order.status],
            "r": "NONE",
            "i": int(order.order_id),
            "l": num(fill.amount if fill else ZERO),
            "z": num(order.filled),
            "L": num(fill.price if fill else ZERO),
            "n": num(fill.fee) if fill else "0",
            "N": fill.fee_asset if fill else None,
            "T": fill.time_ms + offset if fill else -1,
            "t": int(fill.trade_id) if fill else -1,
            "w": order.status.is_open,
            "m": fill is not None and order.kind != "market",
            "O": order.created_ms + offset,
            "Z": num(quote_total),
            "Y": num(self.truth.quote_amount(fill.trade_id) if fill else ZERO),
            "Q": num(ZERO),
        }
        if self.flavour == "seed":
            for key in _SEED_ONLY_DROPS:
                del payload[key]
            payload["c"] = int(order.order_id[-10:])
            payload["u"] = True
        return json.dumps(payload)

    # ---- REST authentication -----------------------------------------------------------------

    def _refusal(self, status: int, error: tuple[int, str]) -> Refusal:
        code, msg = error
        self._codes[msg] = code
        return Refusal(status, msg)

    def error_body(self, text: str) -> str:
        return json.dumps({"code": self._codes.get(text, -1000), "msg": text})

    async def authenticate_rest(self, request: web.Request) -> Refusal | None:
        if request.path in PUBLIC_PATHS:
            return None
        key = request.headers.get(API_KEY_HEADER)
        if not key:
            return self._refusal(HTTPStatus.UNAUTHORIZED, MISSING_KEY)
        if not hmac.compare_digest(key.encode(), DEMO_CREDENTIALS["api_key"].encode()):
            return self._refusal(HTTPStatus.UNAUTHORIZED, UNKNOWN_KEY)
        if not self.api_key_enabled:
            return self._refusal(HTTPStatus.UNAUTHORIZED, DISABLED_KEY)
        raw_query = request.raw_path.partition("?")[2]
        raw_body = await request.text() if request.body_exists else ""
        params = parameters(raw_query, raw_body)
        user_stream = request.path == LISTEN_KEY_PATH
        if user_stream and "signature" not in params and "timestamp" not in params:
            return None  # USER_STREAM: the key header is enough
        return self._check_signed(params, total_params(raw_query, raw_body))

    def _check_signed(self, params: dict[str, str], signed_text: str) -> Refusal | None:
        for name in ("timestamp", "signature"):
            if not params.get(name):
                return self._refusal(HTTPStatus.BAD_REQUEST, (-1105, f"Parameter '{name}' is required."))
        try:
            timestamp = int(params["timestamp"])
            window = int(params.get("recvWindow", RECV_WINDOW_DEFAULT_MS))
        except ValueError:
            return self._refusal(HTTPStatus.BAD_REQUEST, (-1025, "Parameter 'timestamp' is not valid."))
        if not 0 < window <= RECV_WINDOW_MAX_MS:
            return self._refusal(HTTPStatus.BAD_REQUEST, (-1025, "Parameter 'recvWindow' is not valid."))
        server = self.server_ms()
        if not (timestamp < server + 1000 and server - timestamp <= window):
            self.timestamp_rejections += 1
            return self._refusal(HTTPStatus.BAD_REQUEST, BAD_TIMESTAMP)
        expected = hmac.new(DEMO_CREDENTIALS["api_secret"].encode(), signed_text.encode(), hashlib.sha256)
        if not hmac.compare_digest(params["signature"].lower(), expected.hexdigest()):
            return self._refusal(HTTPStatus.BAD_REQUEST, BAD_SIGNATURE)
        return None

    # ---- REST --------------------------------------------------------------------------------

    def rest_routes(self) -> list[web.RouteDef]:
        return [
            web.get("/openapi/v1/ping", self._rest_ping),
            web.get("/openapi/v1/time", self._rest_time),
            web.get("/openapi/v1/exchangeInfo", self._rest_exchange_info),
            web.get("/openapi/v1/account", self._rest_account),
            web.get("/openapi/v1/openOrders", self._rest_open_orders),
            web.get("/openapi/v1/myTrades", self._rest_my_trades),
            web.post(LISTEN_KEY_PATH, self._rest_create_key),
            web.put(LISTEN_KEY_PATH, self._rest_keep_alive),
            web.delete(LISTEN_KEY_PATH, self._rest_delete_key),
        ]

    def _error(self, status: int, error: tuple[int, str]) -> web.Response:
        code, msg = error
        return web.json_response({"code": code, "msg": msg}, status=status)

    @staticmethod
    async def _params(request: web.Request) -> dict[str, str]:
        raw_body = await request.text() if request.body_exists else ""
        return parameters(request.raw_path.partition("?")[2], raw_body)

    async def _rest_ping(self, request: web.Request) -> web.Response:
        return web.json_response({})

    async def _rest_time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": self.server_ms() + self.misreport_time_ms})

    async def _rest_exchange_info(self, request: web.Request) -> web.Response:
        symbols = []
        for market in (*DEMO_MARKETS, *LISTED_ONLY):
            base, quote = split_market(market)
            symbols.append(
                {
                    "symbol": base + quote,
                    "status": "TRADING",
                    "baseAsset": base,
                    "baseAssetPrecision": 8,
                    "quoteAsset": quote,
                    "quoteAssetPrecision": 8,
                    "orderTypes": ["LIMIT", "MARKET", "LIMIT_MAKER"],
                    "filters": [],
                }
            )
        body = {"timezone": "UTC", "serverTime": self.server_ms(), "exchangeFilters": [], "symbols": symbols}
        return web.json_response(body)

    async def _rest_account(self, request: web.Request) -> web.Response:
        balances = [
            {"asset": b.asset, "free": num(b.available), "locked": num(b.locked)}
            for b in self.truth.balances.values()
        ]
        return web.json_response(
            {
                "accountType": "SPOT",
                "canDeposit": True,
                "canTrade": True,
                "canWithdraw": True,
                "balances": balances,
                "token": "PHP",
                "updateTime": self.server_ms(),
            }
        )

    async def _rest_open_orders(self, request: web.Request) -> web.Response:
        symbol = (await self._params(request)).get("symbol", "").upper()
        orders = [o for o in self.truth.open_orders.values() if not symbol or symbol_of(o.market) == symbol]
        return web.json_response([self._rest_order(o) for o in orders])

    def _rest_order(self, order: Order) -> dict[str, Any]:
        offset = self.clock_offset_ms
        fills = self.truth.fills_of(order.order_id)
        return {
            "symbol": symbol_of(order.market),
            "orderId": int(order.order_id),
            "clientOrderId": f"sim{order.order_id[-10:]}",
            "price": num(order.price),
            "origQty": num(order.amount),
            "executedQty": num(order.filled),
            "cummulativeQuoteQty": num(sum((self.truth.quote_amount(f.trade_id) for f in fills), ZERO)),
            "status": _WIRE_STATUS[order.status],
            "timeInForce": "GTC",
            "type": order.kind.upper(),
            "side": order.side.value.upper(),
            "stopPrice": num(ZERO),
            "time": order.created_ms + offset,
            "updateTime": order.updated_ms + offset,
            "isWorking": True,
            "origQuoteOrderQty": num(ZERO),
        }

    async def _rest_my_trades(self, request: web.Request) -> web.Response:
        """One symbol's fills, oldest first: from `fromId`, within `startTime`/`endTime`, of one
        `orderId`; without `fromId` or `startTime`, the most recent `limit`."""
        params = await self._params(request)
        symbol = params.get("symbol", "").upper()
        if not symbol:
            return self._error(HTTPStatus.BAD_REQUEST, (-1105, "Parameter 'symbol' is required."))
        try:
            limit = int(params.get("limit", 500))
            bounds = {
                name: int(params[name]) for name in ("fromId", "startTime", "endTime") if name in params
            }
        except ValueError:
            return self._error(HTTPStatus.BAD_REQUEST, (-1025, "Parameter 'limit' is not valid."))
        if not 0 < limit <= 1000:
            return self._error(HTTPStatus.BAD_REQUEST, (-1025, "Parameter 'limit' is not valid."))
        offset = self.clock_offset_ms
        tests: list[Callable[[Fill], bool]] = [lambda f: symbol_of(f.market) == symbol]
        if "orderId" in params:
            tests.append(lambda f: f.order_id == params["orderId"])
        if "fromId" in bounds:
            tests.append(lambda f: int(f.trade_id) >= bounds["fromId"])
        if "startTime" in bounds:
            tests.append(lambda f: f.time_ms + offset >= bounds["startTime"])
        if "endTime" in bounds:
            tests.append(lambda f: f.time_ms + offset <= bounds["endTime"])
        fills = sorted(
            (f for f in self.truth.fills if all(t(f) for t in tests)), key=lambda f: int(f.trade_id)
        )
        fills = fills[:limit] if "fromId" in bounds or "startTime" in bounds else fills[-limit:]
        return web.json_response([self._rest_trade(f) for f in fills])

    def _rest_trade(self, fill: Fill) -> dict[str, Any]:
        return {
            "symbol": symbol_of(fill.market),
            "id": int(fill.trade_id),
            "orderId": int(fill.order_id),
            "price": num(fill.price),
            "qty": num(fill.amount),
            "quoteQty": num(self.truth.quote_amount(fill.trade_id)),
            "commission": num(fill.fee),
            "commissionAsset": fill.fee_asset,
            "time": fill.time_ms + self.clock_offset_ms,
            "isBuyer": fill.side is Side.BUY,
            "isMaker": True,
            "isBestMatch": True,
        }

    async def _rest_create_key(self, request: web.Request) -> web.Response:
        self.user_stream_calls["POST"] += 1
        now = self.simulated_s()
        if self._keys:  # the account's active key, extended
            key = next(iter(self._keys))
            self._keys[key] = now + self.key_validity_s
            return web.json_response({"listenKey": key})
        self._creations = [t for t in self._creations if now - t < 3_600.0]
        if len(self._creations) >= KEYS_PER_HOUR:
            return self._error(HTTPStatus.BAD_REQUEST, KEYS_LIMITED)
        self._creations.append(now)
        key = "".join(self._key_rng.choice(string.ascii_letters + string.digits) for _ in range(64))
        self._keys[key] = now + self.key_validity_s
        self.keys_created += 1
        return web.json_response({"listenKey": key})

    async def _rest_keep_alive(self, request: web.Request) -> web.Response:
        self.user_stream_calls["PUT"] += 1
        key = (await self._params(request)).get("listenKey", "")
        if key not in self._keys:
            return self._error(HTTPStatus.BAD_REQUEST, LISTEN_KEY_GONE)
        self._keys[key] = self.simulated_s() + self.key_validity_s
        return web.json_response({})

    async def _rest_delete_key(self, request: web.Request) -> web.Response:
        self.user_stream_calls["DELETE"] += 1
        key = (await self._params(request)).get("listenKey", "")
        if key not in self._keys:
            return self._error(HTTPStatus.BAD_REQUEST, LISTEN_KEY_GONE)
        self._end_key(key, expired=False)
        return web.json_response({})
