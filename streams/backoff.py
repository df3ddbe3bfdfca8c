"""Reconnect delays: exponential, capped and jittered, so a fleet of clients never retries in step."""

from __future__ import annotations

import random
from collections.abc import Iterator


def backoff(first: float = 0.5, cap: float = 30.0, rng: random.Random | None = None) -> Iterator[float]:
    """Delays in seconds: each drawn from [d/2, d] where d doubles from `first` up to `cap`."""
    draw = rng or random.Random()
    delay = first
    while True:
        yield draw.uniform(delay / 2, delay)
        delay = min(cap, delay * 2)
