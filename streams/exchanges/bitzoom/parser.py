"""Bitzoom frames and REST bodies -> exchange-neutral events. Pure: no socket, no clock, no state.

Framing is documented (protocol notes section 3): every message is `{channel, event, data}`, one
websocket message may hold several of them on separate lines, and a data push names its subscription
by `event` = subId. The subId map belongs to one connection, so the caller passes it in.

Payload fields are NOT documented (section 8), so balances, orders and trades go through the tolerant
`mapper`; every push is an upsert, and nothing is hidden: each routed payload also comes out verbatim
as a `RawPayload`, so fields the mapper does not know stay visible in the app's raw data view. A bad item
becomes a `MalformedPart` and the rest of its line is still applied; a bad line of a multi-line frame
likewise. Balances and order changes ask REST for the trade history (`Refresh`): there is no fill
channel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from streams.events import (
    BalancesEvent,
    Event,
    Heartbeat,
    MalformedFrame,
    MalformedPart,
    OrdersEvent,
    RawPayload,
    Refresh,
    ServerError,
    UnknownEvent,
)
from streams.exchanges.bitzoom import mapper
from streams.exchanges.wire import JSON_ERRORS, decode_json
from streams.model import Fill

BALANCE = "/api/v1/balance"
OPEN_ORDERS = "/api/v1/openorders"
LOGON = "logon"
CONTROL_EVENTS = frozenset({"sub", "unsub", "success", "error"})
TOKEN_EXPIRED = "token expired — paste a new one"
UNAUTHORIZED = -1002  # REST: invalid or expired token

T = TypeVar("T")
_JWT_LIKE = re.compile(r"eyJ[\w-]*(?:\.[\w-]*){0,2}")  # base64url of '{"' and what follows


@dataclass(frozen=True, slots=True)
class Subscription:
    """What one subId stands for on one connection: the channel and the params it was asked with."""

    channel: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Line:
    """One `{channel, event, data}` message, with its text verbatim (for the raw data view)."""

    channel: str
    event: str
    data: Any
    text: str


class RestError(Exception):
    """A REST answer whose envelope says it failed: the exchange's code and message."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(f"{code}: {message}" if code is not None else message)
        self.code = code
        self.message = message

    @property
    def unauthorized(self) -> bool:
        return self.code == UNAUTHORIZED

    @property
    def bad_parameter(self) -> bool:
        """-11xx are request-parameter errors (Binance-style numbering, which Bitzoom's FAQ follows)."""
        return self.code is not None and -1199 <= self.code <= -1100


# ---------------------------------------------------------------------- framing


def split(frame: str) -> list[Line | MalformedPart]:
    """Every non-empty line of a websocket message, each parsed on its own; a bad one becomes a
    `MalformedPart` and the others are kept."""
    parts: list[Line | MalformedPart] = []
    for text in _texts(frame):
        try:
            parts.append(line(text))
        except MalformedFrame as exc:
            parts.append(MalformedPart(str(exc)))
    return parts


def line(text: str) -> Line:
    """One line -> a `Line`; raises `MalformedFrame` when it is not a message of the protocol."""
    try:
        msg = decode_json(text)
    except JSON_ERRORS as exc:
        raise MalformedFrame(f"not JSON ({exc.args[0][:80]}): {_snippet(text)}") from None
    if not isinstance(msg, dict):
        raise MalformedFrame(f"not a JSON object: {_snippet(text)}")
    event, channel = msg.get("event"), msg.get("channel", "")
    if not isinstance(event, str) or not event:
        raise MalformedFrame(f"no 'event' member: {_snippet(text)}")
    if not isinstance(channel, str):
        raise MalformedFrame(f"'channel' is not a string: {_snippet(text)}")
    return Line(channel, event, msg.get("data"), text)


def parse(frame: str, subs: Mapping[str, Subscription], time_ms: int) -> list[Event]:
    """One websocket message -> its events, routed by subId through `subs` (this connection's map).

    `time_ms` is when the message arrived: Bitzoom stamps nothing, and the engine orders buffered
    events against the REST snapshot by it. A message of one bad line raises `MalformedFrame`; in a
    message of several lines each bad one becomes a `MalformedPart` and the others still count.
    """
    texts = _texts(frame)
    if len(texts) == 1:
        return events(line(texts[0]), subs, time_ms)
    out: list[Event] = []
    for text in texts:
        try:
            out.extend(events(line(text), subs, time_ms))
        except MalformedFrame as exc:
            out.append(MalformedPart(str(exc), time_ms))
    return out


def events(msg: Line, subs: Mapping[str, Subscription], time_ms: int) -> list[Event]:
    """The events of one message: control answers, or a push routed by its subId."""
    if msg.event in CONTROL_EVENTS:
        return _control(msg, time_ms)
    sub = subs.get(msg.event)
    if sub is None:  # logged once by the engine, then dropped
        return [UnknownEvent(f"push for unknown subId {msg.event!r} on {msg.channel!r}", time_ms)]
    raw = RawPayload(sub.channel, msg.text, time_ms)
    mapper = _PUSHES.get(sub.channel)
    return [raw] if mapper is None else [raw, *mapper(msg.data, time_ms)]


def ack_ids(msg: Line) -> list[str]:
    """The subIds a `sub` acknowledgement carries: the keys of `data` (a plain string is accepted too,
    as in the `unsub` answer)."""
    if isinstance(msg.data, dict):
        return [str(key) for key in msg.data]
    if isinstance(msg.data, str) and msg.data:
        return [msg.data]
    return []


def logon_refusal(msg: Line) -> str:
    """What to tell the user about `{"channel":"logon","event":"error",...}`: the data is empty in the
    docs (no reason given), so the text is ours, plus whatever the server did say."""
    if msg.data in (None, {}, [], ""):
        return TOKEN_EXPIRED
    return f"{TOKEN_EXPIRED} (Bitzoom said: {_short(msg.data)})"


