"""The durable fill ledger: every fill the app has seen, once, and whether it was notified.

Why SQLite: a fill must be notified once across reconnects, restarts and crashes, and the first process
to *record* a fill is the one that may notify it. `record()` is that claim: one transaction that
either inserts the fill (new: the caller decides about a notification) or finds it already there.
WAL mode with `synchronous=NORMAL` keeps every committed transaction through a killed process (the
WAL is in the OS's cache and is replayed on the next open); only a power cut may lose the last ones.
Two processes on one file are fine: each claim is an IMMEDIATE transaction and waits its turn.

Keyed by (account, trade id). Some exchanges (BitoPro) give one fill one id on the stream and
another over REST; with `match_across` a fill from the other source with the same fingerprint
(order, price, amount, second) is the same fill, as in `streams.store.AccountStore`, and is
remembered as the first one's twin so it never counts twice, also after a restart.

Plain stdlib sqlite3, no Qt, no asyncio: the calls are sub-millisecond and run on the caller's
thread (the GUI's loop). Amounts are stored as exact decimal strings.
"""

from __future__ import annotations

import contextlib
import csv
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TextIO

import platformdirs

from streams.model import Fill, Side, fmt, now_ms

LEDGER_FILE = "fills.sqlite3"
DEMO_LEDGER_FILE = "demo-fills.sqlite3"  # the demo's own history, apart from the user's
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fills (
    account     TEXT NOT NULL,
    trade_id    TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    market      TEXT NOT NULL,
    side        TEXT NOT NULL,
    price       TEXT NOT NULL,
    amount      TEXT NOT NULL,
    fee         TEXT NOT NULL,
    fee_asset   TEXT NOT NULL,
    time_ms     INTEGER NOT NULL,
    late        INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    twin_id     TEXT,
    recorded_ms INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    PRIMARY KEY (account, trade_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS fills_by_time ON fills (time_ms DESC);
CREATE INDEX IF NOT EXISTS fills_by_fingerprint ON fills (account, fingerprint);
CREATE INDEX IF NOT EXISTS fills_by_twin ON fills (account, twin_id);
CREATE TABLE IF NOT EXISTS accounts (
    account       TEXT PRIMARY KEY,
    first_sync_ms INTEGER NOT NULL
) WITHOUT ROWID;
"""


class Outcome(StrEnum):
    """What became of a fill's notification; the Fills tab and the tests read it."""

    PENDING = "pending"  # claimed, decision not made yet (a crash here means: never notified)
    NOTIFIED = "notified"  # sent on its own
    SUMMARISED = "summarised"  # sent as part of a burst summary
    HISTORY = "history"  # older than the app's first sync of the account: recorded only
    MUTED = "muted"  # the account's settings said no (off, full fills only, below minimum, DND)
    UNDELIVERED = "undelivered"  # no notification service was running


@dataclass(frozen=True, slots=True)
class LedgerFill:
    """One row of the history: the fill, its account and what became of its notification."""

    account: str
    fill: Fill
    outcome: Outcome
    recorded_ms: int


def default_ledger_path(*, demo: bool = False) -> Path:
    """`fills.sqlite3` in the platform's user data dir (~/.local/share/account-monitor on Linux);
    `demo-fills.sqlite3` there for the demo's simulated fills."""
    directory = Path(platformdirs.user_data_dir("account-monitor", appauthor=False))
    return directory / (DEMO_LEDGER_FILE if demo else LEDGER_FILE)


def fingerprint(fill: Fill) -> str:
    """What one fill looks like from either source: order, price, amount and the second it happened."""
    return (
        f"{fill.order_id}|{fmt(fill.price.normalize())}|{fmt(fill.amount.normalize())}|{fill.time_ms // 1000}"
    )


class FillLedger:
    """The ledger file. Open once per process; `close()` (or `with`) when done."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we open transactions ourselves (BEGIN IMMEDIATE takes the write lock up
        # front, so two processes claiming the same fill never both see "new").
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        # SQLite's page cache grows with the file up to 2 MiB by default (the app's RSS grew with every
        # fill recorded, ~0.35 MB per 1,000, measured); 256 KiB holds what a claim and a page of the
        # Fills tab touch, and the OS caches the rest of the file anyway.
        self._db.execute("PRAGMA cache_size=-256")
        with self._transaction():
            for statement in filter(str.strip, _SCHEMA.split(";")):
                self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> FillLedger:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ------------------------------------------------------------------ accounts

    def first_sync_ms(self, account: str) -> int | None:
        row = self._db.execute("SELECT first_sync_ms FROM accounts WHERE account = ?", (account,)).fetchone()
        return None if row is None else int(row[0])

    def note_first_sync(self, account: str, time_ms: int) -> int:
        """Remember when the app first synced `account` (only the first call counts); returns it."""
        with self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO accounts (account, first_sync_ms) VALUES (?, ?)", (account, time_ms)
            )
        first = self.first_sync_ms(account)
        assert first is not None
        return first

    # ------------------------------------------------------------------ fills

    def record(self, account: str, fill: Fill, *, match_across: bool = False) -> bool:
        """Claim `fill` for `account`: True if it is new (now recorded as pending), False if the ledger
        already has it (by trade id, or with `match_across` as the other source's twin)."""
        key = fingerprint(fill)
        with self._transaction():
            known = self._db.execute(
                "SELECT 1 FROM fills WHERE account = ? AND (trade_id = ? OR twin_id = ?) LIMIT 1",
                (account, fill.trade_id, fill.trade_id),
            ).fetchone()
            if known:
                return False
            if match_across:
                twin = self._db.execute(
                    "SELECT trade_id FROM fills WHERE account = ? AND fingerprint = ? AND late = ? "
                    "AND twin_id IS NULL ORDER BY recorded_ms LIMIT 1",
                    (account, key, int(not fill.late)),
                ).fetchone()
                if twin:
                    self._db.execute(
                        "UPDATE fills SET twin_id = ? WHERE account = ? AND trade_id = ?",
                        (fill.trade_id, account, twin[0]),
                    )
                    return False
            self._db.execute(
                "INSERT INTO fills VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                (
                    account,
                    fill.trade_id,
                    fill.order_id,
                    fill.market,
                    fill.side.value,
                    fmt(fill.price),
                    fmt(fill.amount),
                    fmt(fill.fee),
                    fill.fee_asset,
                    fill.time_ms,
                    int(fill.late),
                    key,
                    now_ms(),
                    Outcome.PENDING.value,
                ),
            )
        return True

    def set_outcome(self, account: str, trade_ids: Iterable[str], outcome: Outcome) -> None:
        with self._transaction():
            self._db.executemany(
                "UPDATE fills SET outcome = ? WHERE account = ? AND trade_id = ?",
                [(outcome.value, account, trade_id) for trade_id in trade_ids],
            )

    def outcome(self, account: str, trade_id: str) -> Outcome | None:
        row = self._db.execute(
            "SELECT outcome FROM fills WHERE account = ? AND trade_id = ?", (account, trade_id)
        ).fetchone()
        return None if row is None else Outcome(row[0])

    def fills(
        self,
        *,
        accounts: Sequence[str] | None = None,
        market: str | None = None,
        limit: int | None = None,
    ) -> list[LedgerFill]:
        """The history, newest first, optionally for some accounts and one market."""
        where, args = [], []
        if accounts is not None:
            where.append(f"account IN ({','.join('?' * len(accounts))})")
            args.extend(accounts)
        if market is not None:
            where.append("market = ?")
            args.append(market)
        sql = (
            "SELECT account, trade_id, order_id, market, side, price, amount, fee, fee_asset, time_ms, "
            "late, outcome, recorded_ms FROM fills"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY time_ms DESC, recorded_ms DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_row(row) for row in self._db.execute(sql, args)]

    def markets(self) -> list[str]:
        return [row[0] for row in self._db.execute("SELECT DISTINCT market FROM fills ORDER BY market")]

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM fills").fetchone()[0])

    def integrity(self) -> str:
        """SQLite's own check: 'ok' for a sound file."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])


CSV_HEADER = (
    "time_utc_ms",
    "account",
    "market",
    "side",
    "price",
    "amount",
    "fee",
    "fee_asset",
    "late",
    "trade_id",
    "order_id",
    "notification",
)


def write_csv(rows: Iterable[LedgerFill], out: TextIO) -> int:
    """The history as CSV (exact decimal strings, epoch milliseconds); returns the rows written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    count = 0
    for row in rows:
        f = row.fill
        writer.writerow(
            (
                f.time_ms,
                row.account,
                f.market,
                f.side.value,
                fmt(f.price),
                fmt(f.amount),
                fmt(f.fee),
                f.fee_asset,
                "late" if f.late else "",
                f.trade_id,
                f.order_id,
                row.outcome.value,
            )
        )
        count += 1
    return count


def _row(row: tuple[object, ...]) -> LedgerFill:
    account, trade_id, order_id, market, side, price, amount, fee, fee_asset, time_ms, late, outcome, rec = (
        row
    )
    fill = Fill(
        trade_id=str(trade_id),
        order_id=str(order_id),
        market=str(market),
        side=Side(side),
        price=Decimal(str(price)),
        amount=Decimal(str(amount)),
        fee=Decimal(str(fee)),
        fee_asset=str(fee_asset),
        time_ms=int(time_ms),  # type: ignore[call-overload]
        late=bool(late),
    )
    return LedgerFill(str(account), fill, Outcome(str(outcome)), int(rec))  # type: ignore[call-overload]
