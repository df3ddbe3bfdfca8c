"""Bitstamp websocket frames and REST bodies -> exchange-neutral events. Pure: no socket, no clock.

Frames are `{"event", "channel", "data"}` (protocol notes, section 4). Order and trade data do not name
their market: the channel does (`private-my_orders_btcusd-123456`), and only the exchange's pair list
(`trading-pairs-info`) can split `btcusd` into BTC/USD. So the stream parser is built per connection
from that list (`StreamParser(names)`); plain string operations find the market id, no regex.

Amounts come from the `*_str` fields as Decimal (the float copies next to them are ignored); ids from
`id_str` where there is one, kept as strings (Bitstamp's order ids are large integers). Times: `datetime`
is Unix seconds (the order's creation), `microtimestamp` Unix microseconds (the event).

Bitstamp has no balance channel: every order or trade frame also asks for a balance poll
(`Refresh(balances=True)`); the engine merges the requests of a short window into one REST call.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec

from streams.events import (
    BalancesEvent,
    Event,
    FillEvent,
    Heartbeat,
    MalformedFrame,
    MalformedPart,
    OrdersEvent,
    ReconnectRequested,
    Refresh,
    ServerError,
    UnknownEvent,
)
from streams.exchanges.wire import (
    BAD_FIELDS,
    JSON_ERRORS,
    bad_fields,
    decimal,
    decode_json,
    each_item,
    integer,
    load_object,
)
from streams.model import Balance, Fill, Order, OrderStatus, Side, market

ORDERS_CHANNEL = "private-my_orders_"  # + market id + "-" + user id
TRADES_CHANNEL = "private-my_trades_"
HEARTBEAT = '{"event":"bts:heartbeat"}'
UNAUTHORIZED = 4009  # bts:error code for a bad or expired token
POLL_BALANCES = Refresh(balances=True)

_ORDER_EVENTS = frozenset({"order_created", "order_changed", "order_deleted", "order_replaced"})
_SIDES = {"buy": Side.BUY, "sell": Side.SELL, "0": Side.BUY, "1": Side.SELL}
# order_subtype: numbers in some messages, names in others (protocol notes, section 9); ccxt's codes.
_SUBTYPES = {"0": "limit", "2": "market", "4": "limit_ioc", "6": "limit_fok", "8": "limit_gtd"}
_ZERO = Decimal(0)
_CHANNELS_KEPT = 1_000
_SHAPES_KEPT = 1_000
_Shape = tuple[Side, str, int | None]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


class _WireOrder(msgspec.Struct, gc=False):  # strings and numbers only: no cycles to collect
    """The fields of a my_orders frame's data the order is built from, in the types Bitstamp sends."""

    id_str: str
    order_type: int | str
    microtimestamp: str
    amount_str: str
    price_str: str
    datetime: str | None = None
    amount_at_create: str | None = None
    amount_traded: str | None = None
    order_subtype: int | str | None = None
    stop_price: str | int | None = None


class _OrderFrame(msgspec.Struct, gc=False):
    event: str
    channel: str
    data: _WireOrder


# Order frames, decoded straight into typed structs in C: the floats beside the *_str fields and the
# fields nobody reads are skipped instead of becoming Decimals and dict entries (half of a frame's
# cost). Any other shape falls back to the general path, which accepts it or says what is wrong;
# tests/test_bitstamp_parser.py checks that both paths give the same for generated frames.
_decode_order_frame = msgspec.json.Decoder(_OrderFrame).decode


def channel(kind: str, market_id: str, user_id: str) -> str:
    """`channel(ORDERS_CHANNEL, "btcusd", "123")` -> `"private-my_orders_btcusd-123"`."""
    return f"{kind}{market_id}-{user_id}"


def subscribe_frame(channel_name: str, token: str) -> str:
    """A private subscribe. It carries the token: never log it."""
    return json.dumps({"event": "bts:subscribe", "data": {"channel": channel_name, "auth": token}})


def market_id(name: str) -> str:
    """`"BTC/USD"` -> `"btcusd"`: how Bitstamp writes a market in channel names and URLs."""
    return name.replace("/", "").lower()


