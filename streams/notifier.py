"""Fill notifications: the ledger claims each fill, the policy decides, desktop-notifier delivers.

`FillNotifier.update(account, update)` takes what an `AccountRunner` gives its sink (the GUI forwards
its controllers' signals). Each new fill is claimed in the `FillLedger` first, so a fill seen again
(reconnect, REST twin, restart, a second window) is never notified twice; the `AlertPolicy` turns the
claimed fills into alerts; one worker task sends them in order through `DesktopSender`.

Why desktop-notifier: it is asyncio-native (dbus-fast on Linux, so it runs on the app's qasync loop
with no thread and no libdbus), speaks org.freedesktop.Notifications including the "default" action
(a click), and has native macOS and Windows backends behind the same call. Hand-written Notify calls
(jeepney, QtDBus) would cover Linux only; QSystemTrayIcon.showMessage never reached the daemon here.

No notification service: said once (log WARNING and `on_service(text)`, the GUI's status bar), fills
are recorded as undelivered, and the service is probed again at most once a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Protocol

from streams.alerts import Alert, AlertPolicy, Muted
from streams.engine import Update
from streams.ledger import FillLedger, Outcome
from streams.model import State, Status, now_ms
from streams.store import Changes

log = logging.getLogger(__name__)

APP_NAME = "account-monitor"
REPROBE_S = 60.0
# Stream fill times may be whole seconds and the exchange's clock is not ours: a fill this much older
# than the first sync still counts as seen live.
CLOCK_SLACK_MS = 2_000
NO_SERVICE = (
    "No desktop notification service is running: fills are recorded in the Fills tab but not announced"
)


class Sender(Protocol):
    async def probe(self) -> str | None:
        """None when notifications can be shown, else why not."""
        ...

    async def send(self, alert: Alert, on_clicked: Callable[[], None]) -> bool:
        """Show `alert`; True once the service took it."""
        ...

    async def aclose(self) -> None: ...


class DesktopSender:
    """desktop-notifier's `DesktopNotifier`, made to say whether a send reached the service."""

    def __init__(self, app_name: str = APP_NAME) -> None:
        from desktop_notifier import DesktopNotifier, Icon

        icon_path = Path(str(files("resources").joinpath("account-monitor.svg")))
        self._notifier = DesktopNotifier(app_name=app_name, app_icon=Icon(path=icon_path))

    async def probe(self) -> str | None:
        try:
            await self._notifier.get_capabilities()
        except Exception as exc:  # DBusError, no bus address, ...: all mean "no notifications"
            with contextlib.suppress(Exception):
                self._reset()
            return f"{type(exc).__name__}: {exc}"
        return None

    async def send(self, alert: Alert, on_clicked: Callable[[], None]) -> bool:
        from desktop_notifier import DEFAULT_SOUND

        dispatched = []
        await self._notifier.send(
            title=alert.title,
            message=alert.body,
            sound=DEFAULT_SOUND if alert.sound else None,
            on_clicked=on_clicked,
            on_dispatched=lambda: dispatched.append(True),
        )
        return bool(dispatched)

    async def aclose(self) -> None:
        self._reset()

    def _reset(self) -> None:
        """Drop the bus connection (desktop-notifier has no close): the next call makes a new one."""
        backend = self._notifier._backend
        bus = getattr(backend, "bus", None)
        if bus is not None:
            bus.disconnect()
        backend.interface = None
        backend._capabilities = None


