"""The reliability figures of one test run, collected by the chaos, backoff and isolation tests and
printed at the end of the suite by `pytest_terminal_summary` in tests/conftest.py.

One module-level `SUMMARY`: pytest runs the tests of this suite in one process, one at a time."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class ReliabilitySummary:
    scenarios: int = 0  # chaos scenarios and soak rounds run to the end
    faults: Counter[str] = field(default_factory=Counter)  # faults injected, by kind
    reconnects: int = 0  # the runners' reconnects after a failure (switches not included)
    fresh_connections: int = 0  # websocket upgrades the simulators saw beyond each run's first
    fills_checked: int = 0  # truth fills compared with what the client reported
    mismatches: int = 0  # final states that differed from the truth (must stay 0)
    failed: list[str] = field(default_factory=list)  # "exchange seed=N" of each mismatch, to rerun

    def lines(self) -> list[str]:
        faults = ", ".join(f"{kind} {n}" for kind, n in sorted(self.faults.items())) or "none"
        lines = [
            f"scenarios run: {self.scenarios}",
            f"faults injected: {sum(self.faults.values())} ({faults})",
            f"reconnects: {self.reconnects}; fresh connections: {self.fresh_connections}",
            f"fills checked: {self.fills_checked}",
            f"mismatches: {self.mismatches}",
        ]
        if self.failed:
            lines.append("reproduce with: " + "; ".join(self.failed))
        return lines


SUMMARY = ReliabilitySummary()