class StreamParser:
    """One connection's frame parser: `parser(frame) -> events`. `names` maps Bitstamp market ids
    (`btcusd`) to display names (`BTC/USD`)."""

    __slots__ = ("_channels", "_markets", "_shapes")

    def __init__(self, names: Mapping[str, str]) -> None:
        # market id -> (display name, quote asset): the quote is the fee asset of every fill.
        self._markets = {mid: (name, name.partition("/")[2]) for mid, name in names.items()}
        self._channels: dict[tuple[str, str], tuple[str, str]] = {}  # (channel, prefix) -> _market()
        self._shapes: dict[tuple[object, ...], _Shape] = {}  # the typed path's wire fields -> _shape()

    def __call__(self, frame: str) -> list[Event]:
        if '"order_type"' in frame:  # likely an order frame: the typed path, if it is one
            fast = self._fast_order(frame)
            if fast is not None:
                return fast
        msg = load_object(frame)
        name = msg.get("event")
        if type(name) is not str:
            raise MalformedFrame("no 'event' field")
        try:
            if name == "trade":
                return [self._trade(msg), POLL_BALANCES]
            if name in _ORDER_EVENTS:
                return [self._order(msg, name), POLL_BALANCES]
            control = _CONTROL.get(name)
            if control is not None:
                return control(self, msg)
        except BAD_FIELDS as exc:
            raise bad_fields(name, exc) from None
        return [UnknownEvent(name)]

    def backlog(self, frames: list[str]) -> list[Event]:
        """Frames a handshake read before the engine's reader took over: each bad one becomes a
        `MalformedPart` instead of costing the good ones."""
        events: list[Event] = []
        for frame in frames:
            try:
                events.extend(self(frame))
            except MalformedFrame as exc:
                events.append(MalformedPart(str(exc)))
        return events

    def market_of(self, channel_name: str) -> str | None:
        """The display name of a my_orders/my_trades channel's market, None for any other channel."""
        for prefix in (ORDERS_CHANNEL, TRADES_CHANNEL):
            if channel_name.startswith(prefix):
                known = self._markets.get(channel_name[len(prefix) :].rpartition("-")[0])
                return known[0] if known else None
        return None

    def _market(self, channel_name: str, prefix: str) -> tuple[str, str]:
        """(display name, quote) of a private channel's market; remembered per channel, as every frame
        asks (at most _CHANNELS_KEPT of them: the channel's user id is not checked here)."""
        known = self._channels.get((channel_name, prefix))
        if known is None:
            known = self._market_of_channel(channel_name, prefix)
            if len(self._channels) < _CHANNELS_KEPT:
                self._channels[channel_name, prefix] = known
        return known

    def _market_of_channel(self, channel_name: str, prefix: str) -> tuple[str, str]:
        if not channel_name.startswith(prefix):
            raise ValueError(f"not a {prefix}... channel: {channel_name!r}")
        # rpartition: the user id follows the last "-" (perpetual market ids have a "-" of their own)
        mid = channel_name[len(prefix) :].rpartition("-")[0]
        known = self._markets.get(mid)
        if known is None:
            raise ValueError(f"unknown market {mid!r}")
        return known

    def _trade(self, msg: Mapping[str, Any]) -> FillEvent:
        data = msg["data"]
        name, quote = self._market(msg["channel"], TRADES_CHANNEL)
        time_ms = _event_ms(data)
        side = data.get("side")
        fill = Fill(
            trade_id=_id(data),
            order_id=_plain_id(data["order_id"]),
            market=name,
            side=_SIDES[str(side if side is not None else data["type"]).lower()],
            price=decimal(data["price"]),
            amount=decimal(data["amount"]),
            fee=decimal(data.get("fee", "0")),
            fee_asset=quote,  # Bitstamp charges the fee in the quote currency
            time_ms=time_ms,
        )
        return FillEvent(fill, time_ms)

    def _fast_order(self, frame: str) -> list[Event] | None:
        """An order frame through the typed decoder; None when the frame is not of that shape."""
        try:
            msg = _decode_order_frame(frame)
        except JSON_ERRORS:  # msgspec's DecodeError (a wrong type too) is a ValueError
            return None
        event, data = msg.event, msg.data
        if event not in _ORDER_EVENTS or not data.id_str:
            return None
        try:
            # Side, kind and creation time repeat on every frame of an order: read once per shape.
            shape_key = (data.order_type, data.order_subtype, data.stop_price, data.datetime)
            shape = self._shapes.get(shape_key)
            if shape is None:
                shape = _shape(*shape_key)
                if len(self._shapes) >= _SHAPES_KEPT:
                    self._shapes.clear()
                self._shapes[shape_key] = shape
            order = self._order_of(
                event,
                msg.channel,
                data.id_str,
                shape,
                decimal(data.amount_str),
                data.amount_at_create,
                data.amount_traded,
                decimal(data.price_str),
                _int(data.microtimestamp) // 1000,
            )
        except BAD_FIELDS as exc:
            raise bad_fields(event, exc) from None
        return [order, POLL_BALANCES]

    def _order(self, msg: Mapping[str, Any], event: str) -> OrdersEvent:
        data = msg["data"]
        return self._order_of(
            event,
            msg["channel"],
            _id(data),
            _shape(
                data["order_type"], data.get("order_subtype"), data.get("stop_price"), data.get("datetime")
            ),
            decimal(data["amount_str"] if "amount_str" in data else data["amount"]),
            data.get("amount_at_create"),
            data.get("amount_traded"),
            decimal(data["price_str"] if "price_str" in data else data["price"]),
            _event_ms(data),
        )

    def _order_of(
        self,
        event: str,
        channel_name: str,
        order_id: str,
        shape: _Shape,
        remaining: Decimal,
        at_create: object,
        traded: object,
        price: Decimal,
        updated: int,
    ) -> OrdersEvent:
        """The order of a my_orders frame, from its fields (read from a dict or a typed struct)."""
        name = self._market(channel_name, ORDERS_CHANNEL)[0]
        if at_create is not None:  # filled = original - remaining (amount_traded is ambiguous)
            amount = decimal(at_create)
            filled = amount - remaining
        else:  # older messages: read amount_traded as the cumulative fill (ccxt's reading)
            filled = decimal(traded) if traded is not None else _ZERO
            amount = remaining + filled
        if filled < 0:
            raise ValueError(f"remaining {remaining} exceeds the original amount {amount}")
        if event == "order_deleted":  # left the book: filled if nothing remains, else cancelled
            done = remaining == 0 or (
                at_create is not None and traded is not None and decimal(traded) == amount
            )
            status = OrderStatus.FILLED if done else OrderStatus.CANCELLED
            if done:
                filled = amount
        else:
            status = OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN
        side, kind, created_ms = shape
        order = Order(
            order_id,
            name,
            side,
            kind,
            price,
            amount,
            filled,
            status,
            updated if created_ms is None else created_ms,
            updated,
        )
        return OrdersEvent((order,), updated)

    def _subscribed(self, msg: Mapping[str, Any]) -> list[Event]:
        """An ack of a subscribe sent while live (the handshake consumes its own acks). It proves the
        token was accepted, nothing more; the market's state and the fills made before the ack come
        from REST (`Refresh(markets=...)`)."""
        name = self.market_of(str(msg.get("channel", "")))
        return [Refresh(markets=frozenset((name,)))] if name else [Heartbeat()]

    def _error(self, msg: Mapping[str, Any]) -> list[Event]:
        code, text = error_of_frame(msg)
        return [ServerError(text, auth=code == UNAUTHORIZED)]


