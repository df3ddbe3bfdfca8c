"""The real GUI (gui.app.run_gui: QApplication, qasync loop, controllers, MainWindow) on accounts whose
simulators run in a second process, with a scenario task that runs once every account is live.

Used by the UI-responsiveness and footprint benchmarks. Settings go to a throw-away directory, so a
developer's saved window geometry and tab neither change nor change the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from streams.app import AccountEntry
from streams.config import AccountConfig
from streams.exchange import Credentials
from streams.exchanges import EXCHANGES
from streams.model import State
from tests.benchmarks.simproc import SimProcess

Scenario = Callable[[Any, list[SimProcess]], Awaitable[None]]  # (MainWindow, one process per exchange)


def demo_exchanges(count: int) -> list[str]:
    """`count` accounts over the registered exchanges, round-robin (the demo's mix: one of each)."""
    names = list(EXCHANGES)
    return [names[k % len(names)] for k in range(count)]


def run(
    count: int, scenario: Scenario, live_timeout_s: float = 60.0, exchanges: list[str] | None = None
) -> None:
    """Open the window on `count` accounts (of `exchanges`, default the demo's mix) and run `scenario`
    once all are live; then close."""
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="bench-config-")
    from PySide6.QtWidgets import QApplication

    from gui.app import run_gui
    from gui.main_window import MainWindow

    exchanges = exchanges or demo_exchanges(count)
    failure: list[BaseException] = []

    async def drive(sims: list[SimProcess]) -> None:
        try:
            window = None
            async with asyncio.timeout(live_timeout_s):
                while window is None or not all(
                    c.last_status.state is State.LIVE for c in window.controllers
                ):
                    await asyncio.sleep(0.05)
                    window = next(
                        (w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)), None
                    )
            await scenario(window, sims)
        except BaseException as exc:
            failure.append(exc)
        finally:
            for w in QApplication.topLevelWidgets():
                if isinstance(w, MainWindow):
                    w.close()

    @contextlib.asynccontextmanager
    async def entries() -> AsyncIterator[list[AccountEntry]]:
        groups: dict[str, list[int]] = {}
        for k, name in enumerate(exchanges):
            groups.setdefault(name, []).append(k)
        sims = [SimProcess(name, len(ks)) for name, ks in groups.items()]
        try:
            out = []
            for sim, (name, ks) in zip(sims, groups.items(), strict=True):
                infos = await sim.start()
                spec = EXCHANGES[name]
                for k, info in zip(ks, infos, strict=True):
                    account = AccountConfig(
                        f"bench-{k + 1}", name, f"{spec.title} {k + 1}", info.ws_url, info.rest_url
                    )
                    out.append(AccountEntry(account, spec, Credentials(info.credentials)))
            task = asyncio.create_task(drive(sims))
            try:
                yield out
            finally:  # the window closed (by the scenario, or Ctrl+C / SIGTERM before it ended)
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        finally:
            for sim in sims:
                await sim.stop()

    run_gui(entries)
    if failure:
        raise failure[0]
