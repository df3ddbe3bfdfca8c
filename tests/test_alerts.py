"""The notification policy, step by step with a fake clock: texts, partial vs full whichever stream
comes first, bursts coalesced, settings, history."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from streams.alerts import (
    FORGET_AFTER_MS,
    SETTLE_MS,
    Alert,
    AlertPolicy,
    AlertSettings,
    Muted,
    NotifyOn,
    describe,
    num,
)
from streams.ledger import Outcome
from streams.model import Fill, Order, OrderStatus, Side, replace

D = Decimal
SETTLE_MS_PLUS = SETTLE_MS + 1


def order(filled="0", amount="0.5", status=OrderStatus.OPEN, order_id="o1"):
    return Order(order_id, "BTC/USDT", Side.BUY, "limit", D("64210.5"), D(amount), D(filled), status, 1, 2)


def fill(trade_id, amount, order_id="o1", late=False, price="64210.5"):
    return Fill(
        trade_id, order_id, "BTC/USDT", Side.BUY, D(price), D(amount), D("0.0005"), "BTC", 1_000, late
    )


def policy(settings=None, **kw):
    chosen = settings or {}
    return AlertPolicy(lambda a: "BitoPro main", lambda a: chosen.get(a, AlertSettings()), **kw)


def titles(decisions):
    return [d.title for d in decisions if isinstance(d, Alert)]


def test_numbers_read_exactly_with_separators():
    assert num(D("64210.50000000")) == "64,210.5"
    assert num(D("1234567.00000001")) == "1,234,567.00000001"
    assert num(D("1E+2")) == "100"


def test_full_fill_text_matches_the_issue():
    p = policy()
    p.orders("a", [order()])
    p.add("a", fill("t1", "0.5"), 0)
    p.orders("a", [order("0.5", status=OrderStatus.FILLED)])
    [alert] = p.due(1)
    assert alert.title == "Filled: BUY 0.5 BTC/USDT @ 64,210.5 on BitoPro main"
    assert alert.body.startswith("This fill: 0.5 at ") and alert.body.endswith("fee 0.0005 BTC")
    assert alert.trade_ids == ("t1",) and alert.outcome is Outcome.NOTIFIED


def test_fill_waits_for_its_order_frame_then_says_partial():
    p = policy()
    p.orders("a", [order()])
    p.add("a", fill("t1", "0.2"), 0)
    assert p.due(10) == []  # the order stream has not caught up: wait
    assert p.next_due_ms() == 300
    p.orders("a", [order("0.2", status=OrderStatus.PARTIALLY_FILLED)])
    assert titles(p.due(11)) == ["Partially filled: BUY 0.2 of 0.5 BTC/USDT @ 64,210.5 on BitoPro main"]
    p.add("a", fill("t2", "0.3"), 20)
    p.orders("a", [order("0.5", status=OrderStatus.FILLED)])
    assert titles(p.due(21)) == ["Filled: BUY 0.5 BTC/USDT @ 64,210.5 on BitoPro main"]


def test_order_frame_first_decides_at_once():
    p = policy()
    p.orders("a", [order()])
    p.orders("a", [order("0.2", status=OrderStatus.PARTIALLY_FILLED)])
    p.add("a", fill("t1", "0.2"), 0)
    assert titles(p.due(0)) == ["Partially filled: BUY 0.2 of 0.5 BTC/USDT @ 64,210.5 on BitoPro main"]


def test_missing_order_frame_decides_at_the_deadline_from_the_fills():
    p = policy()
    p.orders("a", [order("0.1", status=OrderStatus.PARTIALLY_FILLED)])  # filled before we looked
    p.add("a", fill("t1", "0.2"), 0)
    assert p.due(299) == []
    assert titles(p.due(300)) == ["Partially filled: BUY 0.3 of 0.5 BTC/USDT @ 64,210.5 on BitoPro main"]


def test_unknown_order_reads_as_its_fill():
    p = policy()
    p.add("a", fill("t1", "0.25", order_id="never-seen"), 0)
    assert titles(p.due(300)) == ["Filled: BUY 0.25 BTC/USDT @ 64,210.5 on BitoPro main"]


def test_late_fill_is_marked():
    p = policy()
    p.orders("a", [order()])
    p.add("a", fill("t1", "0.5", late=True), 0)
    p.orders("a", [order("0.5", status=OrderStatus.FILLED)])
    [alert] = p.due(0)
    assert alert.body.startswith("Late (while disconnected). This fill: 0.5")


def test_history_is_recorded_not_notified():
    p = policy()
    p.add("a", fill("t1", "0.5"), 0, historical=True)
    assert p.due(0) == [Muted("a", ("t1",), Outcome.HISTORY)]


def test_burst_of_seven_is_three_alerts_and_one_summary():
    p = policy()
    p.orders("a", [order(amount="7")])
    decisions = []
    for i in range(7):
        p.add("a", fill(f"t{i}", "1"), i * 100)
        p.orders("a", [order(str(i + 1), amount="7", status=OrderStatus.PARTIALLY_FILLED)])
        decisions += p.due(i * 100)
    assert len(decisions) == 3
    assert p.next_due_ms() == 300 + 2000  # the fourth fill opened the summary's window
    decisions += p.due(2299)
    assert len(decisions) == 3
    [summary] = p.due(2300)
    assert summary.summary and summary.title == "4 fills on BitoPro main"
    assert summary.trade_ids == ("t3", "t4", "t5", "t6") and summary.outcome is Outcome.SUMMARISED
    assert summary.body.splitlines()[0] == "Partially filled: BUY 4 of 7 BTC/USDT @ 64,210.5"
    # Quiet again: the next fill after the window goes out on its own.
    p.add("a", fill("t7", "0.5"), 10_000)
    assert len(titles(p.due(10_300))) == 1


def test_bursts_are_per_account():
    p = policy()
    for account in ("a", "b"):
        for i in range(3):
            p.add(account, fill(f"{account}{i}", "0.1", order_id="x"), 0)
    assert len(p.due(300)) == 6


def test_summary_lists_at_most_five():
    p = policy(burst_count=0)
    for i in range(8):
        p.add("a", fill(f"t{i}", "0.1", order_id=f"x{i}"), 0)
    p.due(300)
    [summary] = p.due(2300)
    lines = summary.body.splitlines()
    assert summary.title == "8 fills on BitoPro main" and len(lines) == 6 and lines[-1] == "… and 3 more"


def test_settings_mute_what_they_say():
    p = policy(
        {
            "off": AlertSettings(notify_on=NotifyOn.OFF),
            "full": AlertSettings(notify_on=NotifyOn.FULL),
            "dnd": AlertSettings(do_not_disturb=True),
            "min": AlertSettings(min_notional=D("10000")),
            "quiet": AlertSettings(sound=False),
        }
    )
    for account in ("off", "full", "dnd", "min", "quiet"):
        p.orders(account, [order()])
        p.add(account, fill(f"{account}-partial", "0.1"), 0)  # notional 6,421.05
        p.add(account, fill(f"{account}-rest", "0.4"), 0)  # notional 25,684.2, completes the order
        p.orders(account, [order("0.5", status=OrderStatus.FILLED)])
    decided = {d.trade_ids[0]: d for d in p.due(0)}
    muted = {t for t, d in decided.items() if isinstance(d, Muted)}
    assert muted == {"off-partial", "off-rest", "full-partial", "dnd-partial", "dnd-rest", "min-partial"}
    assert all(decided[t].outcome is Outcome.MUTED for t in muted)
    assert decided["quiet-rest"].sound is False and decided["min-rest"].sound is True


def test_describe_without_fills_counted_uses_the_fill():
    assert describe(fill("t", "0.3"), None, None).headline == "Filled: BUY 0.3 BTC/USDT @ 64,210.5"


@given(st.lists(st.integers(1, 50), min_size=1, max_size=12), st.booleans())
def test_every_fill_is_decided_exactly_once_and_the_last_reads_filled(parts, order_first):
    """Whatever the split and whichever stream wins, each fill gets one decision; the one that
    completes the order says Filled, every other one Partially filled with the running total."""
    amount = D(sum(parts)) / 100
    p = policy(burst_count=100)
    p.orders("a", [order(amount=str(amount))])
    decisions, filled, now = [], D(0), 0
    for i, part in enumerate(parts):
        filled += D(part) / 100
        status = OrderStatus.FILLED if filled == amount else OrderStatus.PARTIALLY_FILLED
        view = order(str(filled), amount=str(amount), status=status)
        if order_first:
            p.orders("a", [view])
        p.add("a", fill(f"t{i}", str(D(part) / 100)), now)
        if not order_first:
            p.orders("a", [view])
        decisions += p.due(now)
        now += 10
    decisions += p.due(now + 10_000)
    assert sorted(t for d in decisions for t in d.trade_ids) == sorted(f"t{i}" for i in range(len(parts)))
    assert decisions[-1].title.startswith("Filled: ")
    assert all(d.title.startswith("Partially filled: ") for d in decisions[:-1])


def test_describe_partial_after_cancel():
    cancelled = replace(order("0.2"), status=OrderStatus.CANCELLED)
    text = describe(fill("t", "0.2"), cancelled, D("0.2"))
    assert not text.full and text.headline.startswith("Partially filled: BUY 0.2 of 0.5")


def test_closed_orders_are_forgotten_after_a_quiet_window_and_open_ones_kept():
    """The policy remembers each order's view and fill count; a closed one is forgotten once nothing
    has been heard of it for FORGET_AFTER_MS (so a day of orders does not pile up), an open one never."""
    p = policy()
    t0 = 1_000_000
    p.orders("a", [order(order_id="open")], t0)
    for k in range(100):
        p.orders("a", [order(order_id=f"c{k}", status=OrderStatus.OPEN)], t0)
        p.add("a", fill(f"t{k}", "0.5", order_id=f"c{k}"), t0)
        p.orders("a", [order("0.5", order_id=f"c{k}", status=OrderStatus.FILLED)], t0)
    p.add("a", fill("t-no-view", "0.1", order_id="never-seen"), t0)  # a fill whose order never came
    p.due(t0 + SETTLE_MS_PLUS)
    assert p.remembered() == 102
    p.due(t0 + FORGET_AFTER_MS - 1)
    assert p.remembered() == 102  # not yet
    p.due(t0 + FORGET_AFTER_MS + 1)
    assert p.remembered() == 1  # the open order
    p.orders(
        "a", [order("0.2", order_id="open", status=OrderStatus.PARTIALLY_FILLED)], t0 + 3 * FORGET_AFTER_MS
    )
    p.add("a", fill("t-open", "0.2", order_id="open"), t0 + 3 * FORGET_AFTER_MS)
    [alert] = p.due(t0 + 3 * FORGET_AFTER_MS + SETTLE_MS_PLUS)
    assert alert.title.startswith("Partially filled: BUY 0.2 of 0.5")  # its view and count were kept


def test_an_order_with_a_fill_waiting_is_not_forgotten():
    p = policy(settle_ms=2 * FORGET_AFTER_MS)  # the fill waits longer than the window for its order
    p.add("a", fill("t1", "0.2", order_id="unseen"), 0)
    assert p.due(FORGET_AFTER_MS + 1) == []
    assert p.remembered() == 1
    assert len(p.due(2 * FORGET_AFTER_MS)) == 1  # decided at its deadline, then forgotten a window later
    p.due(3 * FORGET_AFTER_MS + 2)
    assert p.remembered() == 0
