"""A local CoinW spot: the private websocket and the REST commands the monitor uses, on loopback.

Follows /work/shared/protocols/coinw.md:
- websocket at the bare host (no path). Nothing is sent on connect; the client logs in with
  `{"event":"login","params":{"api_key","passphrase"}}` (the secret itself), then subscribes with
  `{"event":"sub","params":{"biz":"exchange","type":"assets"|"order"}}`. `{"event":"ping"}` gets
  `{"event":"pong"}`; the bare text `ping` gets error 1001 "Rate Limit"; other events (`SUB` in capitals
  included) get error 500. A subscription to an unknown type is acked and never served (section 8).
- `assets` pushes only balance changes made by trading (placing, cancelling, filling), one frame per
  currency, `data` sometimes a lone object and sometimes a one-element array, `time` an int or a
  string: the type drift the docs show. Deposits (`set_balance`) are not pushed.
- `order` pushes `RECEIVED` for a new order and `DONE` with `reason` when it ends. A partial fill
  sends NO order frame (CoinW has no such event): only the `assets` changes, and the trade in REST.
  Market orders are pushed with `side: ""`.
- REST: `POST /api/v1/private?command=<name>&...&sign=<MD5>` checked exactly as the protocol says
  (sorted parameters, `&secret_key=`, upper-case hex), envelopes with a string `code`, and the
  per-command limits of section 7 enforced (error 29001 beyond them). Public `GET /api/v1/public?
  command=returnSymbol` lists the pairs.

CoinW publishes no login-failure frame and no REST error codes for bad keys or signatures: the codes
used here (1003, 6000) are the ones CoinW.Net maps to authentication errors, and the texts are invented
(see LOGIN_FAILED, UNKNOWN_KEY, BAD_SIGNATURE). The simulator never logs a client frame, and its
websockets' DEBUG frame log is off (the login frame carries the secret).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
from collections import Counter, deque
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from http import HTTPStatus
from typing import Any, ClassVar

from aiohttp import web
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from streams.model import Balance, Fill, Order, OrderStatus, Side, now_ms
from streams.simulator.base import ExchangeSimulator, Refusal, SimClient
from streams.simulator.truth import DEMO_MARKETS, Change, SimulatedAccount, split_market

ASSETS = "assets"
ORDERS = "order"
PRIVATE_PATH = "/api/v1/private"
PUBLIC_PATH = "/api/v1/public"

DEMO_CREDENTIALS = {"api_key": "demo-coinw-api-key-7f3a", "api_secret": "demo-coinw-api-secret-91c2"}

# Invented texts (CoinW publishes none); the codes are those CoinW.Net maps to authentication errors.
LOGIN_FAILED = (1003, "Login failed: invalid api_key or passphrase")
UNKNOWN_KEY = "API key does not exist"
BAD_SIGNATURE = "Signature verification failed"
NOT_LOGGED_IN = (401, "Please login first")
RATE_LIMITED = "API access frequently"  # code 29001, as CoinW's rate-limit page words it
_ERROR_CODES = {
    UNKNOWN_KEY: "6000",
    BAD_SIGNATURE: "1003",
    RATE_LIMITED: "29001",
    "Service Unavailable": "503",
}
# Calls per window of each command (CoinW's page for returnOrderTrades; CoinW.Net for the others).
RATE_LIMITS: dict[str, tuple[int, float]] = {
    "returnCompleteBalances": (5, 2.0),
    "returnBalances": (3, 1.0),
    "returnOpenOrders": (30, 2.0),
    "returnOrderTrades": (30, 2.0),
    "getUserTrades": (10, 2.0),
    "returnUTradeHistory": (5, 2.0),
}
_STATUS = {
    OrderStatus.OPEN: 1,
    OrderStatus.PARTIALLY_FILLED: 2,
    OrderStatus.FILLED: 3,
    OrderStatus.CANCELLED: 4,
    OrderStatus.REJECTED: 4,
}
_CHINA = timezone(timedelta(hours=8))
_WIDE = Decimal("1E-18")  # getUserTrades writes 18 decimal places ("0E-18" for zero)


def num(amount: Decimal) -> str:
    """A decimal string without exponent or trailing zeros ("0.0001", "82000")."""
    return format(amount.normalize(), "f")


def wide(amount: Decimal) -> str:
    """A decimal as getUserTrades writes it: Java BigDecimal with scale 18 ("0.001200000000000000")."""
    return str(amount.quantize(_WIDE))


def pair_of(market: str) -> str:
    """`"BTC/USDT"` -> `"BTC_USDT"`."""
    base, quote = split_market(market)
    return f"{base}_{quote}"


def china_time(ms: int) -> str:
    """`YYYY-MM-DD HH:MM:SS` in UTC+8, as returnOrderTrades writes `date`."""
    return datetime.fromtimestamp(ms / 1000, _CHINA).strftime("%Y-%m-%d %H:%M:%S")


def expected_sign(query: Mapping[str, str], api_secret: str) -> str:
    """The signature CoinW expects for a private call, written out from the protocol text (not the
    client's signer): every parameter but `command` and `sign`, sorted by name, `&secret_key=`, MD5,
    upper-case hex."""
    names = sorted((n for n in query if n not in ("command", "sign")), key=lambda n: n.encode())
    text = "&".join(f"{n}={query[n]}" for n in names) + f"&secret_key={api_secret}"
    return hashlib.md5(text.encode()).hexdigest().upper()


class CoinWAccount(SimulatedAccount):
    """The truth with CoinW-shaped ids (order ids above 2**53, numeric trade ids), and a note of which
    balance changes are deposits: CoinW pushes only those that trading makes."""

    def __init__(self, seed: int) -> None:
        ids = random.Random(seed + 100)
        self._order_seq = 4_624_530_000_000_000_000 + ids.randrange(10**12)
        self._trade_seq = 127_000_000 + ids.randrange(10**6)
        self._id_rng = ids
        super().__init__(seed, order_id=self._next_order_id, trade_id=self._next_trade_id)
        self.depositing = False

    def _next_order_id(self) -> str:
        self._order_seq += self._id_rng.randint(1, 10**6)  # other users' orders in between
        return str(self._order_seq)

    def _next_trade_id(self) -> str:
        self._trade_seq += self._id_rng.randint(1, 50)
        return str(self._trade_seq)

    def set_balance(self, *args: Any, **kwargs: Any) -> Balance:
        self.depositing = True
        try:
            return super().set_balance(*args, **kwargs)
        finally:
            self.depositing = False


class CoinWSimulator(ExchangeSimulator):
    """CoinW's private websocket at `ws_url` (no path) and REST at `rest_url + /api/v1/...`."""

    ws_prefix: ClassVar[str] = ""
    rest_prefix: ClassVar[str] = ""
    ping_interval_s: ClassVar[float | None] = None  # CoinW sends no pings; clients send JSON pings
    ping_timeout_s: ClassVar[float | None] = None

    def __init__(self, *, seed: int = 1, activity_interval_s: float | None = None) -> None:
        super().__init__(seed=seed, activity_interval_s=activity_interval_s)
        self._drift = random.Random(seed + 3)
        self._ledger_id = 1_125_899_934_698_144_651 + random.Random(seed + 4).randrange(10**6)
        self._logged_in: set[SimClient] = set()
        self.logins = 0  # accepted login frames
        self.pings = 0  # {"event":"ping"} frames answered
        self.subscriptions: Counter[str] = Counter()  # accepted `sub` frames per type
        self.calls: dict[str, list[float]] = {}  # REST command -> arrival times (loop clock)
        self.rate_limited = 0
        self.rendered: Counter[str] = Counter()  # data frames made per channel (sent to each subscriber)
        self._windows: dict[str, deque[float]] = {}

    def make_truth(self, seed: int) -> SimulatedAccount:
        truth = CoinWAccount(seed)
        truth.populate_demo()
        return truth

    @property
    def credentials(self) -> dict[str, str]:
        return dict(DEMO_CREDENTIALS)

    # ---- websocket ---------------------------------------------------------------------------

    def route(self, path: str) -> set[str] | None:
        """The one socket lives at the bare host; its streams come from `sub` frames."""
        return set() if path in ("", "/") else None

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Switch the websockets DEBUG frame log off before any frame arrives: the login frame
        carries the client's secret."""
        connection.protocol.debug = False
        return super()._process_request(connection, request)

    def on_message(self, client: SimClient, text: str | bytes) -> None:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if text == "ping":
            client.send(_error_frame(1001, "Rate Limit"))
            return
        try:
            msg = json.loads(text)
        except ValueError:
            client.send(_error_frame(500, "Invalid message format"))
            return
        event = msg.get("event") if isinstance(msg, dict) else None
        params = msg.get("params") if isinstance(msg, dict) else None
        if event == "ping":
            self.pings += 1
            client.send(_dumps({"event": "pong"}))
        elif event == "login":
            self._login(client, params if isinstance(params, dict) else {})
        elif event in ("sub", "unsub"):
            self._subscribe(client, event, params if isinstance(params, dict) else {})
        else:
            client.send(_error_frame(500, f"Unsupported event: {event}"))

    def _login(self, client: SimClient, params: Mapping[str, Any]) -> None:
        creds = DEMO_CREDENTIALS
        key_ok = hmac.compare_digest(str(params.get("api_key", "")), creds["api_key"])
        secret_ok = hmac.compare_digest(str(params.get("passphrase", "")), creds["api_secret"])
        if key_ok and secret_ok:
            self.logins += 1
            self._logged_in.add(client)
            client.send(_dumps({"data": {"result": True}, "channel": "login"}))
            return
        self.auth_failures += 1
        code, text = LOGIN_FAILED
        client.send(
            _dumps({"data": {"result": False, "errorCode": code, "errorMsg": text}, "channel": "login"})
        )

    def _subscribe(self, client: SimClient, event: str, params: Mapping[str, Any]) -> None:
        kind = str(params.get("type", ""))
        channel = "subscribe" if event == "sub" else "unsubscribe"
        if client not in self._logged_in:
            code, text = NOT_LOGGED_IN
            data: dict[str, object] = {"result": False, "errorCode": code, "errorMsg": text}
        elif params.get("biz") != "exchange" or not kind:
            data = {"result": False, "errorCode": 500, "errorMsg": "Invalid subscription parameters"}
        else:
            data = {"result": True}
            if kind in (ASSETS, ORDERS):
                if event == "sub":
                    client.streams.add(kind)
                    self.subscriptions[kind] += 1
                else:
                    client.streams.discard(kind)
            self._registry_update()  # wait_connected(stream=...) counts subscribed sockets
        client.send(_dumps({"biz": "exchange", "data": data, "channel": channel, "type": kind}))

    def render(self, change: Change) -> list[tuple[str, str]]:
        frames = self._frames(change)
        self.rendered.update(channel for channel, _ in frames)
        return frames

    def _frames(self, change: Change) -> list[tuple[str, str]]:
        if isinstance(change, Balance):
            if getattr(self.truth, "depositing", False):
                return []  # deposits, withdrawals and transfers are not pushed
            return [(ASSETS, self._assets_frame(change))]
        if isinstance(change, Order):
            frame = self._order_frame(change)
            return [(ORDERS, frame)] if frame else []
        return []  # CoinW has no trade channel

    def _assets_frame(self, balance: Balance) -> str:
        self._ledger_id += self._drift.randint(1, 20)
        stamp = now_ms()
        item = {
            "available": num(balance.available),
            "currency": balance.asset,
            "time": stamp if self._drift.random() < 0.5 else str(stamp),
            "type": "change",
            "ledger_id": self._ledger_id,
            "account": "spot",
            "hold": num(balance.locked),
        }
        data: object = item if self._drift.random() < 0.5 else [item]
        return _dumps({"biz": "exchange", "type": ASSETS, "data": data})

    def _order_frame(self, order: Order) -> str | None:
        """RECEIVED for a new order, DONE when it ends; nothing for a partial fill."""
        if order.status is OrderStatus.OPEN and order.filled == 0:
            kind, reason = "RECEIVED", None
        elif order.status.is_open:
            return None
        else:
            kind, reason = "DONE", order.status.value.upper()
        fills = self.truth.fills_of(order.order_id)
        funds = sum((self.truth.quote_amount(f.trade_id) for f in fills), Decimal(0))
        data: dict[str, object] = {
            "side": "" if order.kind == "market" else order.side.value.upper(),
            "fee": num(sum((f.fee for f in fills), Decimal(0))),
            "dealFunds": num(funds),
            "type": kind,
            "client_id": "you*******",
            "remaining_size": num(order.amount - order.filled),
            "size": num(order.amount),
            "price": num(order.price),
            "product_id": pair_of(order.market),
            "time": order.updated_ms,  # the event's time: creation for RECEIVED, the end for DONE
            "order_id": int(order.order_id),
            "order_type": order.kind.upper(),
        }
        if order.filled:
            data["dealAvgPrice"] = num((funds / order.filled).quantize(Decimal("0.00000001")))
        if reason is not None:
            data["reason"] = reason
        return _dumps({"biz": "exchange", "type": ORDERS, "data": data})

    # ---- REST --------------------------------------------------------------------------------

    def rest_routes(self) -> list[web.RouteDef]:
        return [web.post(PRIVATE_PATH, self._private), web.get(PUBLIC_PATH, self._public)]

    async def authenticate_rest(self, request: web.Request) -> Refusal | None:
        if request.path != PRIVATE_PATH:
            return None
        query = request.query
        if not hmac.compare_digest(query.get("api_key", ""), DEMO_CREDENTIALS["api_key"]):
            return Refusal(HTTPStatus.OK, UNKNOWN_KEY)
        expected = expected_sign(query, DEMO_CREDENTIALS["api_secret"])
        if not hmac.compare_digest(query.get("sign", ""), expected):
            return Refusal(HTTPStatus.OK, BAD_SIGNATURE)
        return None

    def error_body(self, text: str) -> str:
        return _dumps(_envelope_error(_ERROR_CODES.get(text, "-1"), text))

    async def _private(self, request: web.Request) -> web.Response:
        command = request.query.get("command", "")
        handler = self._commands().get(command)
        if handler is None:
            return _error("-1", f"Unknown command: {command}")
        if self._over_limit(command):
            self.rate_limited += 1
            return _error("29001", RATE_LIMITED)
        return handler(request.query)

    async def _public(self, request: web.Request) -> web.Response:
        if request.query.get("command") != "returnSymbol":
            return _error("-1", f"Unknown command: {request.query.get('command', '')}")
        return _ok([self._symbol(name) for name in sorted(self._markets())])

    def _commands(self) -> dict[str, Callable[[Mapping[str, str]], web.Response]]:
        return {
            "returnCompleteBalances": self._balances,
            "returnOpenOrders": self._open_orders,
            "returnOrderTrades": self._order_details,
            "getUserTrades": self._user_trades,
        }

    def _over_limit(self, command: str) -> bool:
        """Count the call; true when it is one too many for the command's window."""
        now = asyncio.get_running_loop().time()
        self.calls.setdefault(command, []).append(now)
        limit = RATE_LIMITS.get(command)
        if limit is None:
            return False
        count, period = limit
        window = self._windows.setdefault(command, deque())
        while window and window[0] <= now - period:
            window.popleft()
        window.append(now)
        return len(window) > count

    def max_calls_in(self, command: str, period_s: float) -> int:
        """The most calls of `command` that arrived within any `period_s` window (for the tests)."""
        times = self.calls.get(command, [])
        best, first = 0, 0
        for last, stamp in enumerate(times):
            while stamp - times[first] >= period_s:
                first += 1
            best = max(best, last - first + 1)
        return best

    def _markets(self) -> set[str]:
        return set(DEMO_MARKETS) | {o.market for o in self.truth.orders.values()}

    def _balances(self, query: Mapping[str, str]) -> web.Response:
        data = {
            b.asset: {"available": num(b.available), "onOrders": num(b.locked)}
            for b in self.truth.balances.values()
        }
        return _ok(data)

    def _open_orders(self, query: Mapping[str, str]) -> web.Response:
        pair = query.get("currencyPair", "")
        if not pair:
            return _error("-103", "currencyPair is required")
        if pair not in {pair_of(m) for m in self._markets()}:
            return _error("-103", f"Invalid currencyPair: {pair}")
        orders = [o for o in self.truth.open_orders.values() if pair_of(o.market) == pair]
        return _ok([self._rest_order(o) for o in sorted(orders, key=lambda o: -o.created_ms)])

    def _rest_order(self, order: Order) -> dict[str, object]:
        fills = self.truth.fills_of(order.order_id)
        return {
            "orderNumber": int(order.order_id),
            "date": order.created_ms,
            "startingAmount": num(order.price * order.amount),
            "total": num(order.amount),
            "type": order.side.value,
            "prize": num(order.price),
            "success_count": num(order.filled),
            "success_amount": num(sum((self.truth.quote_amount(f.trade_id) for f in fills), Decimal(0))),
            "status": _STATUS[order.status],
            "fee": num(sum((f.fee for f in fills), Decimal(0))),
        }

    def _order_details(self, query: Mapping[str, str]) -> web.Response:
        order = self.truth.orders.get(query.get("orderNumber", ""))
        if order is None:
            return _error("-103", "Order does not exist")
        fills = self.truth.fills_of(order.order_id)
        remaining = order.amount - order.filled if order.status.is_open else Decimal(0)
        return _ok(
            {
                "tradeID": int(order.order_id),
                "currencyPair": pair_of(order.market),
                "type": order.side.value,
                "amount": num(order.price * remaining),
                "success_amount": num(sum((self.truth.quote_amount(f.trade_id) for f in fills), Decimal(0))),
                "total": num(remaining),
                "success_total": num(order.filled),
                "fee": num(sum((f.fee for f in fills), Decimal(0))),
                "date": china_time(order.updated_ms),
                "status": _STATUS[order.status],
            }
        )

    def _user_trades(self, query: Mapping[str, str]) -> web.Response:
        """Own trades, newest first, optionally of one `symbol`, within `startAt`..`endAt`, at most
        `limit` (100) of them. The items name no pair."""
        try:
            start = int(query.get("startAt", 0))
            end = int(query.get("endAt", now_ms()))
            limit = min(max(int(query.get("limit", 100)), 1), 100)
        except ValueError:
            return _error("-103", "Invalid parameters")
        symbol = query.get("symbol")
        fills = [
            f
            for f in reversed(self.truth.fills)
            if start <= f.time_ms <= end and (symbol is None or pair_of(f.market) == symbol)
        ]
        return _ok({"list": [self._rest_trade(f) for f in fills[:limit]]})

    def _rest_trade(self, fill: Fill) -> dict[str, object]:
        order = self.truth.orders.get(fill.order_id)
        return {
            "orderType": "MARKET" if order is not None and order.kind == "market" else "LIMIT",
            "orderId": int(fill.order_id),
            "fee": wide(fill.fee),
            "price": wide(fill.price),
            "size": wide(fill.amount),
            "side": "BUY" if fill.side is Side.BUY else "SELL",
            "time": fill.time_ms,
            "tradeId": int(fill.trade_id),
        }

    @staticmethod
    def _symbol(name: str) -> dict[str, object]:
        base, quote = split_market(name)
        return {
            "currencyPair": f"{base}_{quote}",
            "currencyBase": base,
            "currencyQuote": quote,
            "state": 1,
            "pricePrecision": 8,
            "countPrecision": 8,
            "minBuyCount": "0.00000001",
            "maxBuyCount": "100000000",
            "minBuyAmount": "1",
            "maxBuyAmount": "10000000",
            "minBuyPrice": "0.00000001",
            "maxBuyPrice": "10000000",
        }


def _dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _error_frame(code: int, text: str) -> str:
    return _dumps({"errorCode": code, "errorMsg": text})


def _envelope_error(code: str, text: str) -> dict[str, object]:
    return {"code": code, "data": None, "msg": text, "success": False, "failed": True}


def _ok(data: object) -> web.Response:
    body = {"code": "200", "data": data, "msg": "SUCCESS", "success": True, "failed": False}
    return web.Response(text=_dumps(body), content_type="application/json")


def _error(code: str, text: str) -> web.Response:
    return web.Response(text=_dumps(_envelope_error(code, text)), content_type="application/json")
