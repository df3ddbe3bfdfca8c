"""Throughput of the Coins.ph pipeline: parser + event-time gate + store on pre-built frames. Prints
figures, asserts nothing about speed.

    .venv/bin/python tests/benchmarks/coinsph_throughput.py [--frames N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from streams.exchanges.coinsph import parser
from streams.exchanges.coinsph.session import EventOrder
from streams.store import AccountStore

SYMBOLS = parser.Symbols([("BTCPHP", "BTC", "PHP"), ("ETHPHP", "ETH", "PHP")])


def position(i: int) -> str:
    return json.dumps(
        {"e": "outboundAccountPosition", "E": 1_700_000_000_000 + i, "u": 1_700_000_000_000 + i,
         "B": [{"a": "PHP", "f": f"{i}.12345678", "l": "0.50000000"}]}
    )  # fmt: skip


def report(i: int) -> str:
    """A TRADE on one of 200 orders: an order update and a new fill each time."""
    return json.dumps(
        {"e": "executionReport", "E": 1_700_000_000_000 + i, "s": "BTCPHP", "c": "x", "S": "BUY", "o": "LIMIT",
         "f": "GTC", "q": "1.00000000", "p": "3000000.00000000", "P": "0", "x": "TRADE", "X": "PARTIALLY_FILLED",
         "r": "NONE", "i": 1_241_518_645_726_809_840 + i % 200, "l": "0.00000001", "z": f"0.{i:08d}",
         "L": "3000000.00000000", "n": "0.00000000", "N": "BTC", "T": 1_700_000_000_000 + i, "t": 28_457 + i,
         "w": True, "m": True, "O": 1_700_000_000_000, "Z": "0", "Y": "0.03", "Q": "0"}
    )  # fmt: skip


def measure(name: str, frames: list[str]) -> None:
    store, gate = AccountStore(), EventOrder()
    started = time.perf_counter()
    for frame in frames:
        for event in gate(parser.parse(frame, SYMBOLS)):
            store.apply(event)
    elapsed = time.perf_counter() - started
    print(f"{name:32s} {len(frames) / elapsed:12,.0f} frames/s")


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--frames", type=int, default=100_000)
    n = options.parse_args().frames
    measure("outboundAccountPosition, 1 asset", [position(i) for i in range(n)])
    measure("executionReport TRADE (fill)", [report(i) for i in range(n)])


if __name__ == "__main__":
    main()
