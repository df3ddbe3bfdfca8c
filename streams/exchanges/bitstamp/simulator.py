"""A local Bitstamp: the private websocket and the HTTP API v2 calls the monitor uses, on loopback.

Follows /work/shared/protocols/bitstamp.md:

- REST: X-Auth v2 checked as Bitstamp does (`check_request`: missing headers, key format, unknown key,
  version, timestamp window of 150 s, Content-Type with and without a body, nonce reuse within 150 s,
  signature in either hex case), refusals as HTTP 403 with `{"status": "error", "reason", "code"}`,
  answers signed with X-Server-Auth-Signature. Endpoints: websockets_token (60 s tokens),
  account_balances, open_orders, user_transactions (trades as `<base>_<quote>` rows), and the public
  trading-pairs-info and markets.
- Websocket at `ws_url` (no path): nothing is sent on connect; `bts:subscribe` to any channel is
  acknowledged, even one that does not exist, as the real server does; a private channel needs a
  valid token for this account's user id, else `bts:error` 4009. `bts:heartbeat` is answered.
  Order changes go to `private-my_orders_<market>-<user id>` (order_created / order_changed /
  order_deleted), fills to `private-my_trades_<market>-<user id>` (trade). Balances have no channel.
- Faults: the base class's (drop, refuse, malformed frame, deaf, delay), plus `request_reconnect`,
  `expire_tokens`, `after_ack` (a change between two acks) and `blast` (frames straight onto the
  sockets, for throughput runs).

Error texts for API0001-0006, 0008, 0011 and 0019 are Bitstamp's (as quoted by ccxt and in bug
reports); the wording of the others is not published and is ours. Order ids exceed 2**53 on purpose.
Fees: Bitstamp charges them in the quote currency; the shared truth charges a buy's fee in the base
asset, so a buy's fee is shown converted at the fill price.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import random
import string
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from http import HTTPStatus
from typing import Any, ClassVar
from urllib.parse import parse_qs

from aiohttp import web

from streams.exchanges.bitstamp import signer
from streams.exchanges.bitstamp.parser import ORDERS_CHANNEL, TRADES_CHANNEL, channel, market_id
from streams.model import Balance, Fill, Order, Side, now_ms
from streams.simulator.base import ExchangeSimulator, Refusal, SimClient
from streams.simulator.truth import DEMO_MARKETS, Change, SimulatedAccount, q, split_market

API = "/api/v2"
WINDOW_MS = 150_000  # X-Auth-Timestamp tolerance and X-Auth-Nonce memory
TOKEN_VALID_S = 60
UNAUTHORIZED = {"code": 4009, "message": "Connection is unauthorized."}
BAD_MESSAGE = {"code": 4000, "message": "Bad message format."}  # wording ours: not published
# The demo markets (what the shared truth trades) and a few of Bitstamp's own.
MARKETS = tuple(sorted({*DEMO_MARKETS, "BTC/USD", "ETH/USD", "BTC/EUR", "ETH/BTC", "USDT/USD", "XRP/USD"}))
ZERO_CURRENCIES = ("usd", "eur", "gbp", "xrp")  # listed with zero balances, as Bitstamp lists everything

DEMO_CREDENTIALS = {
    "api_key": "demo-bitstamp-api-key",
    "api_secret": "demo-bitstamp-api-secret",
}

REASONS: dict[str, str] = {
    "API0001": "API key not found",
    "API0002": "IP address not allowed",
    "API0003": "No permission found",
    "API0004": "Invalid nonce",
    "API0005": "Invalid signature",
    "API0006": "Your account is frozen",
    "API0008": "Authentication failed",
    "API0010": "Invalid version",
    "API0011": "Wrong API key format",
    "API0012": "Missing X-Auth header",
    "API0013": "Missing X-Auth-Signature header",
    "API0014": "Missing X-Auth-Nonce header",
    "API0015": "Missing X-Auth-Timestamp header",
    "API0016": "Missing X-Auth-Version header",
    "API0017": "X-Auth-Timestamp header is out of the allowed window",
    "API0018": "X-Auth-Timestamp header is not a valid timestamp",
    "API0019": "Content-Type header is not accepted",
    "API0020": "Content-Type header should not be present",
    "API0021": "URL is too long",
}
_CODES = {text: code for code, text in REASONS.items()}
_REQUIRED = (
    ("X-Auth", "API0012"),
    ("X-Auth-Signature", "API0013"),
    ("X-Auth-Nonce", "API0014"),
    ("X-Auth-Timestamp", "API0015"),
    ("X-Auth-Version", "API0016"),
)
_HEX = frozenset("0123456789abcdef")


class AuthRefused(Exception):
    """A request's X-Auth headers are not acceptable; `code` is Bitstamp's APIxxxx code."""

    def __init__(self, code: str) -> None:
        super().__init__(f"{REASONS[code]} ({code})")
        self.code = code
        self.refusal = Refusal(HTTPStatus.FORBIDDEN, REASONS[code])


def check_request(
    *,
    method: str,
    host: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    api_key: str,
    api_secret: str,
    now: int,
    seen_nonces: Mapping[str, int],
) -> str:
    """The nonce of a correctly signed request; raises `AuthRefused` otherwise. Pure (clock and the
    nonces seen are arguments) so tests can pin every rule. `query` is the raw query string."""
    if len(path) + len(query) > 2000:
        raise AuthRefused("API0021")
    for header, code in _REQUIRED:
        if not headers.get(header):
            raise AuthRefused(code)
    word, _, key = headers["X-Auth"].partition(" ")
    if word != "BITSTAMP" or not key or " " in key:
        raise AuthRefused("API0011")
    if not hmac.compare_digest(key.encode(), api_key.encode()):
        raise AuthRefused("API0001")
    if headers["X-Auth-Version"] != signer.VERSION:
        raise AuthRefused("API0010")
    timestamp = headers["X-Auth-Timestamp"]
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise AuthRefused("API0018")
    if abs(int(timestamp) - now) > WINDOW_MS:
        raise AuthRefused("API0017")
    content_type = headers.get("Content-Type")
    if not body and content_type is not None:
        raise AuthRefused("API0020")
    if body and content_type != signer.FORM:
        raise AuthRefused("API0019")
    nonce = headers["X-Auth-Nonce"]
    if len(nonce) != 36 or now - seen_nonces.get(nonce, now - WINDOW_MS - 1) <= WINDOW_MS:
        raise AuthRefused("API0004")
    message = (
        f"BITSTAMP {key}{method}{host}{path}{'?' + query if query else ''}{content_type or ''}"
        f"{nonce}{timestamp}{signer.VERSION}"
    ).encode() + body
    expected = hmac.new(api_secret.encode(), message, hashlib.sha256).hexdigest()
    claimed = headers["X-Auth-Signature"].lower()
    if not (set(claimed) <= _HEX and hmac.compare_digest(claimed, expected)):
        raise AuthRefused("API0005")
    return nonce


def amount8(value: Decimal) -> str:
    """Amounts as Bitstamp writes them: 8 decimal places (`"0.50000000"`)."""
    return f"{value:.8f}"


def num(value: Decimal) -> str:
    """Prices without trailing zeros (`"30000"`, `"2468.04"`)."""
    return format(value.normalize(), "f")


def bitstamp_time(ms: int, *, micro: bool = False) -> str:
    """`"2022-01-31 14:43:15"`, or with microseconds for transactions."""
    stamp = datetime.fromtimestamp(ms / 1000, UTC)
    return stamp.strftime("%Y-%m-%d %H:%M:%S.%f" if micro else "%Y-%m-%d %H:%M:%S")


class BitstampSimulator(ExchangeSimulator):
    """Bitstamp's websocket at `ws_url` and HTTP API v2 under `rest_url` + `/api/v2/`."""

    ws_prefix: ClassVar[str] = ""
    rest_prefix: ClassVar[str] = ""
    ping_interval_s: ClassVar[float | None] = None  # clients keep the link up with bts:heartbeat
    ping_timeout_s: ClassVar[float | None] = None

    def __init__(self, *, seed: int = 1, activity_interval_s: float | None = None) -> None:
        ids = random.Random(seed + 3)
        self._next_order = 9_100_000_000_000_000 + ids.randrange(10**12)  # beyond 2**53
        self._next_trade = 600_000_000 + ids.randrange(10**6)
        self._id_rng = ids
        super().__init__(seed=seed, activity_interval_s=activity_interval_s)
        self.user_id = str(1_000_000 + random.Random(seed).randrange(9_000_000))
        self.token_valid_s = TOKEN_VALID_S
        self.signed_host: str | None = None  # None: the host name the request was sent to
        self.tokens_issued = 0
        self.subscribes: Counter[str] = Counter()  # channel -> accepted subscribes
        self.refused_subscribes = 0
        self.heartbeats = 0
        self._tokens: dict[str, int] = {}  # token -> expiry (ms)
        self._nonces: dict[str, int] = {}  # nonce -> when it was used (ms)
        self._announced: set[str] = set()  # open orders whose order_created went out
        self._token_rng = random.Random(seed + 4)
        self._event_rng = random.Random(seed + 5)
        self._started_ms = now_ms()
        self._closers: set[asyncio.Task[None]] = set()
        self._after_ack: dict[str, Callable[[], object]] = {}

    def make_truth(self, seed: int) -> SimulatedAccount:
        truth = SimulatedAccount(seed, order_id=self._new_order_id, trade_id=self._new_trade_id)
        truth.populate_demo()
        return truth

    def _new_order_id(self) -> str:
        self._next_order += self._id_rng.randint(1, 997)
        return str(self._next_order)

    def _new_trade_id(self) -> str:
        self._next_trade += self._id_rng.randint(1, 9)
        return str(self._next_trade)

    @property
    def credentials(self) -> dict[str, str]:
        return dict(DEMO_CREDENTIALS)

    def channel(self, kind: str, market: str) -> str:
        """`channel(ORDERS_CHANNEL, "BTC/USD")` -> `"private-my_orders_btcusd-<user id>"`."""
        return channel(kind, market_id(market), self.user_id)

    # ---- websocket ---------------------------------------------------------------------------

    def route(self, path: str) -> set[str] | None:
        return set() if path in ("", "/") else None  # streams: the channels subscribed later

    def on_message(self, client: SimClient, text: str | bytes) -> None:
        try:
            msg = json.loads(text)
            event, data = msg["event"], msg.get("data") or {}
        except (ValueError, TypeError, KeyError):
            client.send(self._control("bts:error", BAD_MESSAGE))
            return
        if event == "bts:heartbeat":
            self.heartbeats += 1
            client.send(self._control("bts:heartbeat", {"status": "success"}))
        elif event == "bts:subscribe" and isinstance(data, dict) and isinstance(data.get("channel"), str):
            self._subscribe(client, data["channel"], data.get("auth"))
        elif event == "bts:unsubscribe" and isinstance(data, dict) and isinstance(data.get("channel"), str):
            client.streams.discard(data["channel"])
            client.send(self._control("bts:unsubscription_succeeded", {}, data["channel"]))
        else:
            client.send(self._control("bts:error", BAD_MESSAGE))

    def _subscribe(self, client: SimClient, name: str, token: object) -> None:
        """Any channel is acknowledged, even one that does not exist; private ones need a token."""
        if name.startswith("private-"):
            expiry = self._tokens.get(token) if isinstance(token, str) else None
            if expiry is None or expiry <= now_ms() or not name.endswith(f"-{self.user_id}"):
                self.refused_subscribes += 1
                client.send(self._control("bts:error", UNAUTHORIZED))
                return
        client.streams.add(name)
        self.subscribes[name] += 1
        client.send(self._control("bts:subscription_succeeded", {}, name))
        self._registry_update()  # wakes wait_subscribed
        action = self._after_ack.pop(name, None)
        if action is not None:
            action()

    async def wait_subscribed(self, market: str, *, count: int = 1, timeout: float = 5.0) -> None:
        """Wait until `count` sockets receive both private channels of `market`."""
        wanted = {self.channel(ORDERS_CHANNEL, market), self.channel(TRADES_CHANNEL, market)}
        await self._wait(lambda: sum(wanted <= c.streams for c in self._clients) >= count, timeout)

    @staticmethod
    def _control(event: str, data: object, name: str = "") -> str:
        return json.dumps({"event": event, "channel": name, "data": data})

    def render(self, change: Change) -> list[tuple[str, str]]:
        if isinstance(change, Balance):
            return []  # no balance channel on Bitstamp
        if isinstance(change, Order):
            name = self.channel(ORDERS_CHANNEL, change.market)
            return [(name, self.order_frame(change))]
        return [(self.channel(TRADES_CHANNEL, change.market), self.trade_frame(change))]

    def order_frame(self, order: Order, event: str | None = None) -> str:
        """The my_orders frame for an order's current state (event chosen from it if not given)."""
        if event is None:
            if not order.status.is_open:
                event = "order_deleted"
                self._announced.discard(order.order_id)
            elif order.order_id in self._announced or order.filled:
                event = "order_changed"
            else:
                event = "order_created"
                self._announced.add(order.order_id)
        remaining = order.amount - order.filled
        data = {
            "id": int(order.order_id),
            "id_str": order.order_id,
            "client_order_id": "",
            "order_type": 0 if order.side is Side.BUY else 1,
            "order_subtype": 2 if order.kind == "market" else 0,
            "datetime": str(order.created_ms // 1000),
            "microtimestamp": str(order.updated_ms * 1000),
            "amount": float(remaining),
            "amount_str": amount8(remaining),
            "amount_traded": amount8(order.filled),
            "amount_at_create": amount8(order.amount),
            "price": float(order.price),
            "price_str": num(order.price),
            "is_liquidation": False,
            "trade_account_id": 0,
        }
        return json.dumps(
            {
                "data": data,
                "channel": self.channel(ORDERS_CHANNEL, order.market),
                "event": event,
                "trade_account_id": 0,
                "event_id": self._event_id(),
                "pre_event_id": self._event_id(),
                "order_source": "orderbook",
            }
        )

    def trade_frame(self, fill: Fill) -> str:
        data = {
            "id": int(fill.trade_id),
            "id_str": fill.trade_id,
            "amount": amount8(fill.amount),
            "price": num(fill.price),
            "microtimestamp": str(fill.time_ms * 1000),
            "fee": num(self.quote_fee(fill)),
            "order_id": int(fill.order_id),
            "client_order_id": "",
            "trade_account_id": 0,
            "side": fill.side.value,
        }
        name = self.channel(TRADES_CHANNEL, fill.market)
        return json.dumps({"data": data, "channel": name, "event": "trade", "trade_account_id": 0})

    def quote_fee(self, fill: Fill) -> Decimal:
        """The fill's fee in its quote currency, as Bitstamp states fees."""
        _, quote = split_market(fill.market)
        return fill.fee if fill.fee_asset == quote else q(fill.fee * fill.price)

    def _event_id(self) -> str:
        return str(uuid.UUID(int=self._event_rng.getrandbits(128)))

    # ---- faults ------------------------------------------------------------------------------

    async def request_reconnect(self, *, data: object = "", close_after_s: float | None = None) -> int:
        """Send `bts:request_reconnect` on every socket (as before maintenance); with `close_after_s`
        close those sockets that much later, as the server does. Returns how many were asked."""
        targets = list(self._clients)
        frame = json.dumps({"event": "bts:request_reconnect", "channel": "", "data": data})
        for client in targets:
            client.send(frame)
        await asyncio.gather(*(client.flushed() for client in targets))
        if close_after_s is not None:
            task = asyncio.create_task(self._close_later(targets, close_after_s))
            self._closers.add(task)
            task.add_done_callback(self._closers.discard)
        return len(targets)

    @staticmethod
    async def _close_later(clients: list[SimClient], delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        await asyncio.gather(
            *(c.connection.close(1012, "reconnect") for c in clients), return_exceptions=True
        )

    def after_ack(self, name: str, action: Callable[[], object]) -> None:
        """Run `action` (a truth change) right after the next ack of channel `name`: its frames then
        arrive while the client may still be waiting for the acks of its other subscribes."""
        self._after_ack[name] = action

    def expire_tokens(self) -> None:
        """Every websocket token issued so far stops being accepted for subscribes."""
        self._tokens.clear()

    async def expire_session(self) -> None:
        """The websocket tokens run out and the server asks for a reconnect (as before maintenance),
        closing the old sockets a second later: the client must fetch a fresh token to subscribe."""
        self.expire_tokens()
        await self.request_reconnect(close_after_s=1.0)

    async def blast(self, frames: Iterable[str], *, stream: str | None = None) -> int:
        """Write `frames` straight onto every socket (that receives `stream`), bypassing the outbox
        and the delay fault: the fastest this server can send, for throughput measurements."""
        clients = self.clients(stream)
        sent = 0
        for frame in frames:
            for client in clients:
                await client.connection.send(frame)
            sent += 1
        return sent

    async def stop(self) -> None:
        for task in list(self._closers):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await super().stop()

    # ---- REST --------------------------------------------------------------------------------

    def rest_routes(self) -> list[web.RouteDef]:
        return [
            web.post(f"{API}/websockets_token/", self._rest_token),
            web.post(f"{API}/account_balances/", self._rest_balances),
            web.post(f"{API}/account_balances/{{currency}}/", self._rest_balance),
            web.post(f"{API}/open_orders/all/", self._rest_open_orders),
            web.post(f"{API}/open_orders/{{pair}}/", self._rest_open_orders),
            web.post(f"{API}/user_transactions/", self._rest_transactions),
            web.post(f"{API}/user_transactions/{{pair}}/", self._rest_transactions),
            web.get(f"{API}/trading-pairs-info/", self._rest_trading_pairs),
            web.get(f"{API}/markets/", self._rest_markets),
        ]

    def error_body(self, text: str) -> str:
        code = _CODES.get(text)
        body: dict[str, object] = {"status": "error", "reason": text}
        if code is not None:
            body["code"] = code
        return json.dumps(body)

    async def authenticate_rest(self, request: web.Request) -> Refusal | None:
        if request.method == "GET" and request.path in (f"{API}/trading-pairs-info/", f"{API}/markets/"):
            return None  # public
        now = now_ms()
        try:
            nonce = check_request(
                method=request.method,
                host=self.signed_host if self.signed_host is not None else (request.url.host or ""),
                path=request.path,
                query=request.query_string,
                headers=request.headers,
                body=await request.read(),
                api_key=DEMO_CREDENTIALS["api_key"],
                api_secret=DEMO_CREDENTIALS["api_secret"],
                now=now,
                seen_nonces=self._nonces,
            )
        except AuthRefused as refused:
            return refused.refusal
        if len(self._nonces) > 10_000:
            self._nonces = {n: t for n, t in self._nonces.items() if now - t <= WINDOW_MS}
        self._nonces[nonce] = now
        return None

    def _answer(self, request: web.Request, data: object) -> web.Response:
        """A JSON answer signed with X-Server-Auth-Signature over the request's nonce and timestamp."""
        body = json.dumps(data).encode()
        content_type = "application/json"
        signature = signer.response_signature(
            DEMO_CREDENTIALS["api_secret"],
            request.headers.get("X-Auth-Nonce", ""),
            request.headers.get("X-Auth-Timestamp", ""),
            content_type,
            body,
        )
        headers = {"Content-Type": content_type, "X-Server-Auth-Signature": signature}
        return web.Response(body=body, headers=headers)

    async def _form(self, request: web.Request) -> dict[str, str]:
        fields = parse_qs((await request.read()).decode("utf-8", "replace"))
        return {k: v[-1] for k, v in fields.items()}

    async def _rest_token(self, request: web.Request) -> web.Response:
        now = now_ms()
        self._tokens = {t: expiry for t, expiry in self._tokens.items() if expiry > now}
        token = "".join(self._token_rng.choices(string.ascii_letters + string.digits, k=32))
        self._tokens[token] = now + int(self.token_valid_s * 1000)
        self.tokens_issued += 1
        return self._answer(
            request, {"token": token, "valid_sec": int(self.token_valid_s), "user_id": int(self.user_id)}
        )

    @staticmethod
    def _balance(balance: Balance) -> dict[str, str]:
        return {
            "currency": balance.asset.lower(),
            "total": amount8(balance.total),
            "available": amount8(balance.available),
            "reserved": amount8(balance.locked),
        }

    async def _rest_balances(self, request: web.Request) -> web.Response:
        rows = [self._balance(b) for b in self.truth.balances.values()]
        held = {row["currency"] for row in rows}
        zero = Decimal(0)
        rows += [self._balance(Balance(c, zero, zero, zero)) for c in ZERO_CURRENCIES if c not in held]
        return self._answer(request, rows)

    async def _rest_balance(self, request: web.Request) -> web.Response:
        return self._answer(request, self._balance(self.truth.balance(request.match_info["currency"])))

    async def _rest_open_orders(self, request: web.Request) -> web.Response:
        pair = request.match_info.get("pair")
        rows = [
            self._open_order(o)
            for o in self.truth.open_orders.values()
            if pair is None or market_id(o.market) == pair
        ]
        return self._answer(request, rows)

    @staticmethod
    def _open_order(order: Order) -> dict[str, object]:
        return {
            "id": order.order_id,
            "datetime": bitstamp_time(order.created_ms),
            "type": "0" if order.side is Side.BUY else "1",
            "price": num(order.price),
            "amount": amount8(order.amount - order.filled),
            "amount_at_create": amount8(order.amount),
            "currency_pair": order.market,
            "market": order.market,
            "client_order_id": "",
        }

    async def _rest_transactions(self, request: web.Request) -> web.Response:
        """Trades (and one deposit) with Bitstamp's paging: offset, limit (<= 1000), sort,
        since_timestamp / until_timestamp (Unix seconds) and since_id."""
        form = await self._form(request)
        try:
            offset = int(form.get("offset", 0))
            limit = int(form.get("limit", 100))
            since_s = int(form["since_timestamp"]) if "since_timestamp" in form else None
            until_s = int(form["until_timestamp"]) if "until_timestamp" in form else None
            since_id = int(form["since_id"]) if "since_id" in form else None
        except ValueError:
            return web.json_response({"status": "error", "reason": "Invalid offset."}, status=400)
        if offset < 0 or not 1 <= limit <= 1000:
            return web.json_response({"status": "error", "reason": "Invalid limit."}, status=400)
        pair = request.match_info.get("pair")
        rows = [(self._started_ms, 1, self._deposit_row())] if pair is None else []
        for fill in self.truth.fills:
            if pair is None or market_id(fill.market) == pair:
                rows.append((fill.time_ms, int(fill.trade_id), self._trade_row(fill)))
        rows = [
            (ms, tid, row)
            for ms, tid, row in rows
            if (since_s is None or ms >= since_s * 1000)
            and (until_s is None or ms < until_s * 1000)
            and (since_id is None or tid >= since_id)
        ]
        rows.sort(key=lambda r: (r[0], r[1]), reverse=form.get("sort", "desc") != "asc")
        return self._answer(request, [row for _, _, row in rows[offset : offset + limit]])

    def _trade_row(self, fill: Fill) -> dict[str, Any]:
        base, quote = (a.lower() for a in split_market(fill.market))
        spent = self.truth.quote_amount(fill.trade_id)
        buy = fill.side is Side.BUY
        row: dict[str, Any] = {c: 0.0 for c in ("usd", "eur", "btc")}
        row.update(
            {
                "id": int(fill.trade_id),
                "order_id": int(fill.order_id),
                "type": "2",
                "datetime": bitstamp_time(fill.time_ms, micro=True),
                "fee": amount8(self.quote_fee(fill)),
                base: amount8(fill.amount if buy else -fill.amount),
                quote: amount8(-spent if buy else spent),
                f"{base}_{quote}": num(fill.price),
            }
        )
        return row

    def _deposit_row(self) -> dict[str, Any]:
        return {
            "id": 1,
            "type": "0",
            "datetime": bitstamp_time(self._started_ms, micro=True),
            "fee": "0.00000000",
            "btc": "1.50000000",
            "usd": 0.0,
            "btc_usd": "0.00",
        }

    def _pairs(self) -> list[tuple[str, str, str, str]]:
        return [(name, market_id(name), *split_market(name)) for name in MARKETS]

    async def _rest_trading_pairs(self, request: web.Request) -> web.Response:
        data = [
            {
                "name": name,
                "url_symbol": mid,
                "base_decimals": 8,
                "counter_decimals": 2,
                "instant_order_counter_decimals": 2,
                "minimum_order": f"10.0 {quote}",
                "trading": "Enabled",
                "instant_and_market_orders": "Enabled",
                "description": f"{base} / {quote}",
            }
            for name, mid, base, quote in self._pairs()
        ]
        return web.json_response(data)

    async def _rest_markets(self, request: web.Request) -> web.Response:
        """The newer list ccxt reads (`market_symbol`, `base_currency`, `counter_currency`)."""
        data = [
            {
                "name": name,
                "market_symbol": mid,
                "base_currency": base,
                "base_decimals": 8,
                "counter_currency": quote,
                "counter_decimals": 2,
                "minimum_order_value": "10",
                "trading": "Enabled",
                "instant_order_counter_decimals": 2,
                "instant_and_market_orders": "Enabled",
                "description": f"{base} / {quote}",
                "market_type": "SPOT",
            }
            for name, mid, base, quote in self._pairs()
        ]
        return web.json_response(data)


def market_names() -> dict[str, str]:
    """{market id: name} of the simulator's pairs, as `parser.rest_trading_pairs` reads them."""
    return {market_id(name): name for name in MARKETS}
