"""Packaged resources load through importlib.resources, and the window refuses to start blind."""

import os
import subprocess
import sys

import pytest


@pytest.mark.gui
def test_app_icon_loads(qapp):
    from gui.style import app_icon

    icon = app_icon()
    assert not icon.isNull() and icon.availableSizes()


def test_gui_without_a_display_says_so_in_one_line():
    env = {k: v for k, v in os.environ.items() if k not in {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}}
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "--demo"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "account-monitor: no display to open the window on (DISPLAY is not set); try --headless"
    )
