"""Start-up: `account-monitor --demo -v` from spawn to the first painted window and to the first
balance in a table, read from the app's own start-up log lines (gui/startup.py). No sleeps."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.benchmarks.report import header, median, say

MARK = re.compile(
    r"startup: (?P<step>[a-z ]+) at=(?P<at>[0-9.]+) "
    r"\((?P<since>[0-9.]+) s after process start, cpu (?P<cpu>[0-9.]+) s\)"
)
STEPS = ("window painted", "first balance shown")


def _command() -> list[str]:
    script = Path(sys.executable).with_name("account-monitor")
    return [str(script)] if script.exists() else [sys.executable, "-m", "streams.cli"]


def once(timeout_s: float = 60) -> dict[str, float]:
    env = {**os.environ, "XDG_CONFIG_HOME": tempfile.mkdtemp(prefix="bench-startup-")}
    started = time.time()
    process = subprocess.Popen([*_command(), "--demo", "-v"], stderr=subprocess.PIPE, text=True, env=env)
    found: dict[str, float] = {}
    try:
        assert process.stderr is not None
        deadline = started + timeout_s
        for line in process.stderr:
            match = MARK.search(line)
            if match and match["step"] in STEPS:
                found[match["step"]] = float(match["at"]) - started
                found[match["step"] + " (app)"] = float(match["since"])
                found[match["step"] + " (cpu)"] = float(match["cpu"])
            if all(s in found for s in STEPS) or time.time() > deadline:
                break
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return found


def main(runs: int = 5) -> dict[str, Any]:
    header(f"Start-up: account-monitor --demo, {runs} runs (from spawn, by the app's own log lines)")
    results = [once() for _ in range(runs)]
    out: dict[str, Any] = {}
    for step in STEPS:
        values = [r[step] for r in results if step in r]
        if not values:
            say(f"{step}: never logged")
            continue
        out[step] = {"median": median(values), "max": max(values), "runs": values}
        app = [r[step + " (app)"] for r in results if step + " (app)" in r]
        cpu = [r[step + " (cpu)"] for r in results if step + " (cpu)" in r]
        out[step]["cpu_median"] = median(cpu)
        say(
            f"to {step:<20} median {median(values):.3f} s, max {max(values):.3f} s "
            f"(runs {', '.join(f'{v:.2f}' for v in values)}; the app's own count from process start: "
            f"median {median(app):.2f} s; CPU time it had used by then: median {median(cpu):.2f} s)"
        )
    return out
