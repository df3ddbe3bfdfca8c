"""Shared fixtures. Qt is imported inside the GUI fixtures only, so non-GUI tests never load it."""

from __future__ import annotations

import asyncio
import gc
import sys

import pytest

from tests.public_hosts import _never_contact_public_test_hosts  # noqa: F401 - an autouse fixture


@pytest.fixture
def qloop(qapp):
    """A qasync loop that runs whenever Qt pumps events (qtbot.waitUntil drives both).

    Function-scoped, and torn down without `loop.stop()` (which would quit the QApplication and starve
    the next test's loop): see /work/shared/env/desktop-tests.md, pitfalls P3-P5.
    """
    import qasync

    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    for task in asyncio.all_tasks(loop):
        task.cancel()
    qapp.processEvents()
    loop._QEventLoop__is_running = False
    asyncio.events._set_running_loop(None)
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def qt_settings(tmp_path, monkeypatch):
    """Point QSettings (and XDG_CONFIG_HOME) at a temp dir so tests never read or write the user's."""
    from PySide6.QtCore import QSettings

    config = tmp_path / "config"
    config.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(config))
        QSettings.setPath(fmt, QSettings.Scope.SystemScope, str(tmp_path / "system"))
    return config


@pytest.fixture(scope="session")
def qt_binding_problem():
    """Why this PySide6 cannot run the GUI, or None. PySide6 6.12.0 on Python 3.11 loses a reference
    to None on every call of a void method and to True on every emit (3.12 made both immortal, which
    hides it): the window, and this test run, abort within minutes ('Fatal Python error:
    none_dealloc'). 6.11.3 is sound."""
    import PySide6
    from PySide6.QtCore import QObject, QTimer, Signal

    class Probe(QObject):
        ping = Signal()

    probe, timer = Probe(), QTimer()
    gc.collect()
    none, true = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(100):
        timer.stop()
        probe.ping.emit()
    lost_none, lost_true = none - sys.getrefcount(None), true - sys.getrefcount(True)
    if lost_none < 50 and lost_true < 50:
        return None
    return (
        f"PySide6 {PySide6.__version__} on Python {sys.version.split()[0]} drops references "
        f"({lost_none} to None, {lost_true} to True in 100 calls) and would crash the app and this run: "
        "install PySide6-Essentials<6.12 (6.11.3 is sound) or use Python 3.12+"
    )


@pytest.fixture(autouse=True)
def _sound_qt_binding(request):
    """GUI tests fail with the reason above instead of aborting the whole run midway."""
    if request.node.get_closest_marker("gui") is not None:
        problem = request.getfixturevalue("qt_binding_problem")
        if problem:
            pytest.fail(problem, pytrace=False)


def pytest_terminal_summary(terminalreporter):
    """The reliability figures (tests/reliability.py), when a chaos, backoff or isolation test ran."""
    from tests.reliability import SUMMARY

    if SUMMARY.scenarios or SUMMARY.faults:
        terminalreporter.section("reliability summary")
        for line in SUMMARY.lines():
            terminalreporter.write_line(line)
