"""One account's current state, and the diffs each event makes to it.

`AccountStore.apply(event)` returns a `Changes` with only what moved, so views repaint changed rows
and the headless printer prints changed lines. No I/O, no clock: tests feed it events directly.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from decimal import Decimal

import msgspec

from streams.events import BalancesEvent, Event, FillEvent, OrdersEvent, RawPayload
from streams.model import Balance, Fill, Order, OrderStatus, replace

_SEEN_FILLS_KEPT = 100_000  # trade ids remembered for de-duplication; far more than a day of fills
_TWIN_WINDOW_S = 600  # a fill waits this long (behind the newest) for its twin from the other source


class Changes(msgspec.Struct):
    """What one or more events changed. A balance of `None` means the asset is gone. An order with a
    closed status (filled, cancelled, rejected) left the open set; the view drops it. (A Struct: one
    is made per frame, at less than half a dataclass's cost.)"""

    balances: dict[str, Balance | None] = msgspec.field(default_factory=dict)
    orders: dict[str, Order] = msgspec.field(default_factory=dict)
    fills: list[Fill] = msgspec.field(default_factory=list)
    raw: dict[str, str] = msgspec.field(default_factory=dict)  # channel -> the payload verbatim (RawPayload)

    def __bool__(self) -> bool:
        return bool(self.balances or self.orders or self.fills or self.raw)

    def merge(self, later: Changes) -> None:
        """Fold a later diff into this one (latest value per row wins; fills accumulate)."""
        self.balances.update(later.balances)
        self.orders.update(later.orders)
        self.fills.extend(later.fills)
        self.raw.update(later.raw)


_Fingerprint = tuple[str, Decimal, Decimal, int]


class AccountStore:
    """Balances, open orders and the fills seen so far, for one account.

    `match_fills_across_sources`: some exchanges (BitoPro) give a fill one id on the stream and
    another over REST. Then a REST fill whose (order, price, amount, second) matches a stream fill
    not yet matched is the same fill, and the reverse.
    """

    def __init__(self, *, match_fills_across_sources: bool = False) -> None:
        self.balances: dict[str, Balance] = {}
        self.orders: dict[str, Order] = {}
        self.raw: dict[str, str] = {}  # channel -> last payload, for exchanges whose fields are unsure
        self.last_fill_ms = 0
        self._match_across = match_fills_across_sources
        self._seen_trade_ids: OrderedDict[str, None] = OrderedDict()
        self._unmatched: dict[bool, Counter[_Fingerprint]] = {False: Counter(), True: Counter()}

    def apply(self, event: Event) -> Changes:
        match event:
            case BalancesEvent():
                return self._apply_balances(event)
            case OrdersEvent():
                return self._apply_orders(event)
            case FillEvent():
                return self._apply_fill(event.fill)
            case RawPayload(channel=channel, text=text):
                self.raw[channel] = text
                return Changes(raw={channel: text})
        return Changes()

    def markets(self) -> set[str]:
        """Markets with open orders, for the REST fill recovery after a gap."""
        return {o.market for o in self.orders.values()}

    def _apply_balances(self, event: BalancesEvent) -> Changes:
        changes = Changes()
        known, changed = self.balances, changes.balances
        for balance in event.balances:  # BitoPro sends every currency (~50) on every change
            asset = balance.asset
            if known.get(asset) != balance:  # a Struct compares in C; None (a new asset) never equals
                known[asset] = changed[asset] = balance
        if event.complete:
            listed = {b.asset for b in event.balances}
            for asset in [a for a in self.balances if a not in listed]:
                del self.balances[asset]
                changes.balances[asset] = None
        return changes

    def _apply_orders(self, event: OrdersEvent) -> Changes:
        changes = Changes()
        for order in event.orders:
            known = self.orders.get(order.order_id)
            if order.status.is_open:
                if known is not None and order.updated_ms < known.updated_ms:
                    # A snapshot that cannot say when an order last changed (Bitstamp's REST gives its
                    # creation time) does not move it back in time, nor count as a change by that alone.
                    order = replace(order, updated_ms=known.updated_ms)
                if known != order:
                    self.orders[order.order_id] = order
                    changes.orders[order.order_id] = order
            elif known is not None:
                del self.orders[order.order_id]
                changes.orders[order.order_id] = order
        if event.complete:
            listed = {o.order_id for o in event.orders}
            for order_id in [i for i in self.orders if i not in listed]:
                closed = self._closed_unseen(self.orders.pop(order_id), event.time_ms)
                changes.orders[order_id] = closed
        return changes

    @staticmethod
    def _closed_unseen(order: Order, time_ms: int) -> Order:
        """An open order missing from a snapshot closed while we were not looking: filled if the fills
        we know of cover it, else cancelled."""
        status = OrderStatus.FILLED if order.filled >= order.amount else OrderStatus.CANCELLED
        return replace(order, status=status, updated_ms=max(order.updated_ms, time_ms))

    def _apply_fill(self, fill: Fill) -> Changes:
        if fill.trade_id in self._seen_trade_ids:
            return Changes()
        self._remember(fill.trade_id)
        if self._match_across:
            key = (fill.order_id, fill.price, fill.amount, fill.time_ms // 1000)
            twins = self._unmatched[not fill.late]
            if twins[key]:
                twins[key] -= 1
                if not twins[key]:
                    del twins[key]
                return Changes()
            unmatched = self._unmatched[fill.late]
            unmatched[key] += 1
            self._forget_old_twins(unmatched, max(self.last_fill_ms, fill.time_ms) // 1000)
        self.last_fill_ms = max(self.last_fill_ms, fill.time_ms)
        changes = Changes(fills=[fill])
        order = self.orders.get(fill.order_id)
        if order is not None and fill.late:
            # A fill learnt after a gap also moves its order, which the stream may never re-send.
            filled = min(order.amount, order.filled + fill.amount)
            status = OrderStatus.FILLED if filled >= order.amount else OrderStatus.PARTIALLY_FILLED
            moved = replace(
                order, filled=filled, status=status, updated_ms=max(order.updated_ms, fill.time_ms)
            )
            if status.is_open:
                self.orders[order.order_id] = moved
            else:
                del self.orders[order.order_id]
            changes.orders[order.order_id] = moved
        return changes

    @staticmethod
    def _forget_old_twins(unmatched: Counter[_Fingerprint], newest_s: int) -> None:
        """Every stream fill waits here for a REST twin that mostly never comes. The engine only asks
        REST for fills since the newest one seen (less a few seconds), so a fingerprint ten minutes
        older than that can never be matched: forget it (and never keep more than the seen ids)."""
        while unmatched:
            oldest = next(iter(unmatched))  # arrival order, which is time order but for late fills
            if oldest[3] >= newest_s - _TWIN_WINDOW_S and len(unmatched) <= _SEEN_FILLS_KEPT:
                return
            del unmatched[oldest]

    def _remember(self, trade_id: str) -> None:
        self._seen_trade_ids[trade_id] = None
        if len(self._seen_trade_ids) > _SEEN_FILLS_KEPT:
            self._seen_trade_ids.popitem(last=False)