def _heartbeat(parser: StreamParser, msg: Mapping[str, Any]) -> list[Event]:
    return [Heartbeat()]


def _reconnect(parser: StreamParser, msg: Mapping[str, Any]) -> list[Event]:
    return [ReconnectRequested()]  # data is "" in the docs and {} in some clients: ignored


_CONTROL: dict[str, Callable[[StreamParser, Mapping[str, Any]], list[Event]]] = {
    "bts:subscription_succeeded": StreamParser._subscribed,
    "bts:unsubscription_succeeded": _heartbeat,
    "bts:heartbeat": _heartbeat,
    "bts:request_reconnect": _reconnect,
    "bts:error": StreamParser._error,
}


def control(frame: str) -> tuple[str, str, Any]:
    """(event, channel, data) of a frame, for the handshake that waits for acks; MalformedFrame if
    the frame is not a JSON object with an event name."""
    msg = load_object(frame)
    name = msg.get("event")
    if type(name) is not str:
        raise MalformedFrame("no 'event' field")
    return name, str(msg.get("channel") or ""), msg.get("data")


def error_of_frame(msg: Mapping[str, Any]) -> tuple[int | None, str]:
    """The code and the exchange's own words of a `bts:error` frame."""
    data = msg.get("data")
    data = data if isinstance(data, dict) else {}
    code = data.get("code")
    code = code if type(code) is int else None
    message = data.get("message")
    text = message if isinstance(message, str) and message else "error without a message"
    return code, f"{text} (bts:error {code})" if code is not None else text


