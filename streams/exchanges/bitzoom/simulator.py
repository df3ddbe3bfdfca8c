"""A local Bitzoom: the private websocket channels and the REST calls the monitor uses, on loopback.

Follows /work/shared/protocols/bitzoom.md: one socket at `/ws`; a `logon` frame with a JWT (this
simulator issues and verifies HS256 tokens of its own; an expired, revoked, forged or malformed one
gets `{"channel":"logon","event":"error","data":{}}`); `sub`/`unsub` with a random subId per
subscription, pushes with `event` = subId; several messages per websocket message, one per line
(every change that moves an order and two balances arrives as one multi-line message); REST with
`Authorization: Bearer`, answering in both documented envelopes (`-1002 Unauthorized` on a bad
token), capitalised query names.

Bitzoom does not publish its payload fields, so the field names here are plausible guesses that
deliberately differ between the stream and REST (list vs keyed object, `side` as an integer vs a
word, `walletBalance` vs `balance`): the client's tolerant mapper has to cope with each reading.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import random
import uuid
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus
from typing import Any, ClassVar

from aiohttp import web

from streams.model import Balance, Fill, Order, OrderStatus, Side, now_ms
from streams.simulator.base import ExchangeSimulator, Refusal, SimClient
from streams.simulator.truth import Change, SimulatedAccount, split_market

BALANCE = "/api/v1/balance"
OPEN_ORDERS = "/api/v1/openorders"
HISTORY_TRADE = "/api/v1/historytrade"
PRIVATE_CHANNELS = frozenset(
    {
        BALANCE,
        OPEN_ORDERS,
        "/api/v1/positionrisk",
        "/api/v1/adlquantile",
        "/api/v1/margintype",
        "/api/v1/leverage",
    }
)
PUBLIC_CHANNELS = frozenset(
    {
        "/api/v1/ticker",
        "/api/v1/ticker/price",
        "/api/v1/premiumindex",
        "/api/v1/ticker/hr24",
        "/api/v1/depth",
        "/api/v1/klines",
        "/api/v1/trades",
        "/api/v1/exchangeinfo",
    }
)
DEMO_USER = "10001"
TOKEN_LIFETIME_S = 30 * 86_400
DURATION = 9223372036854776000  # the `duration` of the docs' example envelope, beyond 2**53
DEFAULT_BAD_LINE = '{"channel":"/api/v1/balance","event":'  # a truncated line
TRADE_QUERY = ("Page", "Limit", "StartTime", "EndTime", "Symbol", "Side", "Timestamp", "Signature")
_ERROR_CODES = {"Unauthorized": -1002, "Service Unavailable": -1001, "Not Found": -1000}
_STATUS = {
    OrderStatus.OPEN: "NEW",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELLED: "CANCELED",
    OrderStatus.REJECTED: "REJECTED",
}


# ---------------------------------------------------------------------- tokens


class TokenRefused(Exception):
    """Why a JWT is not accepted (for the simulator's own logs and tests; the wire says nothing)."""


def issue_token(secret: bytes, claims: Mapping[str, Any]) -> str:
    """An HS256 JWT (RFC 7519) over `claims`."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(dict(claims), separators=(",", ":")).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def verify_token(token: object, secret: bytes, now_s: int, revoked: Iterable[str] = ()) -> dict[str, Any]:
    """The claims of a valid token; raises `TokenRefused`. Pure: clock and revocations are arguments."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise TokenRefused("not a JWT")
    try:
        header, claims = (json.loads(_unb64(p)) for p in parts[:2])
        signature = _unb64(parts[2])
    except (ValueError, binascii.Error):
        raise TokenRefused("not a JWT") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        raise TokenRefused("not an HS256 JWT")
    expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise TokenRefused("bad signature")
    exp = claims.get("exp")
    if not isinstance(exp, int) or isinstance(exp, bool) or exp <= now_s:
        raise TokenRefused("expired")
    if claims.get("jti") in set(revoked):
        raise TokenRefused("revoked")
    return claims


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ---------------------------------------------------------------------- wire values


def num(amount: Decimal) -> str:
    """A decimal string without exponent or trailing zeros."""
    return format(amount.normalize(), "f")


def symbol_of(market: str) -> str:
    """`"BTC/USDT"` -> `"BTCUSDT"`."""
    base, quote = split_market(market)
    return base + quote


def line(channel: str, event: str, data: object) -> str:
    return json.dumps({"channel": channel, "event": event, "data": data}, separators=(",", ":"))


@dataclass(slots=True)
class _State:
    """One connection as the server sees it: logged on or not, and its subscriptions."""

    logged_on: bool = False
    subs: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # subId -> (channel, params)


class BitzoomSimulator(ExchangeSimulator):
    """Bitzoom's private channels at `ws_url` (`.../ws`) and REST at `rest_url` (the gateway root)."""

    ws_prefix: ClassVar[str] = "/ws"
    rest_prefix: ClassVar[str] = ""
    ping_interval_s: ClassVar[float | None] = None  # no keepalive is documented: the client pings
    ping_timeout_s: ClassVar[float | None] = None

    def __init__(
        self, *, seed: int = 1, activity_interval_s: float | None = None, param_case: str = "capital"
    ) -> None:
        super().__init__(seed=seed, activity_interval_s=activity_interval_s)
        self.param_case = param_case  # "capital" as the OpenAPI file writes them, or "lower"
        self.logons = 0
        self.logon_failures = 0
        self.subscriptions = 0  # sub acks sent
        self._ids = random.Random(seed + 1)  # subIds, token ids, trace ids
        self._secret = random.Random(seed + 2).randbytes(32)
        self._issued: list[str] = []
        self._revoked: set[str] = set()
        self._states: weakref.WeakKeyDictionary[SimClient, _State] = weakref.WeakKeyDictionary()
        self._outgoing: dict[SimClient, list[str]] = {}
        self._demo_token = self.issue_token()

    def make_truth(self, seed: int) -> SimulatedAccount:
        """Order and trade ids beyond 2**53, sent as JSON numbers: a client that reads them through a
        float loses digits."""
        ids = random.Random(seed + 3)
        counters = {"order": 2**60 + ids.randrange(10**9), "trade": 2**61 + ids.randrange(10**9)}

        def next_id(kind: str) -> str:
            counters[kind] += ids.randint(1, 97)
            return str(counters[kind])

        truth = SimulatedAccount(seed, order_id=lambda: next_id("order"), trade_id=lambda: next_id("trade"))
        truth.populate_demo()
        return truth

    @property
    def credentials(self) -> dict[str, str]:
        return {"jwt": self._demo_token}

    # ---- tokens ------------------------------------------------------------------------------

    def issue_token(self, lifetime_s: int = TOKEN_LIFETIME_S, *, user: str = DEMO_USER) -> str:
        """A token this simulator accepts until it expires (or `expire_tokens`): what
        `/api/servermanage/testtoken?userid=...` hands out on the real test servers."""
        now = now_ms() // 1000
        jti = f"{self._ids.getrandbits(64):016x}"
        self._issued.append(jti)
        claims = {"sub": user, "iss": "bitzoom-simulator", "iat": now, "exp": now + lifetime_s, "jti": jti}
        return issue_token(self._secret, claims)

    def check_token(self, token: object) -> dict[str, Any]:
        """The claims of a token this simulator accepts now; raises `TokenRefused`."""
        return verify_token(token, self._secret, now_ms() // 1000, self._revoked)

    def expire_tokens(self) -> None:
        """Every token issued so far stops working, as if it had expired: REST answers -1002, a new
        logon fails, and each logged-on socket gets the logon error and loses its subscriptions.
        `issue_token()` afterwards gives one that works."""
        self._revoked.update(self._issued)
        for client in self.clients():
            state = self._states.get(client)
            if state is not None and state.logged_on:
                state.logged_on = False
                state.subs.clear()
                client.streams.clear()
                self._queue(client, [line("logon", "error", {})])

    async def expire_session(self) -> None:
        """The JWT runs out. Bitzoom has no refresh: the client shows auth_error until the user pastes
        a new token (`issue_token()`); chaos tests play that user."""
        self.expire_tokens()

    # ---- websocket ---------------------------------------------------------------------------

    def route(self, path: str) -> set[str] | None:
        return set() if path == self.ws_prefix else None  # streams are added by subscribing

    def on_message(self, client: SimClient, message: str | bytes) -> None:
        text = message if isinstance(message, str) else message.decode("utf-8", "replace")
        state = self._states.setdefault(client, _State())
        try:
            msg = json.loads(text)
            channel, event, data = msg["channel"], msg["event"], msg.get("data")
            if not isinstance(channel, str) or not isinstance(event, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            self._queue(client, [line("", "error", {})])
            return
        if channel == "logon":
            self._logon(client, state, event, data)
        elif channel not in PRIVATE_CHANNELS | PUBLIC_CHANNELS or not isinstance(data, dict):
            self._queue(client, [line(channel, "error", {})])
        elif event == "sub":
            self._subscribe(client, state, channel, data)
        elif event == "unsub":
            self._unsubscribe(client, state, channel, data)
        else:
            self._queue(client, [line(channel, "error", {})])

    def _logon(self, client: SimClient, state: _State, event: str, data: object) -> None:
        token = data.get("token") if isinstance(data, dict) else None
        try:
            if event != "sub":
                raise TokenRefused("not a logon request")
            self.check_token(token)
        except TokenRefused:
            self.logon_failures += 1
            state.logged_on = False
            self._queue(client, [line("logon", "error", {})])  # the docs: no reason given
            return
        self.logons += 1
        state.logged_on = True
        self._queue(client, [line("logon", "success", {})])

    def _subscribe(self, client: SimClient, state: _State, channel: str, params: dict[str, Any]) -> None:
        if channel in PRIVATE_CHANNELS and not state.logged_on:
            self._queue(client, [line(channel, "error", {})])
            return
        sub_id = f"{self._ids.getrandbits(48):012x}"
        state.subs[sub_id] = (channel, params)
        client.streams.add(channel)
        self.subscriptions += 1
        # The ack and the current state in one websocket message, on two lines.
        self._queue(client, [line(channel, "sub", {sub_id: {}}), *self._current(sub_id, channel, params)])

    def _unsubscribe(self, client: SimClient, state: _State, channel: str, params: dict[str, Any]) -> None:
        found = [sid for sid, (ch, p) in state.subs.items() if ch == channel and p == params]
        if not found:
            self._queue(client, [line(channel, "error", {})])
            return
        del state.subs[found[0]]
        if not any(ch == channel for ch, _ in state.subs.values()):
            client.streams.discard(channel)
        self._queue(client, [line(channel, "unsub", found[0])])

    def _current(self, sub_id: str, channel: str, params: Mapping[str, Any]) -> list[str]:
        """What a new subscription gets right after its ack: every balance, or every open order."""
        if channel == BALANCE:
            return [line(channel, sub_id, [self._ws_balance(b) for b in self.truth.balances.values()])]
        if channel == OPEN_ORDERS:
            orders = [o for o in self.truth.open_orders.values() if _wanted(o, params)]
            return [line(channel, sub_id, [self._ws_order(o) for o in orders])]
        return []

    def render(self, change: Change) -> list[tuple[str, str]]:
        """(channel, data as JSON) of one truth change; fills have no channel on Bitzoom."""
        if isinstance(change, Balance):
            return [(BALANCE, json.dumps([self._ws_balance(change)]))]
        if isinstance(change, Order):
            return [(OPEN_ORDERS, json.dumps(self._ws_order(change)))]
        return []

    def _broadcast(self, change: Change) -> None:
        """Truth listener: one line per subscription that covers the change, queued per client, so
        the lines of one truth operation leave together as one multi-line message."""
        rendered = self.render(change)
        if not rendered or not self._clients:
            return
        for client in self.clients():
            state = self._states.get(client)
            if state is None or not state.logged_on:
                continue
            for sub_id, (channel, params) in state.subs.items():
                for target, data in rendered:
                    if target == channel and (not isinstance(change, Order) or _wanted(change, params)):
                        self._queue(client, [f'{{"channel":"{channel}","event":"{sub_id}","data":{data}}}'])

    def _queue(self, client: SimClient, lines: list[str]) -> None:
        """Lines leave at the end of this turn of the loop, joined by newlines into one message."""
        if not self._outgoing:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outgoing.setdefault(client, []).extend(lines)

    def _flush(self) -> None:
        outgoing, self._outgoing = self._outgoing, {}
        for client, lines in outgoing.items():
            client.send("\n".join(lines))

    def _ws_balance(self, balance: Balance) -> dict[str, object]:
        return {
            "coin": balance.asset,
            "walletBalance": num(balance.total),
            "availableBalance": num(balance.available),
            "marginBalance": num(balance.total),
            "unrealizedProfit": "0",
            "updateTime": now_ms(),
        }

    def _ws_order(self, order: Order) -> dict[str, object]:
        return {
            "id": int(order.order_id),
            "symbol": symbol_of(order.market),
            "side": 1 if order.side is Side.BUY else 2,
            "positionSide": 3,
            "type": order.kind.upper(),
            "price": num(order.price),
            "quantity": num(order.amount),
            "executedQty": num(order.filled),
            "status": _STATUS[order.status],
            "timeInForce": "GTC",
            "reduceOnly": False,
            "createdTime": order.created_ms,
            "updatedTime": order.updated_ms,
        }

    # ---- REST --------------------------------------------------------------------------------

    def rest_routes(self) -> list[web.RouteDef]:
        return [
            web.get(BALANCE, self._rest_balance),
            web.get(OPEN_ORDERS, self._rest_open_orders),
            web.get(HISTORY_TRADE, self._rest_trades),
            web.get("/api/gateway/time", self._rest_time),
            web.get("/api/gateway/ping", self._rest_time),
        ]

    async def authenticate_rest(self, request: web.Request) -> Refusal | None:
        if request.path.startswith("/api/gateway/"):
            return None  # public
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            if scheme.lower() != "bearer":
                raise TokenRefused("no bearer token")
            self.check_token(token.strip())
        except TokenRefused:
            return Refusal(HTTPStatus.UNAUTHORIZED, "Unauthorized")
        return None

    def error_body(self, text: str) -> str:
        return json.dumps(self._openapi(None, code=_ERROR_CODES.get(text, -1000), message=text))

    def _openapi(self, data: object, *, code: int = 200, message: str = "") -> dict[str, object]:
        """The OpenAPI file's envelope (`success`, `errorCode` 200)."""
        return {
            "traceid": str(uuid.UUID(int=self._ids.getrandbits(128), version=4)),
            "errorCode": code,
            "errorMessage": message,
            "success": code == 200,
            "duration": DURATION,
            "data": data,
            "host": "bitzoom-simulator",
            "showType": 0,
        }

    @staticmethod
    def _guides(data: object) -> dict[str, object]:
        """The guides' envelope (`code` 0)."""
        return {"code": 0, "msg": "success", "data": data}

    async def _rest_time(self, request: web.Request) -> web.Response:
        return web.json_response(self._guides({"serverTime": now_ms()}))

    async def _rest_balance(self, request: web.Request) -> web.Response:
        """An object keyed by asset, in the OpenAPI envelope."""
        data = {
            b.asset: {
                "asset": b.asset,
                "balance": num(b.total),
                "free": num(b.available),
                "locked": num(b.locked),
                "crossWalletBalance": num(b.total),
            }
            for b in self.truth.balances.values()
        }
        return web.json_response(self._openapi(data))

    async def _rest_open_orders(self, request: web.Request) -> web.Response:
        """A list, in the guides' envelope; `Symbol` narrows it."""
        refused = self._check_query(request, ("Symbol", "Timestamp", "Signature"))
        if refused is not None:
            return refused
        symbol = self._param(request, "Symbol")
        orders = [
            o for o in self.truth.open_orders.values() if not symbol or symbol_of(o.market) == symbol.upper()
        ]
        return web.json_response(self._guides([self._rest_order(o) for o in orders]))

    async def _rest_trades(self, request: web.Request) -> web.Response:
        """The account's fills, newest first, one page: `{"total": n, "list": [...]}`."""
        refused = self._check_query(request, TRADE_QUERY)
        if refused is not None:
            return refused
        try:
            page = max(int(self._param(request, "Page") or 1), 1)
            limit = min(max(int(self._param(request, "Limit") or 100), 1), 1000)
            start = int(self._param(request, "StartTime") or 0)
            end = int(self._param(request, "EndTime") or now_ms())
        except ValueError:
            return self._bad_request(-1100, "Illegal characters found in a parameter.")
        symbol = (self._param(request, "Symbol") or "").upper()
        side = (self._param(request, "Side") or "").upper()
        fills = [
            f
            for f in reversed(self.truth.fills)
            if start <= f.time_ms <= end
            and (not symbol or symbol_of(f.market) == symbol)
            and (not side or f.side.value.upper() == side)
        ]
        rows = [self._rest_trade(f) for f in fills[(page - 1) * limit : page * limit]]
        return web.json_response(self._openapi({"total": len(fills), "list": rows}))

    def _check_query(self, request: web.Request, names: Iterable[str]) -> web.Response | None:
        """Query names in the simulator's case (`param_case`); any other is a -1104 parameter error."""
        accepted = {n if self.param_case == "capital" else n.lower() for n in names}
        unread = [k for k in request.query if k not in accepted]
        if unread:
            return self._bad_request(
                -1104, f"Not all sent parameters were read; unknown: {', '.join(unread)}"
            )
        return None

    def _param(self, request: web.Request, name: str) -> str | None:
        return request.query.get(name if self.param_case == "capital" else name.lower())

    def _bad_request(self, code: int, message: str) -> web.Response:
        return web.json_response({"code": code, "msg": message, "data": None}, status=HTTPStatus.BAD_REQUEST)

    @staticmethod
    def _rest_order(order: Order) -> dict[str, object]:
        return {
            "orderId": int(order.order_id),
            "symbol": symbol_of(order.market),
            "side": order.side.value.upper(),
            "positionSide": "BOTH",
            "type": order.kind.upper(),
            "price": num(order.price),
            "origQty": num(order.amount),
            "executedQty": num(order.filled),
            "status": _STATUS[order.status],
            "timeInForce": "GTC",
            "time": order.created_ms,
            "updateTime": order.updated_ms,
        }

    def _rest_trade(self, fill: Fill) -> dict[str, object]:
        return {
            "id": int(fill.trade_id),
            "orderId": int(fill.order_id),
            "symbol": symbol_of(fill.market),
            "side": fill.side.value.upper(),
            "price": num(fill.price),
            "qty": num(fill.amount),
            "quoteQty": num(self.truth.quote_amount(fill.trade_id)),
            "commission": num(fill.fee),
            "commissionAsset": fill.fee_asset,
            "realizedPnl": "0",
            "maker": True,
            "time": fill.time_ms,
        }

    # ---- faults ------------------------------------------------------------------------------

    async def send_mixed_frame(self, bad_line: str = DEFAULT_BAD_LINE) -> None:
        """One websocket message of three lines to every subscribed socket: all balances, a bad line,
        all open orders. A client that drops the whole message on the bad line misses both."""
        clients = []
        for client in self.clients():
            state = self._states.get(client)
            if state is None or not state.logged_on:
                continue
            lines = []
            for channel in (BALANCE, OPEN_ORDERS):
                sub_id = next((sid for sid, (ch, _) in state.subs.items() if ch == channel), None)
                if sub_id is not None:
                    lines.extend(self._current(sub_id, channel, state.subs[sub_id][1]))
            client.send("\n".join([lines[0], bad_line, *lines[1:]]) if lines else bad_line)
            clients.append(client)
        await asyncio.gather(*(client.flushed() for client in clients))

    async def flushed(self) -> None:
        """Wait until every queued line has been written to its socket."""
        await asyncio.sleep(0)  # let a pending `_flush` run
        await asyncio.gather(*(client.flushed() for client in self.clients()))


def _wanted(order: Order, params: Mapping[str, Any]) -> bool:
    symbol = params.get("symbol")
    return not symbol or symbol_of(order.market) == str(symbol).upper()
