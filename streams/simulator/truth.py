"""The exchange-neutral truth of one simulated account: balances, open orders and fills.

Every exchange simulator renders this same truth in its own wire format, so a test can make a fill
here and check that each exchange's client sees the same thing. The account behaves like a real
matching engine's ledger: placing an order locks funds, cancelling unlocks them, a fill moves base
and quote and charges a fee, and no operation can drive a balance negative.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from streams.model import Balance, Fill, Order, OrderStatus, Side, now_ms, replace

Change = Balance | Order | Fill
Listener = Callable[[Change], None]

STEP = Decimal("0.00000001")  # every amount is kept to 8 decimal places
FEE_RATE = Decimal("0.001")  # 0.1 %, charged in the asset the account receives
ZERO = Decimal(0)

# Markets random_step trades on, with a plausible price for each.
DEMO_MARKETS: dict[str, Decimal] = {
    "BTC/USDT": Decimal("65000"),
    "ETH/USDT": Decimal("3200"),
    "SOL/USDT": Decimal("150"),
    "BITO/TWD": Decimal("0.35"),
    "USDT/TWD": Decimal("32.1"),
}

DEMO_BALANCES: dict[str, Decimal] = {
    "BTC": Decimal("1.5"),
    "ETH": Decimal("12"),
    "SOL": Decimal("300"),
    "USDT": Decimal("25000"),
    "TWD": Decimal("500000"),
    "BITO": Decimal("40000"),
}


class InsufficientFunds(ValueError):
    """The account cannot afford the order (available balance too small)."""


def q(amount: Decimal, rounding: str = ROUND_DOWN) -> Decimal:
    """`amount` to 8 decimal places; rounding down by default so nothing is created from rounding."""
    return amount.quantize(STEP, rounding=rounding)


def to_decimal(value: Decimal | int | str) -> Decimal:
    """A Decimal from a Decimal, int or decimal string; floats are refused (they are not exact)."""
    if isinstance(value, float | bool):
        raise TypeError(f"amounts must be Decimal, int or str, not {type(value).__name__}")
    return Decimal(value)


def split_market(market: str) -> tuple[str, str]:
    """`"BTC/USDT"` -> `("BTC", "USDT")`."""
    base, sep, quote = market.upper().partition("/")
    if not sep or not base or not quote or base == quote or "/" in quote:
        raise ValueError(f"market must look like BASE/QUOTE, not {market!r}")
    return base, quote


class SimulatedAccount:
    """One account's ledger. Mutate it only through its methods: they keep
    `total == available + locked` for every asset and report each change to the listeners.

    `order_id` and `trade_id` make new ids; by default numeric order ids and UUID trade ids, both
    derived from `seed` so a run is repeatable.
    """

    def __init__(
        self,
        seed: int = 1,
        *,
        order_id: Callable[[], str] | None = None,
        trade_id: Callable[[], str] | None = None,
    ) -> None:
        self.balances: dict[str, Balance] = {}
        self.open_orders: dict[str, Order] = {}
        self.orders: dict[str, Order] = {}  # every order ever placed, in its latest state
        self.fills: list[Fill] = []
        self._ids = random.Random(seed)
        self._next_order = 1_000_000_000 + self._ids.randrange(10**9)
        self._new_order_id = order_id or self._default_order_id
        self._new_trade_id = trade_id or self._default_trade_id
        self._reserved: dict[str, Decimal] = {}  # order id -> funds it still holds locked
        self._quote: dict[str, Decimal] = {}  # trade id -> quote amount that changed hands
        self._listeners: list[Listener] = []

    # ---- ids and listeners -------------------------------------------------------------------

    def _default_order_id(self) -> str:
        self._next_order += self._ids.randint(1, 97)  # gaps: other users' orders in between
        return str(self._next_order)

    def _default_trade_id(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def add_listener(self, callback: Listener) -> None:
        """`callback(change)` runs after every change, with the new Balance, Order or Fill."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Listener) -> None:
        self._listeners.remove(callback)

    def _emit(self, *changes: Change) -> None:
        for change in changes:
            for listener in list(self._listeners):
                listener(change)

    # ---- queries -----------------------------------------------------------------------------

    def balance(self, asset: str) -> Balance:
        """The balance of `asset`, zero if the account never held it."""
        asset = asset.upper()
        return self.balances.get(asset) or Balance(asset, ZERO, ZERO, ZERO)

    def locked_in_orders(self, asset: str) -> Decimal:
        """What the open orders hold locked of `asset` (the rest of `locked` was set by hand)."""
        asset = asset.upper()
        return sum(
            (self._reserved[oid] for oid, order in self.open_orders.items() if _locks(order) == asset),
            ZERO,
        )

    def quote_amount(self, trade_id: str) -> Decimal:
        """The quote that changed hands in one fill (paid for a buy, received before fee for a sell)."""
        return self._quote[trade_id]

    def fills_of(self, order_id: str) -> list[Fill]:
        return [fill for fill in self.fills if fill.order_id == order_id]

    # ---- changes -----------------------------------------------------------------------------

    def set_balance(
        self,
        asset: str,
        total: Decimal | int | str,
        available: Decimal | int | str | None = None,
        locked: Decimal | int | str | None = None,
    ) -> Balance:
        """Set an asset outright (a deposit, a withdrawal, a test's starting point).

        Leave out `available` and `locked` to keep exactly the open orders' funds locked. `locked` may
        exceed what orders hold (funds held for other reasons), never fall below it.
        """
        asset = asset.upper()
        total = q(to_decimal(total))
        in_orders = self.locked_in_orders(asset)
        if locked is None:
            locked = total - q(to_decimal(available)) if available is not None else in_orders
        locked = q(to_decimal(locked))
        available = q(to_decimal(available)) if available is not None else total - locked
        if total != available + locked:
            raise ValueError(f"{asset}: total {total} != available {available} + locked {locked}")
        if min(total, available, locked) < 0:
            raise ValueError(f"{asset}: balances cannot be negative")
        if locked < in_orders:
            raise ValueError(f"{asset}: locked {locked} is less than the {in_orders} open orders hold")
        balance = Balance(asset, total, available, locked)
        self.balances[asset] = balance
        self._emit(balance)
        return balance

    def place_order(
        self,
        market: str,
        side: Side | str,
        price: Decimal | int | str,
        amount: Decimal | int | str,
        kind: str = "limit",
    ) -> Order:
        """Open an order and lock what it may spend: quote for a buy, base for a sell."""
        base, quote = split_market(market)
        side = Side(side)
        price, amount = q(to_decimal(price)), q(to_decimal(amount))
        if price <= 0 or amount <= 0:
            raise ValueError("price and amount must be positive (at 8 decimal places)")
        asset, cost = (quote, q(price * amount, ROUND_UP)) if side is Side.BUY else (base, amount)
        held = self.balance(asset)
        if held.available < cost:
            raise InsufficientFunds(f"{asset}: {cost} needed, {held.available} available")
        stamp = now_ms()
        order = Order(
            order_id=self._new_order_id(),
            market=f"{base}/{quote}",
            side=side,
            kind=kind.lower(),
            price=price,
            amount=amount,
            filled=ZERO,
            status=OrderStatus.OPEN,
            created_ms=stamp,
            updated_ms=stamp,
        )
        balance = self._shift(asset, available=-cost, locked=cost)
        self.open_orders[order.order_id] = order
        self.orders[order.order_id] = order
        self._reserved[order.order_id] = cost
        self._emit(order, balance)
        return order

    def cancel_order(self, order_id: str) -> Order:
        """Close an open order and give back the funds it still held."""
        order = self._open(order_id)
        released = self._reserved.pop(order_id)
        del self.open_orders[order_id]
        order = replace(order, status=OrderStatus.CANCELLED, updated_ms=now_ms())
        self.orders[order_id] = order
        balance = self._shift(_locks(order), available=released, locked=-released)
        self._emit(order, balance)
        return order

    def fill_order(self, order_id: str, amount: Decimal | int | str | None = None) -> Fill:
        """Match `amount` (default: all that remains) of an open order at its price.

        A buy pays quote out of its lock and receives base minus the fee; a sell pays base out of its
        lock and receives quote minus the fee. The fee is 0.1 % of what is received, rounded up.
        """
        order = self._open(order_id)
        remaining = order.amount - order.filled
        amount = remaining if amount is None else q(to_decimal(amount))
        if not ZERO < amount <= remaining:
            raise ValueError(f"fill amount must be in (0, {remaining}], not {amount}")
        filled = order.filled + amount
        done = filled == order.amount
        quote_amount = self._quote_for(order, amount)
        base, quote = split_market(order.market)
        stamp = now_ms()
        if order.side is Side.BUY:
            received, fee_asset = amount, base
        else:
            received, fee_asset = quote_amount, quote
        fee = min(q(received * FEE_RATE, ROUND_UP), received)
        fill = Fill(
            trade_id=self._new_trade_id(),
            order_id=order_id,
            market=order.market,
            side=order.side,
            price=order.price,
            amount=amount,
            fee=fee,
            fee_asset=fee_asset,
            time_ms=stamp,
        )
        self.fills.append(fill)
        self._quote[fill.trade_id] = quote_amount
        order = replace(
            order,
            filled=filled,
            status=OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED,
            updated_ms=stamp,
        )
        paid = amount if order.side is Side.SELL else quote_amount
        refund = self._settle(order_id, paid, done)
        self.orders[order_id] = order
        if done:
            del self.open_orders[order_id]
        else:
            self.open_orders[order_id] = order
        spent_asset = _locks(order)
        spent = self._shift(spent_asset, total=-paid, locked=-paid - refund, available=refund)
        got = self._shift(fee_asset, total=received - fee, available=received - fee)
        self._emit(fill, order, spent, got)
        return fill

    def _quote_for(self, order: Order, amount: Decimal) -> Decimal:
        """Quote value of filling `amount` more of `order`.

        For buys the cost telescopes (cost of everything filled after, minus before, each rounded up
        as the lock was) so the fills of an order add up exactly to what it locked.
        """
        if order.side is Side.SELL:
            return q(order.price * amount)
        before = q(order.price * order.filled, ROUND_UP)
        return q(order.price * (order.filled + amount), ROUND_UP) - before

    def _settle(self, order_id: str, paid: Decimal, done: bool) -> Decimal:
        """Take `paid` out of the order's lock; returns what is left over to unlock when it is done."""
        left = self._reserved[order_id] - paid
        if left < 0:  # cannot happen with the telescoping cost; guard the invariant anyway
            raise AssertionError(f"order {order_id} spent more than it locked")
        if done:
            del self._reserved[order_id]
            return left
        self._reserved[order_id] = left
        return ZERO

    def _open(self, order_id: str) -> Order:
        try:
            return self.open_orders[order_id]
        except KeyError:
            raise KeyError(f"no open order {order_id!r}") from None

    def _shift(
        self, asset: str, *, total: Decimal = ZERO, available: Decimal = ZERO, locked: Decimal = ZERO
    ) -> Balance:
        """Apply deltas to one asset, refusing to go negative or break total == available + locked."""
        old = self.balance(asset)
        new = Balance(asset, old.total + total, old.available + available, old.locked + locked)
        if new.total != new.available + new.locked:
            raise AssertionError(f"{asset}: unbalanced change {total} != {available} + {locked}")
        if min(new.total, new.available, new.locked) < 0:
            raise AssertionError(f"{asset}: change would make a balance negative: {new}")
        self.balances[asset] = new
        return new

    # ---- demo activity -----------------------------------------------------------------------

    def populate_demo(self) -> None:
        """Starting balances on the demo markets and two resting orders, so a client sees something."""
        for asset, total in DEMO_BALANCES.items():
            self.set_balance(asset, total)
        self.place_order("SOL/USDT", Side.SELL, "160", "2")
        self.place_order("BTC/USDT", Side.BUY, "60000", "0.05")

    def random_step(self, rng: random.Random) -> str:
        """One plausible piece of account activity; returns what it did ("place", "cancel",
        "partial_fill", "fill", "deposit" or "idle"). Never overspends."""
        actions = ["place", "deposit"]
        if self.open_orders:
            actions += ["cancel", "partial_fill", "fill", "fill"]
        if len(self.open_orders) < 3:
            actions += ["place", "place"]
        action = rng.choice(actions)
        if action == "place":
            return "place" if self._random_order(rng) else "idle"
        if action == "deposit":
            asset = rng.choice(sorted(DEMO_BALANCES))
            old = self.balance(asset)
            gift = q(DEMO_BALANCES[asset] * Decimal(rng.randint(1, 50)) / 1000)
            self.set_balance(asset, old.total + gift, old.available + gift, old.locked)
            return "deposit"
        order = self.open_orders[rng.choice(sorted(self.open_orders))]
        if action == "cancel":
            self.cancel_order(order.order_id)
            return "cancel"
        remaining = order.amount - order.filled
        part = q(remaining * Decimal(rng.randint(10, 90)) / 100)
        if action == "partial_fill" and ZERO < part < remaining:
            self.fill_order(order.order_id, part)
            return "partial_fill"
        self.fill_order(order.order_id)
        return "fill"

    def _random_order(self, rng: random.Random) -> Order | None:
        """A limit order near the demo price for up to a tenth of what is available."""
        market = rng.choice(sorted(DEMO_MARKETS))
        base, quote = split_market(market)
        side = rng.choice([Side.BUY, Side.SELL])
        ref = DEMO_MARKETS[market]
        price = q(ref * Decimal(rng.randint(950, 1050)) / 1000, ROUND_DOWN).normalize()
        share = Decimal(rng.randint(1, 100)) / 1000
        if side is Side.BUY:
            amount = q(self.balance(quote).available * share / price)
        else:
            amount = q(self.balance(base).available * share)
        amount = _round_size(amount)
        if amount <= 0:
            return None
        try:
            return self.place_order(market, side, price, amount)
        except InsufficientFunds:  # rounding at the edge of a tiny balance
            return None


def _locks(order: Order) -> str:
    """The asset an open order holds locked: quote for a buy, base for a sell."""
    base, quote = split_market(order.market)
    return quote if order.side is Side.BUY else base


def _round_size(amount: Decimal) -> Decimal:
    """Cut an order size to 4 significant digits, like a person would type it."""
    if amount <= 0:
        return ZERO
    exponent = amount.adjusted() - 3
    return q(amount.scaleb(-exponent).to_integral_value(ROUND_DOWN).scaleb(exponent))
