"""Bitstamp feeds: order events (private-my_orders_<market>-<user>) and trade events
(private-my_trades_<market>-<user>) on one market, through Bitstamp's one websocket.

The feeds use Bitstamp's simulator (`order_frame`, `trade_frame`, `channel`, `user_id`) and REST client
(the websocket token); a build without the Bitstamp connector lists them as skipped, with the reason.

- orders: n `order_changed` frames for the demo ledger's BTC/USDT buy order, each with a little more
  filled; the ledger ends with the last state. Compared on what a client can know exactly (id,
  market, side, price, amount, filled, status): Bitstamp sends the creation time in whole seconds.
- trades: n `trade` frames, new fills of that order; the ledger ends with those fills.
Each order or trade frame also makes the engine poll the balances over REST (Bitstamp has no balance
channel): those changes are not burst frames (`counts`).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from streams.exchanges import EXCHANGES
from streams.model import Fill, OrderStatus, now_ms, replace
from streams.simulator.truth import SimulatedAccount
from tests.benchmarks.feeds import Bare, Burst, Ccxt, Feed, SimInfo

MARKET = "BTC/USDT"
MARKET_ID = "btcusdt"
STEP = Decimal("0.00000001")


def _order_of(truth: SimulatedAccount) -> Any:
    return next(o for o in truth.open_orders.values() if o.market == MARKET)


def orders_burst(n: int, simulator: Any) -> Burst:
    from streams.exchanges.bitstamp.parser import ORDERS_CHANNEL

    order = _order_of(simulator.truth)
    frames = []
    state = order
    for i in range(n):
        filled = (order.amount * (i + 1) / (n + 1)).quantize(STEP)
        state = replace(
            order, filled=filled, status=OrderStatus.PARTIALLY_FILLED, updated_ms=order.updated_ms + i + 1
        )
        frames.append(simulator.order_frame(state, "order_changed"))
    final = state

    def settle(truth: SimulatedAccount) -> None:
        truth.open_orders[final.order_id] = final
        truth.orders[final.order_id] = final

    return Burst(frames, settle, simulator.channel(ORDERS_CHANNEL, MARKET))


def trades_burst(n: int, simulator: Any) -> Burst:
    from streams.exchanges.bitstamp.parser import TRADES_CHANNEL

    order = _order_of(simulator.truth)
    start = now_ms()
    fills = [
        Fill(
            str(800_000_000 + i),
            order.order_id,
            MARKET,
            order.side,
            order.price,
            STEP,
            Decimal(0),
            "USDT",
            start + i,
        )
        for i in range(n)
    ]
    frames = [simulator.trade_frame(f) for f in fills]

    def settle(truth: SimulatedAccount) -> None:
        truth.fills.extend(fills)
        for fill in fills:  # the ledger's REST answers (user_transactions) need each fill's quote
            truth._quote[fill.trade_id] = fill.price * fill.amount

    return Burst(frames, settle, simulator.channel(TRADES_CHANNEL, MARKET))


# ---------------------------------------------------------------------- comparisons


def _order_fields(order: Any) -> tuple[Any, ...]:
    return (order.order_id, order.market, order.side, order.price, order.amount, order.filled, order.status)


def _compare_orders(held: dict[str, tuple[Any, ...]], truth: Any) -> tuple[bool, str]:
    wanted = {o.order_id: _order_fields(o) for o in truth.open_orders.values() if o.market == MARKET}
    exact = sum(1 for k, v in wanted.items() if held.get(k) == v)
    return exact == len(wanted) and len(held) == len(
        wanted
    ), f"{exact}/{len(wanted)} {MARKET} open orders exact"


def _compare_fills(held: dict[str, tuple[Decimal, Decimal]], truth: Any) -> tuple[bool, str]:
    wanted = {f.trade_id: (f.price, f.amount) for f in truth.fills}
    exact = sum(1 for k, v in wanted.items() if held.get(k) == v)
    return exact == len(wanted) and len(held) == len(
        wanted
    ), f"{exact}/{len(wanted)} fills exact, {len(held)} held"


def ours_orders(store: Any, fills: list[Any], truth: Any) -> tuple[bool, str]:
    held = {o.order_id: _order_fields(o) for o in store.orders.values() if o.market == MARKET}
    return _compare_orders(held, truth)


def ours_trades(store: Any, fills: list[Any], truth: Any) -> tuple[bool, str]:
    return _compare_fills({f.trade_id: (f.price, f.amount) for f in fills}, truth)


# ---------------------------------------------------------------------- bare client


def _bare_open(kind: str) -> Any:
    async def open_(info: SimInfo) -> Any:
        import aiohttp
        from websockets.asyncio.client import connect

        from streams.exchange import Credentials
        from streams.exchanges.bitstamp.parser import ORDERS_CHANNEL, TRADES_CHANNEL, channel
        from streams.exchanges.bitstamp.rest import BitstampHttp

        async with aiohttp.ClientSession() as http:  # the token: connection set-up, not measured
            token = await BitstampHttp(info.rest_url, Credentials(info.credentials), http).websocket_token()
        prefix = ORDERS_CHANNEL if kind == "orders" else TRADES_CHANNEL
        ws = await connect(info.ws_url, max_size=2**23)
        name = channel(prefix, MARKET_ID, token.user_id)
        await ws.send(json.dumps({"event": "bts:subscribe", "data": {"channel": name, "auth": token.token}}))
        return ws

    return open_


def bare_orders_decode(text: str, state: dict[str, Any]) -> None:
    data = json.loads(text, parse_float=Decimal).get("data") or {}
    if "amount_at_create" in data:
        amount = Decimal(data["amount_at_create"])
        state[data["id_str"]] = (amount - Decimal(data["amount_str"]), Decimal(data["price_str"]), amount)


def bare_orders_compare(state: dict[str, Any], truth: Any) -> tuple[bool, str]:
    wanted = {
        o.order_id: (o.filled, o.price, o.amount) for o in truth.open_orders.values() if o.market == MARKET
    }
    exact = sum(1 for k, v in wanted.items() if state.get(k) == v)
    return exact == len(wanted), f"{exact}/{len(wanted)} {MARKET} open orders exact (filled, price, amount)"


def bare_trades_decode(text: str, state: dict[str, Any]) -> None:
    data = json.loads(text, parse_float=Decimal).get("data") or {}
    if "order_id" in data:
        state[data["id_str"]] = (Decimal(data["price"]), Decimal(data["amount"]))


def bare_trades_compare(state: dict[str, Any], truth: Any) -> tuple[bool, str]:
    return _compare_fills(state, truth)


# ---------------------------------------------------------------------- ccxt.pro


def ccxt_make(info: SimInfo, on_message: Any) -> Any:
    """ccxt.pro's bitstamp with its REST and websocket URLs on the simulator (never a public host)."""
    from urllib.parse import urlsplit

    import ccxt.pro

    base = info.rest_url.rstrip("/")  # http://127.0.0.1:PORT
    # ccxt signs its URL with "https://" cut off, as for https://www.bitstamp.net/api: so it is given
    # https://<host>/api to sign (host without port, as Bitstamp's X-Auth v2 has it), and each request
    # it then makes is sent to the simulator's real address instead.
    signed = f"https://{urlsplit(base).hostname}"

    class Counted(ccxt.pro.bitstamp):
        def handle_message(self, client: Any, message: Any) -> None:
            super().handle_message(client, message)
            on_message()

        async def fetch(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
            return await super().fetch(url.replace(signed, base, 1), method, headers, body)

    c = info.credentials
    exchange = Counted({"apiKey": c["api_key"], "secret": c["api_secret"]})
    rest = f"{signed}/api"
    exchange.urls["api"] = {"public": rest, "private": rest, "v1": rest, "ws": info.ws_url}
    for key in ("www", "doc", "fees"):
        exchange.urls.pop(key, None)
    exchange.has["fetchCurrencies"] = False  # an endpoint the simulator does not have
    return exchange


def ccxt_compare_orders(exchange: Any, truth: Any) -> tuple[bool, str]:
    held = {}
    for order in list(exchange.orders or []):
        if order.get("symbol") == MARKET:
            held[str(order["id"])] = (Decimal(str(order["filled"])), Decimal(str(order["price"])))
    wanted = {o.order_id: (o.filled, o.price) for o in truth.open_orders.values() if o.market == MARKET}
    exact = sum(1 for k, v in wanted.items() if held.get(k) == v)
    return exact == len(wanted), f"{exact}/{len(wanted)} {MARKET} open orders exact (filled, price)"


def ccxt_compare_trades(exchange: Any, truth: Any) -> tuple[bool, str]:
    held = {
        str(t["id"]): (Decimal(str(t["price"])), Decimal(str(t["amount"])))
        for t in list(exchange.myTrades or [])
    }
    return _compare_fills(held, truth)


# ---------------------------------------------------------------------- the feeds


def feeds() -> list[Feed]:
    skip = None if "bitstamp" in EXCHANGES else "bitstamp not registered: skipped"
    return [
        Feed(
            "bitstamp",
            "bitstamp-orders",
            "Bitstamp order events",
            "",
            20_000,
            orders_burst,
            Bare(_bare_open("orders"), bare_orders_decode, bare_orders_compare),
            Ccxt(ccxt_make, lambda e: e.watch_orders(MARKET), ccxt_compare_orders),
            ours_orders,
            skip,
            counts=lambda changes: bool(changes.orders),
        ),
        Feed(
            "bitstamp",
            "bitstamp-trades",
            "Bitstamp trade events",
            "",
            20_000,
            trades_burst,
            Bare(_bare_open("trades"), bare_trades_decode, bare_trades_compare),
            Ccxt(ccxt_make, lambda e: e.watch_my_trades(MARKET), ccxt_compare_trades),
            ours_trades,
            skip,
            counts=lambda changes: bool(changes.fills),
        ),
    ]
