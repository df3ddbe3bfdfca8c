"""The start-up marks the start-up benchmark reads: a real `account-monitor --demo -v` on the test
display logs when its window was first painted and when the first balance reached a table."""

import os
import re
import signal
import subprocess
import sys

import pytest

from tests.benchmarks.startup import MARK

pytestmark = pytest.mark.gui


def test_demo_window_logs_first_paint_then_first_balance(tmp_path):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "--demo", "-v"], stderr=subprocess.PIPE, text=True, env=env
    )
    seen: dict[str, tuple[float, float]] = {}
    try:
        assert process.stderr is not None
        for line in process.stderr:
            match = MARK.search(line)
            if match:
                seen[match["step"]] = (float(match["at"]), float(match["since"]))
            if "first balance shown" in seen:
                break
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0
    assert set(seen) == {"window shown", "window painted", "first balance shown"}
    shown, painted, balance = (seen[s] for s in ("window shown", "window painted", "first balance shown"))
    assert shown[0] <= painted[0] and shown[0] <= balance[0]
    assert 0 < shown[1] <= painted[1] + 0.02  # time since process start: /proc has 10 ms steps


def test_without_verbose_no_startup_lines(tmp_path):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "--demo"], stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        _, err = process.communicate(timeout=4)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert not re.search("startup:", err)
