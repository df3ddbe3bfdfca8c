"""Which fills become which notifications, and what they say: pure, no I/O, no clock of its own.

The caller (`streams.notifier.FillNotifier`) feeds it the orders it sees and each fill the ledger has
just claimed as new, passes the time, and sends what `due(now)` returns. Keeping the decisions here
lets the tests walk through partial fills, bursts and settings without a bus or a clock.

- Partial or full: a fill says "Filled" when its order is done after it, else "Partially filled:
  X of Y" with X the order's filled amount after this fill. Order and fill frames come on separate
  streams, in either order, so a fill waits (at most `settle_ms`) for an order view that includes it.
  X is what the order had filled when first seen plus the fills seen since, up to this one (so a
  view that already includes later fills does not turn an earlier partial fill into "Filled").
- No spam: at most `burst_count` notifications per account within `burst_window_ms`; further fills
  in that window wait and go out together as one summary ("5 fills on BitoPro main") when the
  window of the first waiting fill closes. The first ones are not held back: latency matters more.
- Settings per account: notify on all fills / full fills only / off, a minimum notional (price x
  amount, in the market's quote currency), sound, do-not-disturb. Muted fills are recorded as such.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from streams.ledger import Outcome
from streams.model import Fill, Order

SETTLE_MS = 300  # longest a fill waits for the order frame from the other stream
BURST_COUNT = 3
BURST_WINDOW_MS = 2_000
SUMMARY_LINES = 5
_ORDERS_KEPT = 20_000  # order views remembered at most, oldest forgotten first
# A closed order's view and fill count are kept this long after its last news, then forgotten (a
# demo account closes thousands of orders a day: kept until the count above, they grew the app by
# ~0.5 MB every 10 minutes). A fill learnt later after a gap brings its order's view again.
FORGET_AFTER_MS = 600_000
ZERO = Decimal(0)


class NotifyOn(StrEnum):
    ALL = "all"  # full and partial fills
    FULL = "full"  # only fills that complete their order
    OFF = "off"


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """One account's notification settings (the GUI keeps them in QSettings)."""

    notify_on: NotifyOn = NotifyOn.ALL
    min_notional: Decimal = ZERO  # price x amount below this: recorded, not notified
    sound: bool = True
    do_not_disturb: bool = False


@dataclass(frozen=True, slots=True)
class Alert:
    """A notification to send. `trade_ids` are the fills it covers (several for a summary)."""

    account: str
    title: str
    body: str
    trade_ids: tuple[str, ...]
    sound: bool
    summary: bool = False

    @property
    def outcome(self) -> Outcome:
        return Outcome.SUMMARISED if self.summary else Outcome.NOTIFIED


@dataclass(frozen=True, slots=True)
class Muted:
    """Fills that get no notification, and why (history or the account's settings)."""

    account: str
    trade_ids: tuple[str, ...]
    outcome: Outcome


Decision = Alert | Muted


def num(amount: Decimal) -> str:
    """An exact amount as people read it: thousands separators, no trailing zeros (64,210.5)."""
    return format(amount.normalize(), ",f")


@dataclass(frozen=True, slots=True)
class FillText:
    """The words for one fill: `headline` without the account ('Filled: BUY 0.5 BTC/USDT @ 64,210.5')."""

    headline: str
    full: bool


def describe(
    fill: Fill, order: Order | None, filled_after: Decimal | None, num: Callable[[Decimal], str] = num
) -> FillText:
    """'Filled: BUY 0.5 BTC/USDT @ 64,210.5' or 'Partially filled: BUY 0.2 of 0.5 BTC/USDT @ ...'.

    Without an order view (one never seen) the fill is all we know: it reads as filled by its amount."""
    side = fill.side.value.upper()
    price = num(fill.price)
    if order is None or filled_after is None:
        return FillText(f"Filled: {side} {num(fill.amount)} {fill.market} @ {price}", True)
    full = filled_after >= order.amount
    if full:
        return FillText(f"Filled: {side} {num(order.amount)} {fill.market} @ {price}", True)
    return FillText(
        f"Partially filled: {side} {num(filled_after)} of {num(order.amount)} {fill.market} @ {price}", False
    )


