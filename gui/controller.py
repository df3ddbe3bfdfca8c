"""One QObject per account that bridges the asyncio engine and Qt.

The engine calls the sink on the loop's thread (qasync: the GUI thread), so re-emitting is a plain
signal emit: no locks, no thread hops. The runner is a task on the running loop; the UI never waits on
the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from streams.engine import AccountRunner, Timing, Update
from streams.exchange import Credentials
from streams.model import State, Status, now_ms

if TYPE_CHECKING:
    from streams.app import AccountEntry

log = logging.getLogger(__name__)


class AccountController(QObject):
    """Wraps one `AccountEntry`. An entry with an `error` gets no runner: its tab shows the error."""

    changed = Signal(object)  # streams.store.Changes
    status = Signal(object)  # streams.model.Status

    def __init__(
        self, entry: AccountEntry, *, timing: Timing | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.entry = entry
        self.error = entry.error
        self.runner: AccountRunner | None = None
        if self.error is None and entry.spec is not None and entry.credentials is not None:
            self.runner = AccountRunner(entry.config, entry.spec, entry.credentials, self.sink, timing=timing)
        elif self.error is None:
            self.error = "this account has no exchange module or no credentials"
        self.last_status = Status(State.OFFLINE, self.error or "not started", now_ms())
        self._changed_ms = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def account_id(self) -> str:
        return self.entry.config.id

    @property
    def title(self) -> str:
        """The account's label (its id when it has none): the tab title."""
        return self.entry.config.title

    @property
    def exchange_title(self) -> str:
        return self.entry.spec.title if self.entry.spec is not None else self.entry.config.exchange

    @property
    def last_data_ms(self) -> int:
        """When data last arrived: the runner's clock (it counts frames that changed nothing, too)."""
        return max(self.runner.last_data_ms if self.runner else 0, self._changed_ms)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def sink(self, update: Update) -> None:
        """The runner's sink: a `Status` or a `Changes`, re-emitted as the matching signal."""
        if isinstance(update, Status):
            self.last_status = update
            self.status.emit(update)
        else:
            self._changed_ms = now_ms()
            self.changed.emit(update)

    def start(self) -> None:
        """Run the account as a task on the running loop (nothing to run for an entry with an error)."""
        if self.runner is None or self.running:
            return
        self._task = asyncio.get_running_loop().create_task(
            self.runner.run(), name=f"account:{self.account_id}"
        )
        self._task.add_done_callback(self._finished)

    def stop(self) -> None:
        """Cancel the runner; it reports `offline` on its way out. `await stopped()` to wait for it."""
        if self._task is not None:
            self._task.cancel()

    async def restart(self, credentials: Credentials | None = None) -> None:
        """Stop the runner, hand it new credentials if given (a pasted token), and start it again at
        once, without waiting out the slow auth retry. The runner keeps its store, so the tables are
        diffed, not refilled, and fills missed meanwhile are recovered."""
        if self.runner is None:
            return
        self.stop()
        await self.stopped()
        if credentials is not None:
            self.runner.replace_credentials(credentials)
            self.entry = replace(self.entry, credentials=credentials)
        self.start()

    async def stopped(self) -> None:
        """Wait until the runner has closed its sockets and its HTTP session."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _finished(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:  # a bug, not a network problem: those the runner handles itself
            log.error("%s: the account stopped: %r", self.account_id, exc, exc_info=exc)
            self.sink(Status(State.OFFLINE, f"stopped by an internal error: {exc}", now_ms()))
