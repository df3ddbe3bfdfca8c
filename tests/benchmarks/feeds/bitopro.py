"""BitoPro feeds: balance frames with one currency each, and with all the account's currencies each.

The account holds 50 currencies: the simulator's demo assets plus synthetic ones. Every frame changes
the value of every currency it lists (so every frame makes one change), amounts are exact decimal
strings, and `settle` writes the last value of each currency into the simulator's ledger.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

from streams.exchanges.bitopro import signer
from streams.model import Balance, now_ms
from streams.simulator.truth import DEMO_BALANCES, SimulatedAccount
from tests.benchmarks.feeds import Bare, Burst, Ccxt, Feed, SimInfo, compare_balances

STREAM = "account-balance"
ASSETS = [*DEMO_BALANCES, *(f"X{n:02d}" for n in range(50 - len(DEMO_BALANCES)))]


def amounts(i: int, k: int) -> tuple[str, str]:
    """Frame i's (amount, available) of asset number k: distinct per frame, exact, 100 locked."""
    return f"{1000 + i}.{k:02d}000001", f"{900 + i}.{k:02d}000001"


def frame(i: int, assets: list[tuple[int, str]], stamp: int) -> str:
    data = {}
    for k, asset in assets:
        amount, available = amounts(i, k)
        data[asset] = {
            "currency": asset,
            "amount": amount,
            "available": available,
            "stake": "0",
            "tradable": True,
        }
    return json.dumps(
        {
            "event": "ACCOUNT_BALANCE",
            "eventID": f"bench-{i}",
            "timestamp": stamp,
            "datetime": "2026-11-23T00:00:00.000Z",
            "data": data,
        },
        separators=(",", ":"),
    )


def _settle(final: dict[str, int]):
    """Set each asset to the value of the last frame that listed it (asset -> frame index)."""

    def settle(truth: SimulatedAccount) -> None:
        for asset, i in final.items():
            amount, available = (Decimal(v) for v in amounts(i, ASSETS.index(asset)))
            truth.balances[asset] = Balance(asset, amount, available, amount - available)

    return settle


def one_currency(n: int, simulator: Any = None) -> Burst:
    stamp = now_ms()
    frames = [frame(i, [(i % len(ASSETS), ASSETS[i % len(ASSETS)])], stamp) for i in range(n)]
    final = {ASSETS[i % len(ASSETS)]: i for i in range(max(0, n - len(ASSETS)), n)}
    return Burst(frames, _settle(final))


def all_currencies(n: int, simulator: Any = None) -> Burst:
    stamp = now_ms()
    listed = list(enumerate(ASSETS))
    frames = [frame(i, listed, stamp) for i in range(n)]
    return Burst(frames, _settle(dict.fromkeys(ASSETS, n - 1)))


def stamped_frame(sent_us: int, k: int) -> str:
    """For the latency benchmark: a one-currency frame whose amount is its send time in microseconds
    (exact through the parser, so the store's value says when it left the simulator)."""
    asset = ASSETS[k % len(ASSETS)]
    return json.dumps(
        {
            "event": "ACCOUNT_BALANCE",
            "eventID": f"lat-{k}",
            "timestamp": sent_us // 1000,
            "datetime": "2026-11-23T00:00:00.000Z",
            "data": {
                asset: {
                    "currency": asset,
                    "amount": str(sent_us),
                    "available": str(sent_us),
                    "stake": "0",
                    "tradable": True,
                }
            },
        },
        separators=(",", ":"),
    )


# ---------------------------------------------------------------------- bare client


async def bare_open(info: SimInfo) -> Any:
    from websockets.asyncio.client import connect

    c = info.credentials
    headers = signer.headers(c["api_key"], c["api_secret"], c["email"], now_ms())
    return await connect(f"{info.ws_url}/v1/pub/auth/{STREAM}", additional_headers=headers, max_size=2**23)


def bare_decode(text: str, state: dict[str, Any]) -> None:
    """All a client must do at the least: parse with exact decimals, keep each currency's amounts."""
    for item in json.loads(text, parse_float=Decimal)["data"].values():
        state[item["currency"]] = (Decimal(item["amount"]), Decimal(item["available"]))


def bare_compare(state: dict[str, Any], truth: SimulatedAccount) -> tuple[bool, str]:
    return compare_balances(state, truth)


# ---------------------------------------------------------------------- ccxt.pro


def ccxt_make(info: SimInfo, on_message: Any) -> Any:
    """ccxt.pro's bitopro with its websocket and REST URLs on the simulator (never a public host)."""
    import ccxt.pro

    class Counted(ccxt.pro.bitopro):
        def handle_message(self, client: Any, message: Any) -> None:
            super().handle_message(client, message)
            on_message()

        def client(self, url: str) -> Any:
            # ccxt 4.5's authenticate() puts the signed headers in options['ws']['options'], creates the
            # client (which keeps that very dict) and then puts the old headers back into it: the
            # upgrade goes out unsigned and is refused (401). Give each new client its own copy.
            if not self.clients or url not in self.clients:
                shared = self.options.get("ws")
                self.options["ws"] = copy.deepcopy(shared)
                try:
                    return super().client(url)
                finally:
                    self.options["ws"] = shared
            return super().client(url)

    c = info.credentials
    exchange = Counted({"apiKey": c["api_key"], "secret": c["api_secret"], "login": c["email"]})
    exchange.urls["api"] = {"rest": info.rest_url}
    exchange.urls["ws"] = {"public": f"{info.ws_url}/v1/pub", "private": f"{info.ws_url}/v1/pub/auth"}
    for key in ("www", "doc", "fees", "referral"):
        exchange.urls.pop(key, None)
    # load_markets reads /provisioning/trading-pairs (the simulator serves it); the currency list is
    # one more endpoint the simulator does not have, and balances need no more than the codes.
    exchange.has["fetchCurrencies"] = False
    return exchange


async def ccxt_watch(exchange: Any) -> Any:
    return await exchange.watch_balance()


def ccxt_compare(exchange: Any, truth: SimulatedAccount) -> tuple[bool, str]:
    balance = exchange.balance or {}
    held = {
        code: (entry.get("total"), entry.get("free"))
        for code, entry in balance.items()
        if isinstance(entry, dict) and code not in ("info", "free", "used", "total")
    }
    return compare_balances(held, truth)


# ---------------------------------------------------------------------- ours


def ours_compare(store: Any, fills: list[Any], truth: SimulatedAccount) -> tuple[bool, str]:
    held = {a: (b.total, b.available) for a, b in store.balances.items()}
    ok, summary = compare_balances(held, truth)
    ok = ok and store.balances == truth.balances  # locked too, exactly
    return ok, summary


BARE = Bare(bare_open, bare_decode, bare_compare)
CCXT = Ccxt(ccxt_make, ccxt_watch, ccxt_compare)

FEEDS = [
    Feed(
        "bitopro",
        "bitopro-balance-1",
        "BitoPro balance, 1 currency/frame",
        STREAM,
        50_000,
        one_currency,
        BARE,
        CCXT,
        ours_compare,
    ),
    Feed(
        "bitopro",
        "bitopro-balance-50",
        "BitoPro balance, 50 currencies/frame",
        STREAM,
        5_000,
        all_currencies,
        BARE,
        CCXT,
        ours_compare,
    ),
]
