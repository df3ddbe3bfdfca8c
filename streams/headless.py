"""`--headless`: every change as one JSON object per line on stdout (the documented contract).

Types: status, balance, order, fill. Amounts are exact decimal strings; `ts` is ISO-8601 UTC with
milliseconds. Logs go to stderr, so stdout stays machine-readable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TextIO

from streams.app import AccountEntry
from streams.engine import AccountRunner, Update
from streams.model import Balance, Fill, Order, Status, fmt, now_ms
from streams.store import Changes


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def status_line(account: str, exchange: str, status: Status) -> dict[str, object]:
    return {
        "type": "status",
        "account": account,
        "exchange": exchange,
        "state": status.state.value,
        "detail": status.detail,
        "ts": iso(status.since_ms),
    }


def balance_line(
    account: str, exchange: str, asset: str, balance: Balance | None, ts_ms: int
) -> dict[str, object]:
    """A vanished asset is printed with zero amounts."""
    zero = "0"
    return {
        "type": "balance",
        "account": account,
        "exchange": exchange,
        "asset": asset,
        "total": fmt(balance.total) if balance else zero,
        "available": fmt(balance.available) if balance else zero,
        "locked": fmt(balance.locked) if balance else zero,
        "ts": iso(ts_ms),
    }


def order_line(account: str, exchange: str, order: Order) -> dict[str, object]:
    return {
        "type": "order",
        "account": account,
        "exchange": exchange,
        "order_id": order.order_id,
        "market": order.market,
        "side": order.side.value,
        "kind": order.kind,
        "price": fmt(order.price),
        "amount": fmt(order.amount),
        "filled": fmt(order.filled),
        "status": order.status.value,
        "ts": iso(order.updated_ms),
    }


def fill_line(account: str, exchange: str, fill: Fill) -> dict[str, object]:
    return {
        "type": "fill",
        "account": account,
        "exchange": exchange,
        "order_id": fill.order_id,
        "trade_id": fill.trade_id,
        "market": fill.market,
        "side": fill.side.value,
        "price": fmt(fill.price),
        "amount": fmt(fill.amount),
        "fee": fmt(fill.fee),
        "fee_asset": fill.fee_asset,
        "ts": iso(fill.time_ms),
        "late": fill.late,
    }


def lines(account: str, exchange: str, update: Update) -> Iterator[dict[str, object]]:
    """The JSON objects one engine update prints as."""
    if isinstance(update, Status):
        yield status_line(account, exchange, update)
        return
    assert isinstance(update, Changes)
    ts = now_ms()
    for asset, balance in update.balances.items():
        yield balance_line(account, exchange, asset, balance, ts)
    for order in update.orders.values():
        yield order_line(account, exchange, order)
    for fill in update.fills:
        yield fill_line(account, exchange, fill)


def printer(account: str, exchange: str, out: TextIO) -> Callable[[Update], None]:
    def sink(update: Update) -> None:
        out.write(
            "".join(
                json.dumps(line, separators=(",", ":")) + "\n" for line in lines(account, exchange, update)
            )
        )
        out.flush()

    return sink


async def run_headless(
    entries: list[AccountEntry], duration_s: float | None, out: TextIO = sys.stdout
) -> None:
    """Run every account until `duration_s` passes or SIGINT/SIGTERM arrives."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runners = [
        AccountRunner(e.config, e.spec, e.credentials, printer(e.config.id, e.config.exchange, out))
        for e in entries
        if e.spec is not None and e.credentials is not None
    ]
    tasks = [asyncio.create_task(r.run(), name=r.account.id) for r in runners]
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), duration_s)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
