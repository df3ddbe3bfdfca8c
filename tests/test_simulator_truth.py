"""SimulatedAccount keeps a real exchange's ledger rules: locks, fees, no negative balances."""

from __future__ import annotations

import contextlib
import random
from decimal import ROUND_DOWN, ROUND_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from streams.model import Balance, Fill, Order, OrderStatus, Side
from streams.simulator.truth import InsufficientFunds, SimulatedAccount

D = Decimal
CENT = D("0.00000001")


def account(**balances: str) -> tuple[SimulatedAccount, list[object]]:
    truth = SimulatedAccount(seed=3)
    for asset, total in balances.items():
        truth.set_balance(asset, total)
    changes: list[object] = []
    truth.add_listener(changes.append)
    return truth, changes


def check_consistent(truth: SimulatedAccount) -> None:
    """total == available + locked, nothing negative, and orders hold exactly what is locked."""
    for asset, b in truth.balances.items():
        assert b.total == b.available + b.locked, b
        assert min(b.total, b.available, b.locked) >= 0, b
        assert b.locked == truth.locked_in_orders(asset), b
    for order in truth.open_orders.values():
        assert order.status.is_open
        assert sum((f.amount for f in truth.fills_of(order.order_id)), D(0)) == order.filled


def check_fill_adds_up(truth: SimulatedAccount, before: dict[str, Balance], fill: Fill) -> None:
    """The balance changes of one fill are exactly what the fill says moved."""
    base, quote = fill.market.split("/")
    quote_amount = truth.quote_amount(fill.trade_id)
    delta = {a: truth.balance(a).total - (before[a].total if a in before else 0) for a in (base, quote)}
    if fill.side is Side.BUY:
        assert fill.fee_asset == base
        assert fill.fee == (fill.amount * D("0.001")).quantize(CENT, ROUND_UP)
        assert delta == {base: fill.amount - fill.fee, quote: -quote_amount}
        assert abs(quote_amount - fill.price * fill.amount) < CENT
    else:
        assert fill.fee_asset == quote
        assert quote_amount == (fill.price * fill.amount).quantize(CENT, ROUND_DOWN)
        assert delta == {base: -fill.amount, quote: quote_amount - fill.fee}


def test_buy_locks_quote_and_sell_locks_base() -> None:
    truth, changes = account(USDT="1000", SOL="5")
    buy = truth.place_order("SOL/USDT", "buy", "150", "2")
    sell = truth.place_order("sol/usdt", Side.SELL, "160", "1.5")
    assert truth.balance("USDT") == Balance("USDT", D(1000), D(700), D(300))
    assert truth.balance("SOL") == Balance("SOL", D(5), D("3.5"), D("1.5"))
    assert [type(c) for c in changes] == [Order, Balance, Order, Balance]
    assert buy.status is OrderStatus.OPEN and sell.market == "SOL/USDT"
    assert set(truth.open_orders) == {buy.order_id, sell.order_id}


def test_order_beyond_available_is_refused_without_a_change() -> None:
    truth, changes = account(USDT="100")
    with pytest.raises(InsufficientFunds):
        truth.place_order("BTC/USDT", "buy", "60000", "0.01")
    with pytest.raises(InsufficientFunds):
        truth.place_order("BTC/USDT", "sell", "60000", "0.01")
    assert changes == [] and truth.open_orders == {}


def test_cancel_unlocks_what_the_order_still_held() -> None:
    truth, changes = account(USDT="1000")
    order = truth.place_order("SOL/USDT", "buy", "150", "2")
    truth.fill_order(order.order_id, "0.5")
    changes.clear()
    cancelled = truth.cancel_order(order.order_id)
    assert cancelled.status is OrderStatus.CANCELLED and cancelled.filled == D("0.5")
    assert truth.balance("USDT") == Balance("USDT", D(925), D(925), D(0))
    assert changes == [cancelled, truth.balance("USDT")]
    assert order.order_id not in truth.open_orders
    with pytest.raises(KeyError):
        truth.cancel_order(order.order_id)


def test_partial_then_full_fill_moves_assets_and_charges_the_fee_in_the_received_asset() -> None:
    truth, changes = account(USDT="1000")
    order = truth.place_order("SOL/USDT", "buy", "150", "2")
    changes.clear()
    first = truth.fill_order(order.order_id, "0.5")
    assert (first.amount, first.fee, first.fee_asset) == (D("0.5"), D("0.0005"), "SOL")
    assert [type(c) for c in changes] == [Fill, Order, Balance, Balance]
    assert truth.open_orders[order.order_id].status is OrderStatus.PARTIALLY_FILLED
    second = truth.fill_order(order.order_id)
    assert second.amount == D("1.5")
    assert truth.balance("USDT") == Balance("USDT", D(700), D(700), D(0))
    assert truth.balance("SOL").total == D(2) - D("0.002")
    assert truth.orders[order.order_id].status is OrderStatus.FILLED
    assert order.order_id not in truth.open_orders
    filled = [c for c in changes if isinstance(c, Order)]
    assert [o.status for o in filled] == [OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED]