# ---------------------------------------------------------------------------------------------- REST


def rest_balances(body: str, time_ms: int) -> BalancesEvent:
    """POST /api/v2/account_balances/ -> every asset the account holds (a complete snapshot). Bitstamp
    lists every currency it trades; the all-zero ones are left out."""

    def balance(item: Mapping[str, Any]) -> Balance | None:
        total, available = decimal(item["total"]), decimal(item["available"])
        reserved = decimal(item.get("reserved", "0"))
        if not (total or available or reserved):
            return None
        return Balance(str(item["currency"]).upper(), total, available, reserved)

    balances = tuple(b for b in _rest_items(body, balance, "account balances") if b is not None)
    return BalancesEvent(balances, time_ms, complete=True)


def rest_open_orders(body: str, time_ms: int) -> OrdersEvent:
    """POST /api/v2/open_orders/all/ -> every open order (a complete snapshot). `amount` is what
    remains; `amount_at_create` (newer answers) gives the original size. REST says when an order was
    created, not when it last changed: `updated_ms` is the creation time."""

    def order(item: Mapping[str, Any]) -> Order:
        remaining = decimal(item["amount"])
        at_create = item.get("amount_at_create")
        amount = decimal(at_create) if at_create is not None else remaining
        filled = amount - remaining
        if filled < 0:
            raise ValueError(f"remaining {remaining} exceeds the original amount {amount}")
        base, _, quote = str(item.get("market") or item["currency_pair"]).partition("/")
        created = utc_ms(item["datetime"])
        return Order(
            order_id=_plain_id(item["id"]),
            market=market(base, quote),
            side=_side_code(item["type"]),
            kind=_kind(item.get("subtype"), item.get("stop_price")),
            price=decimal(item["price"]),
            amount=amount,
            filled=filled,
            status=OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN,
            created_ms=created,
            updated_ms=created,
        )

    return OrdersEvent(_rest_items(body, order, "open orders"), time_ms, complete=True)


def rest_fills(body: str) -> tuple[list[Fill], int]:
    """POST /api/v2/user_transactions/ -> (the trades among the rows, how many rows there were).

    A trade row (`type` 2) names its market by a `<base>_<quote>` member holding the price, next to
    signed `<base>` and `<quote>` amounts: base > 0 is a buy. Deposits and withdrawals are skipped."""

    def fill(row: Mapping[str, Any]) -> Fill | None:
        if str(row.get("type")) != "2":
            return None
        base, quote = _pair_keys(row)
        base_amount = decimal(row[base])
        return Fill(
            trade_id=_plain_id(row["id"] if "id" in row else row["tid"]),
            order_id=_plain_id(row["order_id"]),
            market=market(base, quote),
            side=Side.BUY if base_amount > 0 else Side.SELL,
            price=decimal(row[f"{base}_{quote}"]),
            amount=abs(base_amount),
            fee=decimal(row.get("fee", "0")),
            fee_asset=quote.upper(),
            time_ms=utc_ms(row["datetime"]),
        )

    rows = _rest_items(body, fill, "user transactions")
    return [f for f in rows if f is not None], len(rows)


def rest_token(body: str) -> tuple[str, str, int]:
    """POST /api/v2/websockets_token/ -> (token, user id, valid seconds)."""
    data = load_object(body)
    try:
        token, user_id, valid = data["token"], data["user_id"], _int(data.get("valid_sec", 60))
        if not isinstance(token, str) or not token or isinstance(user_id, bool) or valid < 0:
            raise ValueError("token answer without a usable token")
        return token, _plain_id(user_id), valid
    except BAD_FIELDS as exc:
        raise bad_fields("websockets token", exc) from None


