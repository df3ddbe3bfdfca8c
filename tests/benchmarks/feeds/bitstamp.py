"""SLOT: Bitstamp feeds (order events on private-my_orders_<market>-<user>, trade events on
private-my_trades_<market>-<user>; ccxt.pro bitstamp watch_orders / watch_my_trades).

Bitstamp's connector (streams/exchanges/bitstamp/, issue 6) is built on another branch. Until it is
merged and registered, these feeds are listed and skipped with the reason. To fill the slot once it is:
1. `burst(n)`: n `order_created`/`order_changed` frames (orders feed) or n `trade` frames (trades feed)
   for one market, built like the simulator renders them, and a `settle` that writes the final orders /
   fills into the ledger;
2. `STREAM`: the simulator stream name of that channel (what `ExchangeSimulator.clients(stream)` uses);
3. `Bare.open`: POST /api/v2/websockets_token/ on the simulator's REST, then `bts:subscribe` with the
   token; `decode`: json.loads(parse_float=Decimal) + a Decimal per amount, kept by order / trade id;
4. `Ccxt`: ccxt.pro.bitstamp with urls['api'] and urls['ws'] on the simulator; `watch_orders(symbol)` /
   `watch_my_trades(symbol)`;
5. `compare_ours`: store.orders == truth.open_orders, or the fills seen == truth.fills.
"""

from __future__ import annotations

from streams.exchanges import EXCHANGES
from tests.benchmarks.feeds import Burst, Feed


def _not_yet(n: int) -> Burst:
    raise NotImplementedError("the Bitstamp feeds are a slot: see this module's docstring")


def _no_compare(store: object, truth: object) -> tuple[bool, str]:
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