def test_sell_fill_pays_quote_minus_fee() -> None:
    truth, _ = account(BTC="1")
    order = truth.place_order("BTC/USDT", "sell", "60000", "0.25")
    fill = truth.fill_order(order.order_id)
    assert (fill.fee, fill.fee_asset) == (D("15"), "USDT")
    assert truth.balance("USDT") == Balance("USDT", D(14985), D(14985), D(0))
    assert truth.balance("BTC") == Balance("BTC", D("0.75"), D("0.75"), D(0))


def test_fills_of_an_awkward_price_add_up_to_exactly_the_lock() -> None:
    truth, _ = account(USDT="10")
    order = truth.place_order("BITO/USDT", "buy", "0.33333333", "1")
    for _ in range(2):
        truth.fill_order(order.order_id, "0.33333333")
    truth.fill_order(order.order_id)
    usdt = truth.balance("USDT")
    assert usdt.locked == 0 and usdt.total == usdt.available == D(10) - D("0.33333333")


def test_fill_amount_must_fit_the_order() -> None:
    truth, _ = account(USDT="1000")
    order = truth.place_order("SOL/USDT", "buy", "150", "2")
    for bad in ("0", "2.00000001", "-1"):
        with pytest.raises(ValueError):
            truth.fill_order(order.order_id, bad)


def test_set_balance_checks_its_arguments() -> None:
    truth, changes = account()
    assert truth.set_balance("btc", "2", "1.5", "0.5") == Balance("BTC", D(2), D("1.5"), D("0.5"))
    assert changes == [truth.balance("BTC")]
    with pytest.raises(ValueError):
        truth.set_balance("BTC", "2", "1", "0.5")
    with pytest.raises(TypeError):
        truth.set_balance("BTC", 2.0)  # type: ignore[arg-type]
    truth.set_balance("USDT", "1000")
    truth.place_order("SOL/USDT", "buy", "100", "2")
    with pytest.raises(ValueError, match="open orders hold"):
        truth.set_balance("USDT", "1000", "1000", "0")
    assert truth.set_balance("USDT", "500").locked == D(200)


def test_ids_are_unique_and_repeat_with_the_seed() -> None:
    def run(seed: int) -> list[str]:
        truth = SimulatedAccount(seed)
        truth.populate_demo()
        rng = random.Random(seed)
        for _ in range(200):
            truth.random_step(rng)
        return list(truth.orders) + [f.trade_id for f in truth.fills]

    first = run(5)
    assert first == run(5) and first != run(6)
    assert len(set(first)) == len(first)


@settings(max_examples=40, deadline=None, database=None)
@given(seed=st.integers(0, 2**32), steps=st.integers(1, 150))
def test_random_steps_keep_the_ledger_consistent(seed: int, steps: int) -> None:
    truth = SimulatedAccount(seed)
    truth.populate_demo()
    rng = random.Random(seed)
    for _ in range(steps):
        before, fills = dict(truth.balances), len(truth.fills)
        truth.random_step(rng)
        check_consistent(truth)
        assert len(truth.fills) - fills <= 1
        if len(truth.fills) > fills:
            check_fill_adds_up(truth, before, truth.fills[-1])


MARKETS = ["BTC/USDT", "SOL/USDT", "BITO/TWD", "USDT/TWD"]
amounts = st.decimals(min_value=D("0.00000001"), max_value=D("5"), places=8)
prices = st.decimals(min_value=D("0.00000001"), max_value=D("70000"), places=8)


class Ledger(RuleBasedStateMachine):
    """Arbitrary operations, including ones that must be refused, never break the ledger."""

    def __init__(self) -> None:
        super().__init__()
        self.truth = SimulatedAccount(seed=1)
        for asset, total in {"BTC": "2", "USDT": "5000", "SOL": "10", "TWD": "90000", "BITO": "50"}.items():
            self.truth.set_balance(asset, total)

    @rule(market=st.sampled_from(MARKETS), side=st.sampled_from(list(Side)), price=prices, amount=amounts)
    def place(self, market: str, side: Side, price: Decimal, amount: Decimal) -> None:
        with contextlib.suppress(InsufficientFunds):
            self.truth.place_order(market, side, price, amount)

    @precondition(lambda self: self.truth.open_orders)
    @rule(pick=st.integers(0, 10**6))
    def cancel(self, pick: int) -> None:
        orders = sorted(self.truth.open_orders)
        self.truth.cancel_order(orders[pick % len(orders)])

    @precondition(lambda self: self.truth.open_orders)
    @rule(pick=st.integers(0, 10**6), share=st.integers(1, 100))
    def fill(self, pick: int, share: int) -> None:
        orders = sorted(self.truth.open_orders)
        order = self.truth.open_orders[orders[pick % len(orders)]]
        amount = ((order.amount - order.filled) * share / 100).quantize(CENT)
        if amount <= 0:
            return
        before = dict(self.truth.balances)
        fill = self.truth.fill_order(order.order_id, amount)
        check_fill_adds_up(self.truth, before, fill)

    @rule(asset=st.sampled_from(["BTC", "USDT", "TWD"]), gift=amounts)
    def deposit(self, asset: str, gift: Decimal) -> None:
        old = self.truth.balance(asset)
        self.truth.set_balance(asset, old.total + gift, old.available + gift, old.locked)

    @invariant()
    def consistent(self) -> None:
        check_consistent(self.truth)


TestLedger = Ledger.TestCase
TestLedger.settings = settings(max_examples=40, stateful_step_count=30, deadline=None, database=None)