def rest_trading_pairs(body: str) -> dict[str, str]:
    """GET /api/v2/trading-pairs-info/ -> {market id: display name} of the spot markets (`url_symbol`,
    or `market_symbol` in the newer /markets/ shape)."""

    def pair(item: Mapping[str, Any]) -> tuple[str, str] | None:
        if item.get("market_type", "SPOT") != "SPOT":
            return None
        base, sep, quote = str(item["name"]).partition("/")
        if not sep:
            raise ValueError(f"market name without '/': {item['name']!r}")
        return str(item.get("url_symbol") or item["market_symbol"]), market(base, quote)

    return dict(p for p in _rest_items(body, pair, "trading pairs") if p is not None)


def rest_error(body: str) -> tuple[str | None, str] | None:
    """(code, the exchange's own words) of an error answer such as
    `{"status": "error", "reason": "Invalid signature", "code": "API0005"}`; None if it is no error."""
    try:
        data = json.loads(body)
    except JSON_ERRORS:
        return None
    if not isinstance(data, dict) or not (data.get("status") == "error" or "error" in data):
        return None
    reason = data.get("reason", data.get("error"))
    if isinstance(reason, dict):  # {"__all__": ["Minimum order size is 5.0 EUR."]} and field errors
        reason = "; ".join(str(v[0] if isinstance(v, list) and v else v) for v in reason.values())
    code = data.get("code")
    return (str(code) if code is not None else None), str(reason or "no reason given")


def utc_ms(text: object) -> int:
    """`"2022-01-31 14:43:15"` or `"2021-11-25 12:59:59.322000"` (UTC) -> Unix milliseconds."""
    if not isinstance(text, str):
        raise ValueError(f"not a date: {text!r}")
    stamp = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return (stamp - _EPOCH) // _MILLISECOND


def _pair_keys(row: Mapping[str, Any]) -> tuple[str, str]:
    """The market of a user_transactions row: the member `a_b` for which `a` and `b` are members too."""
    for key in row:
        base, sep, quote = key.partition("_")
        if sep and base in row and quote in row and "_" not in quote:
            return base, quote
    raise ValueError("trade row without a <base>_<quote> price member")


def _rest_items(body: str, make: Callable[[Mapping[str, Any]], Any], what: str) -> tuple[Any, ...]:
    """Each item of a REST answer's list through `make`; any bad item fails the whole answer."""
    try:
        data = decode_json(body)
    except JSON_ERRORS as exc:
        raise MalformedFrame(f"{what}: not JSON ({exc.args[0][:80]})") from None
    if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
        raise MalformedFrame(f"{what}: REST answer is not a list of objects")
    return each_item(data, make, what)


def _id(data: Mapping[str, Any]) -> str:
    """`id_str` where there is one (exact for any size), else `id`."""
    text = data.get("id_str")
    return text if type(text) is str and text else _plain_id(data["id"])


def _plain_id(value: object) -> str:
    if type(value) is str and value:
        return value
    if type(value) is int:
        return str(value)
    raise ValueError(f"not an id: {value!r}")


def _shape(order_type: object, subtype: object, stop_price: object, created: object) -> _Shape:
    """(side, kind, creation time in ms or None) of an order, from its wire fields."""
    return (
        _side_code(order_type),
        _kind(subtype, stop_price),
        _int(created) * 1000 if created is not None else None,
    )


def _side_code(value: object) -> Side:
    return _SIDES[str(value).lower()]


def _kind(subtype: object, stop_price: object) -> str:
    """Order kind from `order_subtype`: known codes and names mapped, unknown codes kept visible."""
    if subtype is None:
        kind = "limit"
    else:
        raw = str(subtype).lower()
        kind = _SUBTYPES.get(raw) or (raw if not raw.isdigit() else f"other_{raw}")
    if stop_price not in (None, "", 0, "0") and not kind.startswith("stop"):
        kind = f"stop_{kind}"
    return kind


def _event_ms(data: Mapping[str, Any]) -> int:
    micro = data.get("microtimestamp")
    if micro is not None:
        return _int(micro) // 1000
    return _int(data["datetime"]) * 1000


def _int(value: object) -> int:
    if type(value) is int:
        return value
    if type(value) is str:
        try:
            return int(value)
        except ValueError:
            return integer(Decimal(value), value)  # "1700000000.5"; InvalidOperation for junk
    if type(value) is Decimal and value.is_finite():
        return integer(value)
    raise ValueError(f"not an integer: {value!r}")
