"""The fill ledger: one claim per fill (also across sources and processes), history queries, CSV, and
a process killed with SIGKILL in the middle of writing loses nothing it had committed."""

import io
import os
import signal
import sqlite3
import subprocess
import sys
from decimal import Decimal

import pytest

from streams.ledger import FillLedger, Outcome, default_ledger_path, write_csv
from streams.model import Fill, Side, replace


def fill(trade_id="t1", order_id="o1", amount="0.5", price="64210.5", time_ms=1_700_000_000_123, late=False):
    return Fill(
        trade_id, order_id, "BTC/USDT", Side.BUY, Decimal(price), Decimal(amount), Decimal("0.0005"), "BTC",
        time_ms, late,
    )  # fmt: skip


@pytest.fixture
def ledger(tmp_path):
    with FillLedger(tmp_path / "fills.sqlite3") as opened:
        yield opened


def test_a_fill_is_claimed_once_per_account(ledger):
    assert ledger.record("a", fill()) is True
    assert ledger.record("a", fill()) is False
    assert ledger.record("b", fill()) is True  # another account's trade id space
    assert ledger.outcome("a", "t1") is Outcome.PENDING
    ledger.set_outcome("a", ["t1"], Outcome.NOTIFIED)
    assert ledger.outcome("a", "t1") is Outcome.NOTIFIED and ledger.outcome("b", "t1") is Outcome.PENDING


def test_rest_twin_of_a_stream_fill_is_the_same_fill(ledger):
    stream = fill("uuid-1", time_ms=1_700_000_000_000)  # the stream gives whole seconds
    rest = fill("70000001", amount="0.50000000", time_ms=1_700_000_000_456, late=True)
    assert ledger.record("a", stream, match_across=True)
    assert not ledger.record("a", rest, match_across=True)
    assert not ledger.record("a", rest, match_across=True)  # the twin's own id is known now
    assert ledger.count() == 1
    # A second, distinct fill of the same shape from the same source is not a twin.
    assert ledger.record("a", replace(stream, trade_id="uuid-2"), match_across=True)
    # Without cross-source matching (other exchanges) ids alone decide.
    assert ledger.record("b", stream) and ledger.record("b", rest)


def test_history_newest_first_with_filters_and_exact_amounts(ledger):
    ledger.record("a", fill("t1", time_ms=1000))
    ledger.record("a", replace(fill("t2", time_ms=3000, amount="0.00000001"), market="ETH/USDT"))
    ledger.record("b", fill("t3", time_ms=2000, late=True))
    assert [r.fill.trade_id for r in ledger.fills()] == ["t2", "t3", "t1"]
    assert [r.fill.trade_id for r in ledger.fills(accounts=["a"])] == ["t2", "t1"]
    assert [r.fill.trade_id for r in ledger.fills(market="BTC/USDT")] == ["t3", "t1"]
    assert [r.fill.trade_id for r in ledger.fills(limit=1)] == ["t2"]
    assert ledger.fills(market="ETH/USDT")[0].fill.amount == Decimal("0.00000001")
    assert ledger.fills(accounts=["b"])[0].fill.late is True
    assert ledger.markets() == ["BTC/USDT", "ETH/USDT"]
    out = io.StringIO()
    assert write_csv(ledger.fills(), out) == 3
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("time_utc_ms,account,market,side,price,amount")
    assert lines[1] == "3000,a,ETH/USDT,buy,64210.5,0.00000001,0.0005,BTC,,t2,o1,pending"
    assert lines[2].split(",")[8] == "late"


def test_first_sync_is_remembered_once(ledger, tmp_path):
    assert ledger.first_sync_ms("a") is None
    assert ledger.note_first_sync("a", 5000) == 5000
    assert ledger.note_first_sync("a", 9000) == 5000
    ledger.close()
    with FillLedger(tmp_path / "fills.sqlite3") as again:
        assert again.first_sync_ms("a") == 5000


def test_wal_mode_and_default_path(ledger, tmp_path, monkeypatch):
    mode = sqlite3.connect(ledger.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_ledger_path() == tmp_path / "data" / "account-monitor" / "fills.sqlite3"
    assert default_ledger_path(demo=True) == tmp_path / "data" / "account-monitor" / "demo-fills.sqlite3"


def test_two_processes_claim_a_fill_once(tmp_path):
    path = tmp_path / "fills.sqlite3"
    FillLedger(path).close()
    code = f"""
import sys
from decimal import Decimal
from streams.ledger import FillLedger
from streams.model import Fill, Side
ledger = FillLedger({str(path)!r})
won = sum(
    ledger.record("a", Fill(str(i), "o", "BTC/USDT", Side.BUY, Decimal(1), Decimal(1), Decimal(0), "BTC", i))
    for i in range(300)
)
print(won)
"""
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    wins = [int(p.communicate(timeout=60)[0]) for p in procs]
    assert sum(wins) == 300  # every fill claimed by exactly one of the two


WRITER = """
import sys
from decimal import Decimal
from streams.ledger import FillLedger, Outcome
from streams.model import Fill, Side
ledger = FillLedger(sys.argv[1])
i = 0
while True:
    f = Fill(f"t{i}", f"o{i}", "BTC/USDT", Side.BUY, Decimal("64210.5"), Decimal("0.5"), Decimal("0.0005"), "BTC", i)
    ledger.record("a", f)
    ledger.set_outcome("a", [f.trade_id], Outcome.NOTIFIED)
    print(f.trade_id, flush=True)  # printed only after both commits
    i += 1
"""


def test_ledger_survives_sigkill_mid_write(tmp_path):
    path = tmp_path / "fills.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    committed = []
    assert proc.stdout is not None
    for line in proc.stdout:
        committed.append(line.strip())
        if len(committed) >= 400:
            break
    proc.send_signal(signal.SIGKILL)  # while it is writing the next ones
    proc.wait(timeout=30)
    committed.extend(line.strip() for line in proc.stdout)  # what it printed before dying
    assert proc.returncode == -signal.SIGKILL
    assert (tmp_path / "fills.sqlite3-wal").exists()  # the WAL was not checkpointed away: recovery is real

    with FillLedger(path) as reopened:
        assert reopened.integrity() == "ok"
        rows = {r.fill.trade_id: r for r in reopened.fills(accounts=["a"])}
        missing = [t for t in committed if t not in rows]
        assert not missing, f"{len(missing)} committed fills lost"
        assert all(rows[t].outcome is Outcome.NOTIFIED for t in committed)
        assert rows[committed[-1]].fill.price == Decimal("64210.5")
        assert len(rows) >= len(committed)  # at most the one in flight beyond what was printed
        assert len(rows) <= len(committed) + 1


def test_the_page_cache_is_capped_so_memory_does_not_grow_with_the_file(ledger):
    """SQLite's default cache grows with the file to 2 MiB; the app keeps 256 KiB (footprint)."""
    assert ledger._db.execute("PRAGMA cache_size").fetchone()[0] == -256
