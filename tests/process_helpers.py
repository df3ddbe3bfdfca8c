"""Shared by tests that run the real `account-monitor` process: a simulator on a thread (so the test can
inject faults while the child talks to it) and a line reader with timeouts for the child's stdout."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time


class SimulatorThread:
    """A simulator on its own loop in a thread, so a test can inject faults while a child process
    (the real `account-monitor`) talks to it."""

    def __init__(self, spec) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.sim = spec.make_simulator(seed=9)
        self.call(self.sim.start())

    def call(self, coro, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.call(self.sim.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class Lines:
    """A child's stdout read line by line on a thread, so the test can wait for a line with a timeout."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, predicate, start: int = 0, timeout: float = 30.0) -> int:
        """The index of the first line from `start` on whose JSON object satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        index = start
        while True:
            while index < len(self.lines):
                if predicate(json.loads(self.lines[index])):
                    return index
                index += 1
            try:
                line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None or time.monotonic() > deadline:
                raise AssertionError(f"no such line within {timeout} s; got {self.lines[-5:]}")
            self.lines.append(line)
