"""The account store: snapshots, upserts, closed orders, and fills counted exactly once."""

from decimal import Decimal

from streams.events import BalancesEvent, FillEvent, OrdersEvent, UnknownEvent
from streams.model import Balance, Fill, Order, OrderStatus, Side, replace
from streams.store import AccountStore

D = Decimal


def bal(asset, total, available="0"):
    return Balance(asset, D(total), D(available), D(total) - D(available))


def order(order_id, status=OrderStatus.OPEN, filled="0", amount="1"):
    return Order(order_id, "BTC/USDT", Side.BUY, "limit", D("100"), D(amount), D(filled), status, 1, 1)


def fill(trade_id, order_id="o1", amount="0.5", time_ms=1_000, late=False):
    return Fill(trade_id, order_id, "BTC/USDT", Side.BUY, D("100"), D(amount), D("0"), "BTC", time_ms, late)


def test_balance_upsert_reports_only_changes():
    store = AccountStore()
    assert store.apply(BalancesEvent((bal("BTC", "1"), bal("ETH", "2")), 1)).balances.keys() == {"BTC", "ETH"}
    changes = store.apply(BalancesEvent((bal("BTC", "1"), bal("ETH", "3")), 2))
    assert changes.balances == {"ETH": bal("ETH", "3")}
    assert not store.apply(BalancesEvent((bal("BTC", "1"),), 3))


def test_complete_balance_snapshot_removes_missing_assets():
    store = AccountStore()
    store.apply(BalancesEvent((bal("BTC", "1"), bal("ETH", "2")), 1))
    changes = store.apply(BalancesEvent((bal("BTC", "1"),), 2, complete=True))
    assert changes.balances == {"ETH": None}
    assert set(store.balances) == {"BTC"}


def test_closed_order_leaves_the_open_set():
    store = AccountStore()
    store.apply(OrdersEvent((order("o1"), order("o2")), 1))
    changes = store.apply(OrdersEvent((order("o1", OrderStatus.FILLED, filled="1"),), 2))
    assert changes.orders["o1"].status is OrderStatus.FILLED
    assert set(store.orders) == {"o2"}
    # an unknown order arriving already closed changes nothing
    assert not store.apply(OrdersEvent((order("o9", OrderStatus.CANCELLED),), 3))


def test_order_missing_from_snapshot_is_closed_as_filled_or_cancelled():
    store = AccountStore()
    store.apply(OrdersEvent((order("o1", OrderStatus.PARTIALLY_FILLED, filled="0.5"), order("o2")), 1))
    store.apply(FillEvent(fill("t1", "o1", "0.5", late=True), 5))  # the rest of o1 filled during a gap
    changes = store.apply(OrdersEvent((), 10, complete=True))
    assert changes.orders["o2"].status is OrderStatus.CANCELLED
    assert store.orders == {}


def test_late_fill_moves_its_order():
    store = AccountStore()
    store.apply(OrdersEvent((order("o1"),), 1))
    changes = store.apply(FillEvent(fill("t1", "o1", "0.4", late=True), 5))
    assert changes.orders["o1"].filled == D("0.4")
    assert changes.orders["o1"].status is OrderStatus.PARTIALLY_FILLED
    changes = store.apply(FillEvent(fill("t2", "o1", "0.6", late=True), 6))
    assert changes.orders["o1"].status is OrderStatus.FILLED and "o1" not in store.orders


def test_fill_reported_once_by_trade_id():
    store = AccountStore()
    assert store.apply(FillEvent(fill("t1"), 1)).fills == [fill("t1")]
    assert not store.apply(FillEvent(fill("t1"), 2))
    assert store.last_fill_ms == 1_000


