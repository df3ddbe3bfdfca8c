"""SLOT: Bitstamp feeds (order events on private-my_orders_<market>-<user>, trade events on
private-my_trades_<market>-<user>; ccxt.pro bitstamp watch_orders / watch_my_trades).

Bitstamp's connector (streams/exchanges/bitstamp/, issue 6) is built on another branch. Until it is
merged and registered, these feeds are listed and skipped with the reason. Issue 6's simulator (as seen
on its branch, not merged here) already has what the slot needs; to fill it once it is merged:
1. `burst(n, simulator)`: n frames from `simulator.order_frame(order, "order_changed")` for one open
   order of the demo ledger (say the BTC/USDT buy), each with more filled, or from
   `simulator.trade_frame(fill)` for n new fills; `settle` puts the final order (or the fills) in the
   ledger; `Burst.stream = simulator.channel(ORDERS_CHANNEL or TRADES_CHANNEL, market)`, which is
   also the name `ExchangeSimulator.clients(stream)` finds the subscribed socket by;
2. `counts`: `lambda c: bool(c.orders)` or `bool(c.fills)`: each order or trade frame also asks for a
   balance poll (Refresh), whose REST answers are changes too but not burst frames;
3. `Bare.open`: POST /api/v2/websockets_token/ on the simulator's REST with the X-Auth v2 headers of
   streams/exchanges/bitstamp/signer.py (the answer has the token and user_id), then `bts:subscribe`
   the channel with the token (`welcome` = 1: the subscription ack); `decode`: json.loads(
   parse_float=Decimal) + a Decimal per amount_str / price_str, kept by order or trade id;
4. `Ccxt`: ccxt.pro.bitstamp with urls['api'] and urls['ws'] on the simulator; `watch_orders("BTC/USDT")`
   / `watch_my_trades("BTC/USDT")`; compare `exchange.orders` / `exchange.myTrades` with the ledger;
5. `compare_ours(store, fills, truth)`: store.orders == truth.open_orders, or the fills the sink saw
   == the burst's fills. The engine's Bitstamp session keeps its websocket token through
   streams/exchanges/bitstamp/token_store.py: check what that needs outside the test desktop.
"""

from __future__ import annotations

from streams.exchanges import EXCHANGES
from tests.benchmarks.feeds import Burst, Feed


def _not_yet(n: int, simulator: object) -> Burst:
    raise NotImplementedError("the Bitstamp feeds are a slot: see this module's docstring")


def _no_compare(store: object, fills: object, truth: object) -> tuple[bool, str]:
    raise NotImplementedError("the Bitstamp feeds are a slot")


def feeds() -> list[Feed]:
    if "bitstamp" not in EXCHANGES:
        why = "bitstamp not registered: skipped"
    else:
        why = "bitstamp registered, but its feed module is still a slot (tests/benchmarks/feeds/bitstamp.py): skipped"
    return [
        Feed(
            "bitstamp",
            "bitstamp-orders",
            "Bitstamp order events",
            "",
            50_000,
            _not_yet,
            None,
            None,
            _no_compare,
            why,
        ),
        Feed(
            "bitstamp",
            "bitstamp-trades",
            "Bitstamp trade events",
            "",
            50_000,
            _not_yet,
            None,
            None,
            _no_compare,
            why,
        ),
    ]
