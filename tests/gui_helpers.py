"""Builders for the GUI tests: domain values with sensible defaults, and entries that run nowhere."""

from __future__ import annotations

from decimal import Decimal

from streams.app import AccountEntry
from streams.config import AccountConfig
from streams.exchange import Credentials
from streams.exchanges import EXCHANGES
from streams.model import Balance, Fill, Order, OrderStatus, Side
from streams.store import Changes

T0 = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC


def bal(asset: str, total: str, available: str | None = None, locked: str = "0") -> Balance:
    if available is None:
        return Balance(asset, Decimal(total), Decimal(total) - Decimal(locked), Decimal(locked))
    return Balance(asset, Decimal(total), Decimal(available), Decimal(locked))


def order(
    order_id: str,
    price: str = "100",
    amount: str = "1",
    filled: str = "0",
    *,
    market: str = "BTC/TWD",
    side: Side = Side.BUY,
    kind: str = "limit",
    status: OrderStatus = OrderStatus.OPEN,
    created_ms: int = T0,
) -> Order:
    return Order(
        order_id,
        market,
        side,
        kind,
        Decimal(price),
        Decimal(amount),
        Decimal(filled),
        status,
        created_ms,
        created_ms,
    )


def fill(
    trade_id: str,
    time_ms: int = T0,
    *,
    order_id: str = "o1",
    market: str = "BTC/TWD",
    side: Side = Side.BUY,
    price: str = "100",
    amount: str = "0.5",
    fee: str = "0.001",
    fee_asset: str = "BTC",
    late: bool = False,
) -> Fill:
    return Fill(
        trade_id,
        order_id,
        market,
        side,
        Decimal(price),
        Decimal(amount),
        Decimal(fee),
        fee_asset,
        time_ms,
        late,
    )


def balances(*items: Balance) -> Changes:
    return Changes(balances={b.asset: b for b in items})


def entry(account_id: str = "main", label: str = "Main", error: str | None = None) -> AccountEntry:
    """A BitoPro account with dummy keys. Its controller gets a real runner that is never started:
    the tests call the controller's sink, which is the engine's path into the GUI minus the network."""
    spec = EXCHANGES["bitopro"]
    config = AccountConfig(id=account_id, exchange="bitopro", label=label)
    if error is not None:
        return AccountEntry(config, spec, error=error)
    secrets = Credentials({name: "not-a-real-secret" for name in spec.secret_fields})
    return AccountEntry(config, spec, secrets)


def save_screenshot(widget, name: str):
    """Save `widget.grab()` as `<name>.png` under $SCREENSHOT_DIR (./screenshots when it is empty);
    nothing when the variable is unset. Returns the path written, or None."""
    import os
    from pathlib import Path

    folder = os.environ.get("SCREENSHOT_DIR")
    if folder is None:
        return None
    path = Path(folder or "screenshots") / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    assert widget.grab().save(str(path), "PNG"), f"could not write {path}"
    return path
