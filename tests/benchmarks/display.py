"""A display for the GUI benchmarks: the current one, else Xvfb (xvfb-run), else Qt's offscreen."""

from __future__ import annotations

import os
import shutil
import sys


def ensure_display(argv: list[str]) -> None:
    if any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        return
    if shutil.which("xvfb-run"):
        command = [
            "xvfb-run",
            "-a",
            "-s",
            "-screen 0 1280x1024x24",
            sys.executable,
            "-m",
            "tests.benchmarks",
            *argv,
        ]
        os.execvp(command[0], command)
    os.environ["QT_QPA_PLATFORM"] = "offscreen"


def describe() -> str:
    platform = os.environ.get("QT_QPA_PLATFORM") or ("xcb" if os.environ.get("DISPLAY") else "default")
    return f"Qt platform {platform}" + (
        f", DISPLAY {os.environ['DISPLAY']}" if os.environ.get("DISPLAY") else ""
    )
