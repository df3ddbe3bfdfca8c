"""The pure parts of the Coins.ph session: the event-time gate and the interval scaling."""

from decimal import Decimal

from streams.events import BalancesEvent, FillEvent, OrdersEvent, Refresh
from streams.exchanges.coinsph.session import CoinsphTiming, EventOrder
from streams.model import Balance, OrderStatus, replace
from tests.gui_helpers import fill, order


def at(order_id: str, ms: int, status=OrderStatus.OPEN, filled="0") -> OrdersEvent:
    """An order update as the parser makes it: updated_ms is the event time E."""
    return OrdersEvent((replace(order(order_id, filled=filled, status=status), updated_ms=ms),), ms)


def bal(asset: str, total: str, ms: int) -> BalancesEvent:
    return BalancesEvent((Balance(asset, Decimal(total), Decimal(total), Decimal(0)),), ms)


def test_older_order_updates_are_dropped_newer_and_equal_pass():
    gate = EventOrder()
    filled = at("1", 3_000, OrderStatus.FILLED, "1")
    assert gate([filled]) == [filled]
    assert gate([at("1", 2_000)]) == []  # the delayed NEW: would re-open a filled order
    same = at("1", 3_000, OrderStatus.FILLED, "1")
    assert gate([same]) == [same]  # the same event twice (two sockets during a switch)
    assert gate([at("2", 1_000)]) == [at("2", 1_000)]  # another order has its own clock
    assert gate.dropped == 1


def test_fills_snapshots_and_other_events_always_pass():
    gate = EventOrder()
    gate([at("1", 5_000)])
    late_fill = FillEvent(fill("t", 4_000, order_id="1"), 4_000)
    snapshot = OrdersEvent((replace(order("1"), updated_ms=1),), 1, complete=True)
    refresh = Refresh(balances=True, time_ms=1)
    assert gate([late_fill, snapshot, refresh]) == [late_fill, snapshot, refresh]


def test_balance_positions_per_asset():
    gate = EventOrder()
    assert gate([bal("BTC", "2", 10)]) == [bal("BTC", "2", 10)]
    assert gate([bal("BTC", "1", 9)]) == []
    both = BalancesEvent(
        (
            Balance("BTC", Decimal(3), Decimal(3), Decimal(0)),
            Balance("ETH", Decimal(1), Decimal(1), Decimal(0)),
        ),
        8,
    )
    [passed] = gate([both])
    assert [b.asset for b in passed.balances] == ["ETH"]


def test_memory_is_bounded():
    gate = EventOrder(remembered=2)
    for i in range(3):
        gate([at(str(i), 10)])
    assert gate([at("0", 5)]) == [at("0", 5)]  # forgotten: passes
    assert gate([at("2", 5)]) == []


def test_faster_divides_every_interval():
    fast = CoinsphTiming().faster(1_000)
    assert (fast.ping_s, fast.keepalive_s, fast.max_age_s) == (0.06, 1.8, 85.8)
    assert fast.key_spacing_s == 0.06 and fast.keepalive_retry_s == 0.06
    assert CoinsphTiming().max_age_s < 86_400 and CoinsphTiming().keepalive_s < 3_600 / 2 + 1
