"""Keeps the window's account tabs in step with the accounts file while the app runs.

The accounts dialog writes the file (and the keyring); `AccountManager.reload` then reads both again and
compares with what runs: a removed or disabled account's runner stops and its tab goes; a new or enabled
one gets a tab and starts; a changed one (endpoints, label, keys) restarts in the same place.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from gui.accounts_dialog import AccountsDialog
from gui.controller import AccountController
from gui.main_window import MainWindow
from streams.app import AccountEntry, configured_accounts
from streams.config import ConfigError
from streams.engine import Timing

log = logging.getLogger(__name__)


def _same(a: AccountEntry, b: AccountEntry) -> bool:
    return a.config == b.config and a.credentials == b.credentials and a.error == b.error


class AccountManager(QObject):
    reloaded = Signal()  # the tabs match the file again

    def __init__(self, window: MainWindow, config_path: Path, timing: Timing | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.config_path = config_path
        self.timing = timing
        self.dialog: AccountsDialog | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        window.manage_accounts_requested.connect(self.open_dialog)

    def open_dialog(self) -> AccountsDialog:
        if self.dialog is None:
            self.dialog = AccountsDialog(self.config_path, self.window)
            self.dialog.accounts_changed.connect(self.schedule_reload)
        self.dialog.reload()
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        return self.dialog

    def schedule_reload(self) -> None:
        task = asyncio.get_running_loop().create_task(self.reload())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def reload(self) -> None:
        async with self._lock:  # one at a time: two quick edits must not start one account twice
            try:
                # the keyring may prompt (locked): off the GUI thread, so the window stays responsive
                entries = await asyncio.to_thread(configured_accounts, self.config_path)
            except ConfigError as exc:
                log.error("%s", exc)
                return
            wanted = {entry.config.id: entry for entry in entries}
            positions: dict[str, int] = {}
            for controller in list(self.window.controllers):
                entry = wanted.get(controller.account_id)
                if entry is not None and _same(entry, controller.entry):
                    continue
                controller.stop()
                await controller.stopped()
                positions[controller.account_id] = self.window.remove_account(controller.account_id)
            running = {c.account_id for c in self.window.controllers}
            for entry in entries:
                if entry.config.id in running:
                    continue
                controller = AccountController(entry, timing=self.timing)
                self.window.add_account(controller, positions.get(entry.config.id))
                controller.start()
            self.reloaded.emit()

    async def close(self) -> None:
        """Let a reload in progress finish (it starts runners the app must then stop)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
