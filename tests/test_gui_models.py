"""The table models: diffs become row signals (never a reset for single changes), sorting is on the
Decimal, amounts are exact, and a burst of updates is coalesced into a few flushes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import QModelIndex, Qt

from gui.balance_model import BalanceModel
from gui.coalescer import Coalescer
from gui.columns import SORT_ROLE
from gui.fills_model import FillsModel
from gui.keyed_model import RESET_ABOVE, ranges
from gui.orders_model import OrdersModel
from gui.sort_proxy import SortProxy
from gui.totals import sum_balances
from streams.model import OrderStatus, Side
from streams.store import Changes
from tests.gui_helpers import T0, bal, balances, fill, order

pytestmark = pytest.mark.gui


class Signals:
    """Every structural signal a model emits, as (name, first, last) tuples."""

    def __init__(self, model) -> None:
        self.seen: list[tuple] = []
        model.rowsInserted.connect(lambda _p, a, b: self.seen.append(("inserted", a, b)))
        model.rowsRemoved.connect(lambda _p, a, b: self.seen.append(("removed", a, b)))
        model.dataChanged.connect(lambda tl, br, _roles=(): self.seen.append(("changed", tl.row(), br.row())))
        model.modelReset.connect(lambda: self.seen.append(("reset",)))
        model.layoutChanged.connect(lambda *_: self.seen.append(("layout",)))

    def take(self) -> list[tuple]:
        seen, self.seen = self.seen, []
        return seen


def texts(model, column: int) -> list[str]:
    return [model.index(row, column).data() for row in range(model.rowCount())]


# ---------------------------------------------------------------------------- modeltester


def test_balance_model_passes_modeltester(qtmodeltester):
    model = BalanceModel()
    model.apply(balances(bal("BTC", "1.5"), bal("ETH", "10", locked="2")).balances)
    qtmodeltester.check(model)
    # the tester stays attached: every later diff is checked too
    model.apply({"BTC": None, "USDT": bal("USDT", "0.00000001"), "ETH": bal("ETH", "11")})
    model.set_stale(True)
    qtmodeltester.check(model)


def test_orders_model_and_proxy_pass_modeltester(qtmodeltester):
    model = OrdersModel()
    model.apply(
        {o.order_id: o for o in (order("1", "9"), order("2", "10", side=Side.SELL), order("3", "9.5"))}
    )
    proxy = SortProxy(model)
    proxy.sort(3, Qt.SortOrder.DescendingOrder)
    qtmodeltester.check(model)
    qtmodeltester.check(proxy)
    model.apply({"2": order("2", "10", status=OrderStatus.FILLED), "4": order("4", "0.1")})
    model.apply({"1": order("1", "20", filled="0.5", status=OrderStatus.PARTIALLY_FILLED)})
    assert texts(proxy, 3) == ["20", "9.5", "0.1"]


def test_fills_model_passes_modeltester(qtmodeltester):
    model = FillsModel(max_rows=5)
    model.add([fill("a", T0), fill("b", T0 + 1000, late=True)])
    qtmodeltester.check(model)
    model.add([fill(f"n{i}", T0 + 2000 + i) for i in range(4)])
    model.add([fill("old", T0 - 5000)])
    assert model.rowCount() == 5


# ---------------------------------------------------------------------------- diffs -> row signals


def test_balance_diffs_emit_row_signals_and_never_reset():
    model = BalanceModel()
    spy = Signals(model)
    model.apply({"BTC": bal("BTC", "1"), "ETH": bal("ETH", "2")})
    assert spy.take() == [("inserted", 0, 1)]
    model.apply({"USDT": bal("USDT", "3")})
    assert spy.take() == [("inserted", 2, 2)]
    model.apply({"ETH": bal("ETH", "2.5")})
    assert spy.take() == [("changed", 1, 1)]
    model.apply({"ETH": bal("ETH", "2.5")})  # same value: nothing to repaint
    assert spy.take() == []
    model.apply({"BTC": None})
    assert spy.take() == [("removed", 0, 0)]
    assert texts(model, 0) == ["ETH", "USDT"]
    model.apply({"DOGE": None})  # removing what is not there is a no-op
    assert spy.take() == []


def test_mixed_diff_removes_updates_and_inserts_only_those_rows():
    model = BalanceModel()
    model.apply({a: bal(a, "1") for a in "ABCDEF"})
    spy = Signals(model)
    model.apply({"B": None, "C": None, "E": bal("E", "5"), "F": None, "G": bal("G", "7")})
    # contiguous removals come as one run, bottom first; then the update; then the append
    assert spy.take() == [("removed", 5, 5), ("removed", 1, 2), ("changed", 2, 2), ("inserted", 3, 3)]
    assert texts(model, 0) == ["A", "D", "E", "G"]
    assert model.values()["E"].total == Decimal("5")


def test_closed_order_leaves_the_table():
    model = OrdersModel()
    model.apply({"1": order("1"), "2": order("2"), "3": order("3")})
    spy = Signals(model)
    model.apply({"2": order("2", filled="0.4", status=OrderStatus.PARTIALLY_FILLED)})
    assert spy.take() == [("changed", 1, 1)]
    model.apply({"2": order("2", status=OrderStatus.FILLED)})
    model.apply({"3": order("3", status=OrderStatus.CANCELLED)})
    assert spy.take() == [("removed", 1, 1), ("removed", 1, 1)]
    assert list(model.values()) == ["1"]
    model.apply({"9": order("9", status=OrderStatus.REJECTED)})  # closed and never seen: no row
    assert model.rowCount() == 1 and spy.take() == []


def test_a_huge_scattered_removal_resets_once_and_stays_consistent():
    model = BalanceModel()
    model.apply({f"A{i:05}": bal(f"A{i:05}", "1") for i in range(4 * RESET_ABOVE)})
    spy = Signals(model)
    model.apply({f"A{i:05}": None for i in range(0, 4 * RESET_ABOVE, 2)})  # every other row
    assert spy.take() == [("reset",)]
    assert model.rowCount() == 2 * RESET_ABOVE
    model.apply({"A00001": bal("A00001", "2")})
    assert spy.take() == [("changed", 0, 0)]


def test_stale_greys_rows_but_keeps_them():
    model = BalanceModel()
    model.apply({"BTC": bal("BTC", "1")})
    index = model.index(0, 1)
    assert index.data(Qt.ItemDataRole.ForegroundRole) is None
    spy = Signals(model)
    model.set_stale(True)
    assert spy.take() == [("changed", 0, 0)]
    assert index.data(Qt.ItemDataRole.ForegroundRole) is not None
    assert index.data() == "1" and model.rowCount() == 1
    model.set_stale(True)
    assert spy.take() == []


def test_ranges_folds_rows_into_runs():
    assert ranges([5, 1, 2, 3, 7, 8]) == [(1, 3), (5, 5), (7, 8)]
    assert ranges([]) == []


# ---------------------------------------------------------------------------- display and sorting


def test_amounts_are_exact_and_right_aligned():
    model = BalanceModel()
    model.apply(
        {"BTC": bal("BTC", "1E-8", "0.00000001", "0"), "SHIB": bal("SHIB", "123456789012345678.000000001")}
    )
    row = {model.index(r, 0).data(): r for r in range(2)}
    assert model.index(row["BTC"], 1).data() == "0.00000001"
    assert model.index(row["SHIB"], 1).data() == "123456789012345678.000000001"
    assert model.index(row["BTC"], 1).data(SORT_ROLE) == Decimal("1E-8")
    align = Qt.AlignmentFlag(model.index(0, 1).data(Qt.ItemDataRole.TextAlignmentRole))
    assert align & Qt.AlignmentFlag.AlignRight
    assert (
        not Qt.AlignmentFlag(model.index(0, 0).data(Qt.ItemDataRole.TextAlignmentRole))
        & Qt.AlignmentFlag.AlignRight
    )


def test_sorting_is_numeric_on_the_decimal_not_the_text():
    model = BalanceModel()
    totals = ["9", "10", "0.00000001", "100.5", "2E+1", "9.99"]
    model.apply({f"X{i}": bal(f"X{i}", t) for i, t in enumerate(totals)})
    proxy = SortProxy(model)
    proxy.sort(1, Qt.SortOrder.AscendingOrder)
    assert texts(proxy, 1) == ["0.00000001", "9", "9.99", "10", "20", "100.5"]
    proxy.sort(1, Qt.SortOrder.DescendingOrder)
    assert texts(proxy, 1)[0] == "100.5"
    # a changed value moves to its sorted place (dynamic sort), still on the Decimal
    model.apply({"X2": bal("X2", "1000")})
    assert texts(proxy, 1)[:2] == ["1000", "100.5"]


def test_orders_sort_by_time_and_by_price():
    model = OrdersModel()
    model.apply(
        {
            "a": order("a", "10", created_ms=T0 + 2000),
            "b": order("b", "9", created_ms=T0),
            "c": order("c", "100", created_ms=T0 + 1000),
        }
    )
    proxy = SortProxy(model)
    proxy.sort(7, Qt.SortOrder.AscendingOrder)
    assert [proxy.index(r, 3).data() for r in range(3)] == ["9", "100", "10"]
    proxy.sort(3, Qt.SortOrder.AscendingOrder)
    assert [proxy.index(r, 3).data() for r in range(3)] == ["9", "10", "100"]
    assert model.headerData(3, Qt.Orientation.Horizontal) == "Price"
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(8)] == [
        "Market", "Side", "Type", "Price", "Amount", "Filled", "Status", "Time",
    ]  # fmt: skip


def test_fills_are_newest_first_and_late_ones_find_their_place():
    model = FillsModel()
    model.add([fill("1", T0), fill("3", T0 + 3000), fill("2", T0 + 2000)])
    assert [f.trade_id for f in model.fills()] == ["3", "2", "1"]
    spy = Signals(model)
    model.add([fill("late", T0 + 1000, late=True)])
    assert spy.take() == [("inserted", 2, 2)]
    assert [f.trade_id for f in model.fills()] == ["3", "2", "late", "1"]
    assert model.index(2, 5).data() == "late" and model.index(0, 5).data() == ""
    assert model.index(2, 3).data() == "0.5 @ 100"
    assert model.index(2, 4).data() == "0.001 BTC"
    model.add([fill("4", T0 + 4000)])
    assert spy.take() == [("inserted", 0, 0)]


def test_fills_are_capped_dropping_the_oldest():
    model = FillsModel(max_rows=3)
    model.add([fill(str(i), T0 + i) for i in range(10)])
    assert [f.trade_id for f in model.fills()] == ["9", "8", "7"]
    model.add([fill("older", T0 - 1)])  # older than everything kept: not shown
    assert [f.trade_id for f in model.fills()] == ["9", "8", "7"]


# ---------------------------------------------------------------------------- totals


def test_totals_are_exact_sums():
    a = [
        bal("BTC", "0.1", "0.1"),
        bal("ETH", "12345678901234567890.123456789", "12345678901234567889.623456789", "0.5"),
    ]
    b = [bal("BTC", "0.2", "0.15", "0.05"), bal("ETH", "0.000000001")]
    totals = sum_balances([a, b])
    assert totals["BTC"] == bal("BTC", "0.3", "0.25", "0.05")
    # 30 significant digits: the default 28-digit context would have rounded this
    assert totals["ETH"].total == Decimal("12345678901234567890.123456790")
    assert totals["ETH"].available == Decimal("12345678901234567889.623456790")
    assert list(totals) == ["BTC", "ETH"]


# ---------------------------------------------------------------------------- coalescer


def test_a_burst_of_10000_changes_is_coalesced(qtbot):
    coalescer = Coalescer(interval_ms=100)
    model = BalanceModel()
    coalescer.flushed.connect(lambda changes: model.apply(changes.balances))
    spy = Signals(model)
    last = {}
    for i in range(10_000):
        asset = f"A{i % 50}"
        last[asset] = bal(asset, f"{i}.{i:08}")
        coalescer.add(balances(last[asset]))
    assert model.rowCount() == 0  # nothing painted until the timer fires
    qtbot.waitUntil(lambda: not coalescer.pending, timeout=2000)
    assert coalescer.flushes == 1
    assert model.values() == last
    assert spy.take() == [("inserted", 0, 49)]


def test_a_sustained_stream_flushes_at_most_about_ten_times_a_second(qtbot):
    coalescer = Coalescer(interval_ms=100)
    model = OrdersModel()
    coalescer.flushed.connect(lambda changes: model.apply(changes.orders))
    last = {}
    for i in range(10_000):
        last[str(i % 20)] = order(str(i % 20), price=str(i))
        coalescer.add(Changes(orders={str(i % 20): last[str(i % 20)]}))
        if i % 500 == 0:
            qtbot.wait(25)  # the loop gets to run between chunks, as it would with a real socket
    qtbot.waitUntil(lambda: not coalescer.pending, timeout=2000)
    assert 1 <= coalescer.flushes <= 8  # ~500 ms of feeding: ~5 flushes, never one per change
    assert model.values() == last


def test_coalescer_keeps_every_fill_and_the_latest_row_values(qtbot):
    coalescer = Coalescer()
    got: list[Changes] = []
    coalescer.flushed.connect(got.append)
    coalescer.add(Changes(balances={"BTC": bal("BTC", "1")}, fills=[fill("1")]))
    coalescer.add(Changes(balances={"BTC": None}, fills=[fill("2")]))
    coalescer.add(Changes())
    coalescer.flush()
    assert len(got) == 1
    assert got[0].balances == {"BTC": None}
    assert [f.trade_id for f in got[0].fills] == ["1", "2"]
    coalescer.flush()  # nothing pending: no empty flush
    assert len(got) == 1


def test_no_index_for_invalid_parent():
    model = BalanceModel()
    model.apply({"BTC": bal("BTC", "1")})
    assert model.rowCount(model.index(0, 0)) == 0
    assert model.data(QModelIndex()) is None