def fill_details(fill: Fill, num: Callable[[Decimal], str] = num) -> str:
    """The notification body: this fill's own amount, time and fee, and the late marker."""
    at = datetime.fromtimestamp(fill.time_ms / 1000).strftime("%H:%M:%S")
    text = f"This fill: {num(fill.amount)} at {at}, fee {num(fill.fee)} {fill.fee_asset}".rstrip()
    return f"Late (while disconnected). {text}" if fill.late else text


@dataclass(slots=True)
class _Waiting:
    account: str
    fill: Fill
    expected: Decimal  # the order's filled amount once it includes this fill, as far as we know
    deadline_ms: int


@dataclass(slots=True)
class _Bucket:
    close_ms: int
    items: list[tuple[Fill, FillText]] = field(default_factory=list)


class AlertPolicy:
    """The decisions for all accounts. `name_of(account)` -> 'BitoPro main'; `settings_of(account)`
    -> the account's current `AlertSettings` (read at decision time, so a change applies at once).
    `amount_text` formats every amount (privacy mode passes one that hides them)."""

    def __init__(
        self,
        name_of: Callable[[str], str],
        settings_of: Callable[[str], AlertSettings],
        *,
        settle_ms: int = SETTLE_MS,
        burst_count: int = BURST_COUNT,
        burst_window_ms: int = BURST_WINDOW_MS,
        amount_text: Callable[[Decimal], str] = num,
    ) -> None:
        self.name_of = name_of
        self.amount_text = amount_text
        self.settings_of = settings_of
        self.settle_ms = settle_ms
        self.burst_count = burst_count
        self.burst_window_ms = burst_window_ms
        self._orders: OrderedDict[tuple[str, str], Order] = OrderedDict()
        self._base: dict[tuple[str, str], Decimal] = {}  # filled before we counted its fills
        self._counted: dict[tuple[str, str], Decimal] = {}  # sum of the new fills seen per order
        self._touched: OrderedDict[tuple[str, str], int] = OrderedDict()  # key -> last news, oldest first
        self._clock_ms = 0  # the latest time the caller passed (orders() gets none)
        self._waiting: list[_Waiting] = []
        self._sent: dict[str, deque[int]] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._ready: list[Decision] = []

    # ------------------------------------------------------------------ input

    def orders(self, account: str, orders: Iterable[Order], now_ms: int | None = None) -> None:
        """The latest view of some orders (open or closed), from a `Changes`, seen at `now_ms`."""
        if now_ms is not None:
            self._clock_ms = max(self._clock_ms, now_ms)
        for order in orders:
            key = (account, order.order_id)
            if key not in self._base:
                self._base[key] = max(ZERO, order.filled - self._counted.get(key, ZERO))
            self._orders[key] = order
            self._orders.move_to_end(key)
            self._touch(key)
        while len(self._orders) > _ORDERS_KEPT:
            self._forget(next(iter(self._orders)))

    def add(self, account: str, fill: Fill, now_ms: int, *, historical: bool = False) -> None:
        """A fill the ledger has just claimed as new. `historical`: older than the account's first sync."""
        key = (account, fill.order_id)
        counted = self._counted.get(key, ZERO) + fill.amount
        self._counted[key] = counted
        self._clock_ms = max(self._clock_ms, now_ms)
        self._touch(key)
        if historical:
            self._ready.append(Muted(account, (fill.trade_id,), Outcome.HISTORY))
            return
        expected = self._base.get(key, ZERO) + counted
        self._waiting.append(_Waiting(account, fill, expected, now_ms + self.settle_ms))

    # ------------------------------------------------------------------ output

    def due(self, now_ms: int) -> list[Decision]:
        """Everything decided by `now_ms`, in order; the caller sends the alerts and records outcomes."""
        self._clock_ms = max(self._clock_ms, now_ms)
        still: list[_Waiting] = []
        for waiting in self._waiting:
            order = self._orders.get((waiting.account, waiting.fill.order_id))
            covered = order is not None and (order.filled >= waiting.expected or not order.status.is_open)
            if covered or now_ms >= waiting.deadline_ms:
                self._decide(waiting, order, now_ms)
            else:
                still.append(waiting)
        self._waiting = still
        for account, bucket in list(self._buckets.items()):
            if now_ms >= bucket.close_ms:
                del self._buckets[account]
                self._ready.append(self._summary(account, bucket.items))
                self._sent_at(account, now_ms)
        ready, self._ready = self._ready, []
        self._forget_quiet(now_ms)
        return ready

    def remembered(self) -> int:
        """How many orders' views and fill counts are kept (tests check that it does not only grow)."""
        return len(self._touched)

    # ------------------------------------------------------------------ memory

    def _touch(self, key: tuple[str, str]) -> None:
        self._touched[key] = self._clock_ms
        self._touched.move_to_end(key)

    def _forget_quiet(self, now_ms: int) -> None:
        """Forget orders without news for FORGET_AFTER_MS that are closed (or never seen) and have no
        fill waiting; an open order is kept however old, and checked again a window later."""
        limit = now_ms - FORGET_AFTER_MS
        waiting: set[tuple[str, str]] | None = None
        while self._touched:
            key, at = next(iter(self._touched.items()))
            if at > limit:
                return
            if waiting is None:
                waiting = {(w.account, w.fill.order_id) for w in self._waiting}
            order = self._orders.get(key)
            if key in waiting or (order is not None and order.status.is_open):
                self._touched[key] = now_ms
                self._touched.move_to_end(key)
            else:
                self._forget(key)

    def _forget(self, key: tuple[str, str]) -> None:
        for kept in (self._orders, self._base, self._counted, self._touched):
            kept.pop(key, None)

    def next_due_ms(self) -> int | None:
        """When `due` may next have something, if nothing else arrives (for the caller's timer)."""
        times = [w.deadline_ms for w in self._waiting] + [b.close_ms for b in self._buckets.values()]
        return min(times) if times else None

    # ------------------------------------------------------------------ decisions

    def _decide(self, waiting: _Waiting, order: Order | None, now_ms: int) -> None:
        account, fill = waiting.account, waiting.fill
        filled_after = None
        if order is not None:
            filled_after = min(order.amount, waiting.expected)
        text = describe(fill, order, filled_after, self.amount_text)
        settings = self.settings_of(account)
        if (
            settings.notify_on is NotifyOn.OFF
            or (settings.notify_on is NotifyOn.FULL and not text.full)
            or settings.do_not_disturb
            or fill.price * fill.amount < settings.min_notional
        ):
            self._ready.append(Muted(account, (fill.trade_id,), Outcome.MUTED))
            return
        bucket = self._buckets.get(account)
        if bucket is None and self._recent(account, now_ms) < self.burst_count:
            self._ready.append(
                Alert(
                    account,
                    f"{text.headline} on {self.name_of(account)}",
                    fill_details(fill, self.amount_text),
                    (fill.trade_id,),
                    settings.sound,
                )
            )
            self._sent_at(account, now_ms)
            return
        if bucket is None:
            bucket = self._buckets[account] = _Bucket(now_ms + self.burst_window_ms)
        bucket.items.append((fill, text))

    def _summary(self, account: str, items: list[tuple[Fill, FillText]]) -> Alert:
        sound = self.settings_of(account).sound
        name = self.name_of(account)
        if len(items) == 1:
            fill, text = items[0]
            details = fill_details(fill, self.amount_text)
            return Alert(account, f"{text.headline} on {name}", details, (fill.trade_id,), sound)
        lines = [text.headline + (" (late)" if fill.late else "") for fill, text in items[:SUMMARY_LINES]]
        if len(items) > SUMMARY_LINES:
            lines.append(f"… and {len(items) - SUMMARY_LINES} more")
        ids = tuple(fill.trade_id for fill, _ in items)
        return Alert(account, f"{len(items)} fills on {name}", "\n".join(lines), ids, sound, summary=True)

    def _recent(self, account: str, now_ms: int) -> int:
        sent = self._sent.setdefault(account, deque())
        while sent and sent[0] <= now_ms - self.burst_window_ms:
            sent.popleft()
        return len(sent)

    def _sent_at(self, account: str, now_ms: int) -> None:
        self._sent.setdefault(account, deque()).append(now_ms)