class FillNotifier:
    """One per app. `name_of(account)` is the account's display name ('BitoPro main'); `on_activate`
    gets the account id when the user clicks a notification; `on_ledger_changed()` runs after fills
    were recorded or their outcome changed (the Fills tab refreshes); `on_service` gets None or the
    reason notifications cannot be shown."""

    def __init__(
        self,
        ledger: FillLedger,
        policy: AlertPolicy,
        sender: Sender | None,
        *,
        on_activate: Callable[[str], None] | None = None,
        on_ledger_changed: Callable[[], None] | None = None,
        on_service: Callable[[str | None], None] | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.ledger = ledger
        self.policy = policy
        self.sender = sender
        self.on_activate = on_activate
        self.on_ledger_changed = on_ledger_changed
        self.on_service = on_service
        self.service_problem: str | None = None
        self.sent: list[Alert] = []  # what reached the service, in order (for tests and the benchmark)
        self._clock = clock
        self._first_sync: dict[str, int] = {}
        self._match_across: dict[str, bool] = {}
        self._queue: asyncio.Queue[Alert] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._probed_at: float | None = None

    def add_account(self, account: str, *, match_across: bool = False) -> None:
        """`match_across`: the exchange names a fill differently on its stream and REST (its spec says)."""
        self._match_across[account] = match_across

    # ------------------------------------------------------------------ input

    def update(self, account: str, update: Update) -> None:
        """A runner's update for `account`: statuses mark the first sync, changes bring fills."""
        if isinstance(update, Status):
            if update.state in (State.SYNCING, State.LIVE) and account not in self._first_sync:
                self._first_sync[account] = self.ledger.note_first_sync(account, update.since_ms)
            return
        assert isinstance(update, Changes)
        if not update.orders and not update.fills:
            return  # balances or raw payloads only (most frames): nothing the alerts look at
        now = self._clock()
        self.policy.orders(account, update.orders.values(), now)
        new = False
        for fill in update.fills:
            if not self.ledger.record(account, fill, match_across=self._match_across.get(account, False)):
                continue
            if account not in self._first_sync:
                self._first_sync[account] = self.ledger.note_first_sync(account, now)
            historical = fill.time_ms < self._first_sync[account] - CLOCK_SLACK_MS
            self.policy.add(account, fill, now, historical=historical)
            new = True
        self._pump()
        if new:
            self._ledger_changed()

    def _pump(self) -> None:
        """Act on what the policy has decided and set the timer for its next deadline."""
        for decision in self.policy.due(self._clock()):
            if isinstance(decision, Muted):
                self.ledger.set_outcome(decision.account, decision.trade_ids, decision.outcome)
                self._ledger_changed()
            else:
                self._queue.put_nowait(decision)
                self._ensure_worker()
        self._schedule()

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        due = self.policy.next_due_ms()
        if due is None:
            return
        delay = max(0.0, (due - self._clock()) / 1000)
        self._timer = asyncio.get_running_loop().call_later(delay, self._pump)

    # ------------------------------------------------------------------ delivery

    def _ensure_worker(self) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._deliver_all(), name="fill-notifier")

    async def _deliver_all(self) -> None:
        """Take alerts in order. The service is probed here (one at a time); each Notify call then
        runs as its own task, so a daemon slow to reply (dunst redraws its stack) delays nothing
        behind it. The calls still leave in order: each writes its message before its first await."""
        while True:
            alert = await self._queue.get()
            if await self._service_ready():
                task = asyncio.get_running_loop().create_task(self._send(alert))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)
            else:
                self._finish(alert, delivered=False)

    async def _service_ready(self) -> bool:
        if self.sender is None:
            return False
        loop = asyncio.get_running_loop()
        if self._probed_at is None or (
            self.service_problem is not None and loop.time() - self._probed_at >= REPROBE_S
        ):
            self._probed_at = loop.time()
            await asyncio.gather(*self._sending, return_exceptions=True)
            self._set_problem(await self.sender.probe())
        return self.service_problem is None

    async def _send(self, alert: Alert) -> None:
        assert self.sender is not None
        delivered = False
        try:
            delivered = await self.sender.send(alert, lambda account=alert.account: self._clicked(account))
        except Exception:  # a bug must not stop later alerts: say it, record the fill as undelivered
            log.exception("sending a notification failed")
        else:
            if not delivered:
                self._set_problem("the notification service did not take the notification")
        finally:
            self._finish(alert, delivered)

    def _finish(self, alert: Alert, delivered: bool) -> None:
        if delivered:
            self.sent.append(alert)
        self.ledger.set_outcome(
            alert.account, alert.trade_ids, alert.outcome if delivered else Outcome.UNDELIVERED
        )
        self._ledger_changed()
        self._queue.task_done()

    def _set_problem(self, problem: str | None) -> None:
        if problem == self.service_problem or (problem and self.service_problem):
            return  # said once: a second reason for the same outage is not news
        self.service_problem = problem
        if problem is None:
            log.info("desktop notification service available again")
        else:
            log.warning("%s (%s)", NO_SERVICE, problem)
        if self.on_service is not None:
            self.on_service(None if problem is None else NO_SERVICE)

    def _ledger_changed(self) -> None:
        if self.on_ledger_changed is not None:
            self.on_ledger_changed()

    def _clicked(self, account: str) -> None:
        if self.on_activate is not None:
            self.on_activate(account)

    async def drain(self) -> None:
        """Wait until every alert decided so far has been handed to the service (tests, shutdown)."""
        await self._queue.join()

    async def aclose(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for task in [*self._sending, *([self._worker] if self._worker else [])]:
            task.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)
        if self._worker is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self.sender is not None:
            await self.sender.aclose()
