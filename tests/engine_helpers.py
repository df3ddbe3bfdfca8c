"""Shared by the engine tests: a recording sink, a condition poller, timings shrunk for tests, and
how to compare the client's state with the simulator's truth."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from streams.engine import Timing, Update
from streams.model import State, Status
from streams.store import AccountStore, Changes

FAST = Timing(
    first_backoff_s=0.05,
    backoff_cap_s=0.3,
    auth_retry_s=0.6,
    auth_retry_cap_s=2.0,
    silence_s=1.0,
    ws_ping_interval_s=0.2,
    refresh_delay_s=0.05,
    refresh_retry_s=0.3,
    clock_check_s=0.2,
)


class Recorder:
    """A sink that keeps every update, as the GUI or the headless printer would receive them."""

    def __init__(self) -> None:
        self.statuses: list[Status] = []
        self.fills = []

    def __call__(self, update: Update) -> None:
        if isinstance(update, Status):
            self.statuses.append(update)
        else:
            assert isinstance(update, Changes)
            self.fills.extend(update.fills)

    @property
    def state(self) -> State | None:
        return self.statuses[-1].state if self.statuses else None

    def saw(self, state: State) -> bool:
        return any(s.state is state for s in self.statuses)


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll `condition` until true; fail with `what` after `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


def fill_shapes(fills) -> Counter:
    """Fills compared without ids: stream and REST name one fill differently on BitoPro."""
    return Counter((f.order_id, f.price, f.amount) for f in fills)


def matches_truth(store: AccountStore, truth) -> bool:
    return store.balances == truth.balances and store.orders == truth.open_orders


def fragments(secret: str, key: str, size: int = 6) -> set[str]:
    """Pieces of the secret that are not also pieces of the key: websockets' DEBUG log shows only the
    start and end of a frame, so a leak may be part of the secret."""
    return {secret[i : i + size] for i in range(len(secret) - size + 1)} - {
        key[i : i + size] for i in range(len(key) - size + 1)
    }


def _essence(order):
    """An order without its times: exchanges stamp them at different resolutions (Bitstamp's REST
    gives seconds), so cross-exchange tests compare everything else."""
    return (order.market, order.side, order.price, order.amount, order.filled, order.status)


def converged_on_truth(store: AccountStore, truth) -> bool:
    """`matches_truth` for tests that run against every exchange."""
    return store.balances == truth.balances and {i: _essence(o) for i, o in store.orders.items()} == {
        i: _essence(o) for i, o in truth.open_orders.items()
    }