def test_fill_ids_that_differ_between_stream_and_rest_are_matched():
    store = AccountStore(match_fills_across_sources=True)
    assert store.apply(FillEvent(fill("uuid-a", time_ms=1_200), 1)).fills
    # the same fill from REST: another id, same order, price, amount and second
    assert not store.apply(FillEvent(fill("12345", time_ms=1_700, late=True), 2))
    # a second, genuinely new fill of the same shape is not swallowed
    assert store.apply(FillEvent(fill("12346", time_ms=1_900, late=True), 3)).fills
    # ... and its stream copy arriving afterwards is matched the other way round
    assert not store.apply(FillEvent(fill("uuid-b", time_ms=1_950), 4))


def test_exchanges_with_one_id_kind_do_not_match_by_shape():
    store = AccountStore()
    store.apply(FillEvent(fill("a", time_ms=1_200), 1))
    assert store.apply(FillEvent(replace(fill("b", time_ms=1_200), late=True), 2)).fills


def test_unknown_event_changes_nothing():
    assert not AccountStore().apply(UnknownEvent("X"))


def test_fills_waiting_for_a_twin_are_forgotten_ten_minutes_behind_the_newest():
    """Recovery asks REST for fills since the newest one seen (less seconds): a stream fill ten
    minutes older than that can never meet its twin, so it is not kept."""
    store = AccountStore(match_fills_across_sources=True)
    for n in range(5):
        store.apply(FillEvent(fill(f"uuid-{n}", amount=f"0.{n + 1:02d}", time_ms=1_000 * n), n))
    assert len(store._unmatched[False]) == 5
    store.apply(FillEvent(fill("uuid-later", amount="0.5", time_ms=602_500), 9))
    assert list(store._unmatched[False]) == [
        ("o1", D("100"), D("0.03"), 2),
        ("o1", D("100"), D("0.04"), 3),
        ("o1", D("100"), D("0.05"), 4),
        ("o1", D("100"), D("0.5"), 602),
    ]


def test_fills_waiting_for_a_twin_from_the_other_source_are_bounded(monkeypatch):
    """Each BitoPro stream fill waits for its REST twin, which only a reconnect brings: the waiting
    list keeps the newest ones only (a day's fills many times over), so a long session does not leak."""
    monkeypatch.setattr("streams.store._SEEN_FILLS_KEPT", 10)
    store = AccountStore(match_fills_across_sources=True)
    for n in range(25):
        store.apply(FillEvent(fill(f"uuid-{n}", amount=f"0.{n + 1:02d}", time_ms=1_000 * n), n))
    assert len(store._unmatched[False]) == 10
    # the newest still find their twin; a matched pair leaves nothing behind
    assert not store.apply(FillEvent(fill("rest-24", amount="0.25", time_ms=24_400, late=True), 30))
    assert len(store._unmatched[False]) == 9 and not store._unmatched[True]
    # the oldest were forgotten: its REST copy now counts as a fill of its own
    assert store.apply(FillEvent(fill("rest-0", amount="0.01", time_ms=300, late=True), 31)).fills


def test_a_snapshot_without_update_times_does_not_move_an_order_back_in_time():
    """Bitstamp's REST gives an order's creation time only: re-reading it after the stream reported a
    later change is no change, and a real change keeps the later time."""
    store = AccountStore()
    streamed = replace(order("o1", OrderStatus.PARTIALLY_FILLED, filled="0.2"), updated_ms=5_000)
    store.apply(OrdersEvent((streamed,), 5_000))
    from_rest = replace(streamed, updated_ms=1)
    assert not store.apply(OrdersEvent((from_rest,), 6_000, complete=True))
    assert store.orders["o1"].updated_ms == 5_000
    moved = replace(from_rest, filled=D("0.3"))
    changes = store.apply(OrdersEvent((moved,), 7_000, complete=True))
    assert changes.orders["o1"] == replace(moved, updated_ms=5_000) == store.orders["o1"]
    later = replace(moved, updated_ms=8_000)  # a newer time is taken as it is
    assert store.apply(OrdersEvent((later,), 8_000)).orders["o1"].updated_ms == 8_000
