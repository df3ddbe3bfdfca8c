"""Checks shared by the bundle and the wheel tests: run an installed `account-monitor` as a user
would (clean environment, no checkout on the path) and judge what it prints and shows.

The JSON contract is the one tests/test_headless.py pins; this module only adds what a packaging
failure looks like: a missing exchange module, a missing icon, a window that never opens.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from streams.exchanges import EXCHANGES
from tests.notify_bus import NotifyWatcher
from tests.test_headless import AMOUNTS, KEYS, ORDER_STATUSES

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "dist" / "packaging-report.txt"
LIVE_COLOUR = "#2e9d4a"  # gui.style.STATE_COLOURS[State.LIVE]: the overview's state light


def report(line: str) -> None:
    """Measurements go to dist/packaging-report.txt (packaging/test prints it), not into asserts."""
    REPORT.parent.mkdir(exist_ok=True)
    with REPORT.open("a", encoding="utf-8") as out:
        out.write(line + "\n")
    print(line)


def clean_env(home: Path, path_dirs: tuple[str, ...] = ()) -> dict[str, str]:
    """What a desktop session hands a program: display, session bus, a home; no venv, no PYTHONPATH,
    no checkout. Config and QSettings land in `home`, never in the developer's real ones."""
    env = {
        "HOME": str(home),
        "PATH": ":".join([*path_dirs, "/usr/bin", "/bin"]),
        "LANG": "C.UTF-8",
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
    }
    for name in ("DISPLAY", "XAUTHORITY", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def check_headless_output(stdout: str) -> dict[str, int]:
    """Every line keeps the contract, all four line types appear, and every registered exchange's
    demo account went connecting -> syncing -> live and ended offline. Returns counts per type."""
    counts = dict.fromkeys(KEYS, 0)
    states: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        obj = json.loads(line)
        assert set(obj) == KEYS[obj["type"]], obj
        for key in AMOUNTS & set(obj):
            assert isinstance(obj[key], str) and "e" not in obj[key].lower(), obj
            Decimal(obj[key])
        assert obj["ts"].endswith("Z"), obj
        if obj["type"] == "order":
            assert obj["status"] in ORDER_STATUSES, obj
        counts[obj["type"]] += 1
        if obj["type"] == "status":
            states.setdefault(obj["exchange"], []).append(obj["state"])
    assert all(counts.values()), counts
    # A simulator or connector module the bundle lacks would show up as a missing exchange here.
    assert set(states) == set(EXCHANGES), (sorted(states), sorted(EXCHANGES))
    for exchange, seen in states.items():
        assert seen[:3] == ["connecting", "syncing", "live"] and seen[-1] == "offline", (exchange, seen)
    return counts


def time_to_first_line(command: list[str], env: dict[str, str], cwd: Path) -> float:
    """Seconds from starting `command --headless --demo` to its first JSON line on stdout."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [*command, "--headless", "--demo", "--for", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    elapsed = time.monotonic() - started
    proc.stdout.read()
    assert proc.wait(timeout=60) == 0
    assert json.loads(first)["type"] == "status"
    return elapsed


def _app_window() -> tuple[str, int, int] | None:
    """The main window's X id and size, once it is mapped (WM_CLASS account-monitor)."""
    tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True, check=True).stdout
    match = re.search(
        r'(0x[0-9a-f]+) "Account Monitor": \("account-monitor" "account-monitor"\)\s+(\d+)x(\d+)', tree
    )
    if not match or int(match.group(2)) < 200:
        return None
    return match.group(1), int(match.group(2)), int(match.group(3))


_GRAB = """
import json, sys
from PySide6.QtGui import QColor, QGuiApplication
app = QGuiApplication([])
image = app.primaryScreen().grabWindow(int(sys.argv[1], 16)).toImage()
image.save(sys.argv[2])
live = QColor(sys.argv[3]).rgb()
pixels = [image.pixel(x, y) for y in range(0, image.height(), 2) for x in range(0, image.width(), 2)]
print(json.dumps({"width": image.width(), "height": image.height(), "colours": len(set(pixels)),
                  "live_pixels": sum(p == live for p in pixels)}))
"""


def check_window(command: list[str], env: dict[str, str], cwd: Path, screenshot: Path) -> dict[str, int]:
    """Open `command --demo` on the current X display, wait until the engine says live and the
    window is mapped with its icon, screenshot it, wait for a fill notification to reach the
    notification daemon over the session bus, then SIGTERM: it must close cleanly (exit 0)."""
    log = cwd / "window-stderr.log"
    watcher = NotifyWatcher().start()
    with log.open("w") as err:
        proc = subprocess.Popen(
            [*command, "--demo", "-v"], stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=cwd
        )

    def alive() -> None:
        if proc.poll() is not None:
            raise AssertionError(f"exited with {proc.returncode}:\n{log.read_text()[-3000:]}")

    def all_live() -> bool:
        alive()
        return log.read_text().count(": live (") >= len(EXCHANGES)

    def mapped() -> tuple[str, int, int] | None:
        alive()
        return _app_window()

    try:
        wait_for(all_live, 60, "every demo account to be live")
        wid, _, _ = wait_for(mapped, 60, "the main window to be mapped")
        props = subprocess.run(
            ["xprop", "-id", wid, "_NET_WM_ICON"], capture_output=True, text=True, check=True
        ).stdout
        # The icon is the SVG from `resources`, drawn by Qt's svg image plugin: both must be bundled.
        assert "Icon (" in props, props[:300]
        time.sleep(1.5)  # the first coalesced repaint after live
        grabbed = subprocess.run(
            [sys.executable, "-c", _GRAB, wid, str(screenshot), LIVE_COLOUR],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "QT_QPA_PLATFORM": "xcb"},
        )
        assert grabbed.returncode == 0, grabbed.stderr
        seen = json.loads(grabbed.stdout)
        assert seen["colours"] > 20, seen  # text and tables, not a blank or black window
        assert seen["live_pixels"] > 10, seen  # the green state light of a live account

        def notified() -> list[str]:
            alive()
            return [c.summary for c in watcher.snapshot() if c.app_name == "account-monitor"]

        # desktop-notifier's backend and data are loaded at run time: a bundle without them fails here.
        seen["notifications"] = len(wait_for(notified, 90, "a fill notification on the session bus"))
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        watcher.close()
    assert code == 0, log.read_text()[-2000:]
    # Closing saved the window's geometry where the README says (QSettings, XDG config dir).
    settings = Path(env["XDG_CONFIG_HOME"]) / "account-monitor" / "account-monitor.conf"
    assert "geometry" in settings.read_text(), settings
    # ... and the demo's own fill ledger where the README says (platformdirs' user data dir),
    # leaving the user's real fill history (fills.sqlite3) untouched.
    data = Path(env["XDG_DATA_HOME"]) / "account-monitor"
    assert (data / "demo-fills.sqlite3").is_file(), sorted(p.name for p in data.iterdir())
    assert not (data / "fills.sqlite3").exists()
    return seen
