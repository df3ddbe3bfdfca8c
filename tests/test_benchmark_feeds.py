"""The benchmark feeds must tell the truth: what their frames make of an account through the real
parser and store is exactly what their `settle` writes into the simulator's ledger. (The benchmarks
themselves run outside the test suite: `python -m tests.benchmarks`.)"""

from decimal import Decimal

import pytest

from streams.exchanges.bitopro import parser
from streams.exchanges.bitopro.simulator import BitoProSimulator
from streams.store import AccountStore
from tests.benchmarks.feeds import all_feeds, compare_balances, feed
from tests.benchmarks.feeds.bitopro import ASSETS, stamped_frame


@pytest.mark.parametrize(("key", "n"), [("bitopro-balance-1", 137), ("bitopro-balance-50", 7)])
def test_bitopro_feed_frames_end_where_settle_says(key, n):
    simulator = BitoProSimulator(seed=3)
    truth = simulator.truth
    store = AccountStore()
    store.balances.update(truth.balances)  # what the client holds from the snapshot
    burst = feed(key).burst(n, simulator)
    changes = 0
    for frame in burst.frames:
        for event in parser.parse(frame):
            changes += bool(store.apply(event))
    assert changes == n  # every frame changes something: the benchmarks count frames by changes
    burst.settle(truth)
    assert len(truth.balances) == len(ASSETS) == 50
    assert store.balances == truth.balances
    assert compare_balances({a: (b.total, b.available) for a, b in store.balances.items()}, truth)[0]
    assert feed(key).compare_ours(store, [], truth)[0]


def test_compare_balances_names_what_is_missing_or_off():
    truth = BitoProSimulator(seed=3).truth
    held = {b.asset: (b.total, b.available) for b in truth.balances.values()}
    first = next(iter(held))
    held[first] = (Decimal("0.1"), Decimal("0.1"))
    del held[next(a for a in held if a != first)]
    exact, summary = compare_balances(held, truth)
    assert not exact
    assert summary == f"{len(truth.balances) - 2}/{len(truth.balances)} assets exact, 1 off, 1 missing"


def test_stamped_frame_carries_its_send_time_exactly():
    [event] = parser.parse(stamped_frame(1_795_430_010_863_700, 3))
    assert event.balances[0].total == Decimal(1_795_430_010_863_700)


def test_feeds_of_unregistered_exchanges_are_skipped_with_the_reason():
    keys = [f.key for f in all_feeds()]
    assert len(keys) == len(set(keys))
    bitstamp = [f for f in all_feeds() if f.exchange == "bitstamp"]
    assert [f.key for f in bitstamp] == ["bitstamp-orders", "bitstamp-trades"]
    assert all(f.skip is None for f in bitstamp)  # registered since issue 6 landed


@pytest.mark.parametrize(("key", "n"), [("bitstamp-orders", 41), ("bitstamp-trades", 23)])
def test_bitstamp_feed_frames_end_where_settle_says(key, n):
    from streams.events import FillEvent, Refresh
    from streams.exchanges.bitstamp.parser import StreamParser, market_id
    from streams.exchanges.bitstamp.simulator import BitstampSimulator

    simulator = BitstampSimulator(seed=3)
    truth = simulator.truth
    store = AccountStore()
    store.orders.update(truth.open_orders)  # what the client holds from the snapshot
    parse = StreamParser({market_id(m): m for m in ("BTC/USDT",)})
    fills, counted = [], 0
    burst = feed(key).burst(n, simulator)
    for frame in burst.frames:
        for event in parse(frame):
            if isinstance(event, Refresh):
                continue  # the balance poll each frame asks for: REST, not part of the burst
            changes = store.apply(event)
            counted += bool(changes)
            fills += changes.fills if isinstance(event, FillEvent) else []
    assert counted == n  # every frame changes something: the benchmarks count frames by changes
    burst.settle(truth)
    exact, summary = feed(key).compare_ours(store, fills, truth)
    assert exact, summary


@pytest.mark.parametrize("key", ["bitopro-balance-1", "bitstamp-orders"])
async def test_the_instructions_benchmark_replays_a_burst_through_the_live_engine(key):
    """What `python -m tests.benchmarks instructions` runs under valgrind, here without it: the
    engine goes live on a simulator and every replayed frame changes the store (else SystemExit)."""
    from tests.benchmarks.instructions import _replay

    await _replay(key, 30, 60)


def test_the_socket_benchmark_counts_every_frame_each_way():
    """`python -m tests.benchmarks socket` with a short burst: each way of reading got every frame
    from the sender process (else RuntimeError) and printed a figure."""
    from tests.benchmarks.socket_floor import main

    figures = main(frames=300, repeat=1)
    assert set(figures) == {"recv", "pushed", "split"}
    assert all(value > 0 for value in figures.values())
