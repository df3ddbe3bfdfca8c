"""The GUI entry point the CLI calls: a QApplication, a qasync loop, the window and the runners.

Everything async (runners, simulators) runs as tasks on the one qasync loop, so the UI thread never
waits on the network. Closing the window (or Ctrl+C, or the session quitting) cancels the runners,
waits for them to close their sockets, then leaves the entries' context so simulators stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication

from gui import startup
from gui.account_manager import AccountManager
from gui.controller import AccountController
from gui.main_window import APPLICATION, ORGANISATION, MainWindow
from gui.notifications import Notifications
from gui.style import app_icon
from streams.app import EntriesFactory
from streams.engine import Timing


def run_gui(
    entries_factory: EntriesFactory, *, timing: Timing | None = None, config_path: Path | None = None
) -> int:
    """Show the window until the user closes it; returns the process exit code. `entries_factory()`
    is entered on the loop (e.g. `demo_accounts`, whose simulators then run on it too); what it
    raises (a ConfigError, say) propagates to the caller. With `config_path`, Accounts > Manage
    accounts edits that file and the tabs follow (and with no account yet, the dialog opens at once)."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Account Monitor")
    app.setDesktopFileName("account-monitor")  # Wayland app id: matches packaging/linux/*.desktop
    app.setStyle("Fusion")
    app.setWindowIcon(app_icon())
    # Closing the window must not stop the loop before the runners have shut down: we quit ourselves.
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            main = loop.create_task(_main(app, entries_factory, timing, config_path))
            try:
                return loop.run_until_complete(main)
            except RuntimeError:
                if main.done():
                    raise
                # Qt's loop ended first (app.quit() from the session); finish the shutdown cleanly.
                return loop.run_until_complete(main)
    finally:
        asyncio.set_event_loop(None)


async def _main(
    app: QApplication, entries_factory: EntriesFactory, timing: Timing | None, config_path: Path | None
) -> int:
    closing = asyncio.Event()
    app.aboutToQuit.connect(closing.set)
    try:
        with _quit_on_sigint(closing):
            async with entries_factory() as entries:
                controllers = [AccountController(entry, timing=timing) for entry in entries]
                window = MainWindow(controllers)
                notifications = Notifications(window, controllers)  # Fills tab, tray, notifications
                window.closed.connect(closing.set)
                startup.watch(app, window.account_tabs)
                manager = AccountManager(window, config_path, timing) if config_path else None
                window.manage_accounts_action.setEnabled(manager is not None)
                window.show()
                for controller in controllers:
                    controller.start()
                if manager is not None and not controllers:
                    manager.open_dialog()
                try:
                    await closing.wait()
                finally:
                    if manager is not None:
                        await manager.close()
                    for controller in window.controllers:  # the dialog may have added or removed some
                        controller.stop()
                    await asyncio.gather(*(c.stopped() for c in window.controllers))
                    await notifications.aclose()
                    window.close()  # saves geometry and tab when Ctrl+C, not the window, ended it
    finally:
        app.aboutToQuit.disconnect(closing.set)
    return 0


@contextlib.contextmanager
def _quit_on_sigint(closing: asyncio.Event) -> Iterator[None]:
    """Ctrl+C in the terminal, or SIGTERM from the session, closes the app the same clean way as the
    window's close button. (Python runs the handler the next time it gets control: within the
    window's one-second tick.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous = {
        signum: signal.signal(signum, lambda *_: loop.call_soon_threadsafe(closing.set))
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
