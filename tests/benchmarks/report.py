"""Printing helpers shared by the benchmarks: the machine, percentiles, and a frame counter."""

from __future__ import annotations

import asyncio
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, {platform.system()}"


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"


def header(title: str) -> None:
    print(f"\n== {title}  [{machine()}; commit {commit()}]", flush=True)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return percentile(values, 50)


def say(text: str) -> None:
    print(text, flush=True)
    sys.stdout.flush()


class FrameCounter:
    """Counts processed frames once armed; remembers when the first and the last expected one were
    done. The same few operations per frame for every client measured."""

    def __init__(self) -> None:
        self.total = 0  # every tick, armed or not
        self.count = 0
        self.expected = 0
        self.first = 0.0
        self.last = 0.0
        self.armed = False
        self.done = asyncio.Event()

    def arm(self, expected: int) -> None:
        self.count, self.expected, self.first, self.last = 0, expected, 0.0, 0.0
        self.done = asyncio.Event()
        self.armed = True

    def tick(self) -> None:
        self.total += 1
        if not self.armed:
            return
        self.count += 1
        if self.count == 1:
            self.first = time.perf_counter()
        if self.count >= self.expected:
            self.last = time.perf_counter()
            self.armed = False
            self.done.set()

    def rate(self) -> float:
        span = self.last - self.first
        return (self.count - 1) / span if span > 0 else float("nan")