def _control(msg: Line, time_ms: int) -> list[Event]:
    if msg.event == "error":
        if msg.channel == LOGON:
            return [ServerError(logon_refusal(msg), auth=True, time_ms=time_ms)]
        return [ServerError(f"{msg.channel or 'a request'} failed: {_short(msg.data)}", time_ms=time_ms)]
    if msg.event == "success":
        return [Heartbeat(time_ms)]
    return [UnknownEvent(f"'{msg.event}' answer on {msg.channel}", time_ms)]  # late sub/unsub acks


def _texts(frame: str) -> list[str]:
    return [text.strip() for text in frame.split("\n") if text.strip()]


# ---------------------------------------------------------------------- pushes


def balance_push(data: Any, time_ms: int) -> list[Event]:
    """A `/api/v1/balance` push: each listed asset upserted. A balance may move because of a fill,
    which no channel reports: ask REST for the trade history."""
    balances, problems = mapper.mapped(data, mapper.ASSET_KEYS, mapper.balance, "balance")
    out: list[Event] = []
    if balances:
        out.append(BalancesEvent(tuple(balances), time_ms))
        out.append(Refresh(assets=frozenset(b.asset for b in balances), time_ms=time_ms))
    out.extend(MalformedPart(problem, time_ms) for problem in problems)
    return out


def orders_push(data: Any, time_ms: int) -> list[Event]:
    """A `/api/v1/openorders` push: each listed order upserted (a closed status removes it). An order
    that filled (partly) asks REST for its trades."""
    orders, problems = mapper.mapped(data, mapper.ORDER_ID_KEYS, mapper.order, "order")
    out: list[Event] = []
    if orders:
        out.append(OrdersEvent(tuple(orders), time_ms))
        traded = frozenset((o.order_id, o.market) for o in orders if o.filled > 0)
        if traded:
            out.append(Refresh(orders=traded, markets=frozenset(m for _, m in traded), time_ms=time_ms))
    out.extend(MalformedPart(problem, time_ms) for problem in problems)
    return out


_PUSHES: dict[str, Callable[[Any, int], list[Event]]] = {BALANCE: balance_push, OPEN_ORDERS: orders_push}


# ---------------------------------------------------------------------- the tolerant mapper


# ---------------------------------------------------------------------- REST


def rest_data(body: str) -> Any:
    """The `data` of a REST answer in either documented envelope, or raises `RestError`.

    OpenAPI: `{"traceid","errorCode":200,"errorMessage","success":true,"duration",...,"data"}`;
    guides: `{"code":0,"msg":"success","data"}`. Numbers are parsed exactly: the docs' example
    `duration` (9223372036854776000) is beyond 2**53.
    """
    try:
        msg = decode_json(body)
    except JSON_ERRORS as exc:
        raise MalformedFrame(f"REST answer is not JSON ({exc.args[0][:80]})") from None
    if not isinstance(msg, dict):
        return msg  # a bare list: no envelope at all
    if "errorCode" in msg or "success" in msg:
        code = mapper.opt_int(msg.get("errorCode"))
        ok = msg.get("success") is True if "success" in msg else code in (200, 0)
        if not ok:
            raise RestError(code, str(msg.get("errorMessage") or msg.get("msg") or "request failed"))
        return msg.get("data")
    if "code" in msg:
        code = mapper.opt_int(msg.get("code"))
        if code != 0:
            raise RestError(code, str(msg.get("msg") or msg.get("message") or "request failed"))
        return msg.get("data")
    return msg.get("data", msg)


def rest_balances(data: Any, time_ms: int) -> BalancesEvent:
    """The `data` of GET /api/v1/balance -> every asset (a complete snapshot). A bad item fails the
    whole answer: a snapshot without one of the assets would delete it."""
    return BalancesEvent(
        _all_items(data, mapper.ASSET_KEYS, mapper.balance, "balance snapshot"), time_ms, complete=True
    )


def rest_open_orders(data: Any, time_ms: int) -> OrdersEvent:
    """The `data` of GET /api/v1/openorders -> every open order (a complete snapshot)."""
    return OrdersEvent(
        _all_items(data, mapper.ORDER_ID_KEYS, mapper.order, "open orders"), time_ms, complete=True
    )


def rest_trades(data: Any) -> tuple[list[Fill], int | None]:
    """The `data` of GET /api/v1/historytrade -> (this page's fills, the `total` row count if given)."""
    total = mapper.opt_int(data.get("total")) if isinstance(data, dict) else None
    return list(_all_items(data, mapper.TRADE_ID_KEYS, mapper.trade, "trade history")), total


def _all_items(
    data: Any, id_keys: tuple[str, ...], make: Callable[[Mapping[str, Any], str | None], T], what: str
) -> tuple[T, ...]:
    if isinstance(data, dict) and "total" in data:  # a page: {"total": n, "list": [...]}
        data = {k: v for k, v in data.items() if k not in ("total", "page", "limit", "pageSize")}
    made, problems = mapper.mapped(data, id_keys, make, what)
    if problems:
        raise MalformedFrame("; ".join(problems[:3]))
    return tuple(made)


def redact(text: str) -> str:
    """`text` with anything shaped like a JWT replaced: a server that echoes the token must not get
    it into a log line or the window. Done before any cut, so no piece of a token survives."""
    return _JWT_LIKE.sub("<token>", text)


def _short(data: object) -> str:
    """A server's words for the user, without a token, cut short."""
    text = data if isinstance(data, str) else json.dumps(data, default=str, separators=(",", ":"))
    return redact(text)[:200]


def _snippet(text: str) -> str:
    return repr(redact(text)[:60])
