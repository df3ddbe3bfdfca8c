"""Throughput of the BitoPro pipeline: prints figures, asserts nothing about speed.

    .venv/bin/python tests/benchmarks/throughput.py [--frames N]

1. parser + store alone, on pre-built frames (one currency per balance frame; one order per
   order frame; the ~50-currency first balance frame);
2. end to end: a BitoPro simulator in a second process bursts balance frames over a real websocket
   on 127.0.0.1; the engine (parser, store, change sink) consumes them. Frames/s is counted from the
   first to the last burst frame applied; the final state is checked against what was sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from streams.config import AccountConfig
from streams.engine import AccountRunner
from streams.exchange import Credentials
from streams.exchanges.bitopro import SPEC, parser
from streams.store import AccountStore, Changes

ASSETS = [f"C{n:02d}" for n in range(50)]


def balance_frame(i: int, assets: list[str]) -> str:
    data = {
        a: {
            "currency": a,
            "amount": f"{i}.12345678",
            "available": f"{i}.00000001",
            "stake": "0",
            "tradable": True,
        }
        for a in assets
    }
    return json.dumps(
        {
            "event": "ACCOUNT_BALANCE",
            "eventID": "x",
            "timestamp": 1_700_000_000_000 + i,
            "datetime": "2023-11-14T22:13:20.000Z",
            "data": data,
        }
    )


def order_frame(i: int) -> str:
    order = {
        "id": str(1000 + i % 200),
        "pair": "btc_usdt",
        "price": "65000.5",
        "avgExecutionPrice": "0",
        "action": "BUY",
        "type": "LIMIT",
        "timestamp": 1,
        "updatedTimestamp": 1 + i,
        "createdTimestamp": 1,
        "status": 1,
        "originalAmount": "1",
        "remainingAmount": "0.5",
        "executedAmount": f"0.{i:08d}",
        "fee": "0",
        "feeSymbol": "usdt",
        "bitoFee": "0",
        "total": "0",
        "seq": "S",
        "timeInForce": "GTC",
    }
    return json.dumps(
        {
            "event": "ACTIVE_ORDERS",
            "timestamp": 1_700_000_000_000 + i,
            "datetime": "2023-11-14T22:13:20.000Z",
            "data": {"btc_usdt": [order]},
        }
    )


def bench_bare(name: str, frames: list[str]) -> None:
    """The floor to compare with: json.loads and a Decimal per amount, nothing else."""
    started = time.perf_counter()
    for frame in frames:
        for item in json.loads(frame, parse_float=Decimal)["data"].values():
            for entry in item if isinstance(item, list) else [item]:
                for key in ("amount", "available", "price", "originalAmount", "executedAmount"):
                    if key in entry:
                        Decimal(entry[key])
    elapsed = time.perf_counter() - started
    print(f"bare baseline {name:<28} {len(frames) / elapsed:>10,.0f} frames/s  (json.loads + Decimal only)")


def bench_pure(name: str, frames: list[str]) -> None:
    store = AccountStore()
    started = time.perf_counter()
    for frame in frames:
        for event in parser.parse(frame):
            store.apply(event)
    elapsed = time.perf_counter() - started
    print(f"parser+store  {name:<28} {len(frames) / elapsed:>10,.0f} frames/s  ({len(frames)} frames)")


# ---------------------------------------------------------------------- end to end


def _simulator_process(ready: multiprocessing.Queue, go: multiprocessing.Event, frames: int) -> None:
    from streams.exchanges.bitopro.simulator import BitoProSimulator

    async def main() -> None:
        sim = BitoProSimulator(seed=1)
        await sim.start()
        ready.put((sim.ws_url, sim.rest_url, dict(sim.credentials)))
        while not go.is_set():
            await asyncio.sleep(0.01)
        [client] = sim.clients("account-balance")
        burst = [balance_frame(i, [ASSETS[i % len(ASSETS)]]) for i in range(1, frames + 1)]
        for frame in burst:
            await client.connection.send(frame)
        await asyncio.sleep(30)

    asyncio.run(main())


async def bench_end_to_end(frames: int) -> None:
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Queue()
    go = spawn.Event()
    child = spawn.Process(target=_simulator_process, args=(ready, go, frames))
    child.start()
    try:
        ws_url, rest_url, credentials = ready.get(timeout=30)
        applied: list[float] = []
        live = asyncio.Event()

        def sink(update: object) -> None:
            if isinstance(update, Changes):
                if update.balances and all(a in ASSETS for a in update.balances):
                    applied.append(time.perf_counter())
            elif update.state.value == "live":
                live.set()

        runner = AccountRunner(
            AccountConfig("bench", "bitopro", "", ws_url, rest_url), SPEC, Credentials(credentials), sink
        )
        task = asyncio.create_task(runner.run())
        await asyncio.wait_for(live.wait(), 30)
        go.set()
        last = f"{frames}.12345678"
        async with asyncio.timeout(120):
            while (
                runner.store.balances.get(ASSETS[frames % len(ASSETS)], None) is None
                or str(runner.store.balances[ASSETS[frames % len(ASSETS)]].total) != last
            ):
                await asyncio.sleep(0.005)
        elapsed = applied[-1] - applied[0]
        expected = {ASSETS[i % len(ASSETS)]: Decimal(f"{i}.12345678") for i in range(frames - 49, frames + 1)}
        exact = all(runner.store.balances[a].total == v for a, v in expected.items())
        print(
            f"end to end    {'balance frames, 1 currency':<28} {(len(applied) - 1) / elapsed:>10,.0f} frames/s  "
            f"({len(applied)} frames over loopback; final state exact: {exact}; "
            f"malformed {runner.malformed_frames}, reconnects {runner.reconnects})"
        )
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        child.terminate()
        child.join()


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--frames", type=int, default=50_000)
    n = args.parse_args().frames
    feeds = {
        "balance, 1 currency": [balance_frame(i, [ASSETS[i % 50]]) for i in range(n)],
        "balance, 50 currencies": [balance_frame(i, ASSETS) for i in range(n // 10)],
        "active orders, 1 order": [order_frame(i) for i in range(n)],
    }
    for name, frames in feeds.items():
        bench_bare(name, frames)
        bench_pure(name, frames)
    asyncio.run(bench_end_to_end(n))
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (this process)")


if __name__ == "__main__":
    main()
