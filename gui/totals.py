"""Balances of all accounts summed per asset, exactly."""

from __future__ import annotations

import decimal
from collections.abc import Iterable

from streams.model import Balance


def sum_balances(accounts: Iterable[Iterable[Balance]]) -> dict[str, Balance]:
    """Per-asset totals across accounts. The context's precision is lifted so no sum is rounded: the
    default 28 digits would round e.g. 12345678901234567890.123456789 + 0.000000001."""
    sums: dict[str, tuple[decimal.Decimal, decimal.Decimal, decimal.Decimal]] = {}
    with decimal.localcontext() as ctx:
        ctx.prec = decimal.MAX_PREC
        ctx.traps[decimal.Inexact] = True  # cannot happen at this precision; fail loudly if it ever did
        for balances in accounts:
            for b in balances:
                total, available, locked = sums.get(b.asset, (decimal.Decimal(0),) * 3)
                sums[b.asset] = (total + b.total, available + b.available, locked + b.locked)
    return {asset: Balance(asset, *values) for asset, values in sorted(sums.items())}
