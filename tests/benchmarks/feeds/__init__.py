"""Feeds: what a benchmark blasts through a loopback simulator, one small module per exchange.

A feed says, for one kind of frame of one exchange:
- how the frames of a burst are built (`burst(n, simulator)`, in the simulator's process: channel names
  may depend on it) and what the simulator's truth is once they are all sent (`settle`, applied to the
  simulator's ledger without broadcasting);
- which simulator stream the burst goes on (`stream`, or the burst's own; the simulator process writes
  the frames on the one client connected to it), and which changes the engine reports for them
  (`counts`: a REST poll's changes, say, are not burst frames);
- how a bare client subscribes and what it does per frame (`bare`: json.loads(parse_float=Decimal) and a
  Decimal per amount, kept in a dict so its final state can be compared too);
- how ccxt.pro subscribes, where ccxt.pro has the stream (`ccxt`), and how its final state compares.

An exchange that is not registered yet (its connector lands on another branch) leaves a slot: its feeds
are listed with `skip` saying why, and every benchmark prints that line instead of failing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from streams.simulator.truth import SimulatedAccount


@dataclass(frozen=True, slots=True)
class SimInfo:
    """Where one simulator listens and the credentials it accepts (as the parent process sees it)."""

    ws_url: str
    rest_url: str
    credentials: dict[str, str]


@dataclass(frozen=True, slots=True)
class Burst:
    """The frames of one burst, and what they make of the simulator's ledger once all are sent."""

    frames: list[str]
    settle: Callable[[SimulatedAccount], None]
    stream: str | None = None  # where it goes, when that depends on the simulator (a channel name)


@dataclass(frozen=True, slots=True)
class Bare:
    """A bare websockets client: open (URL, headers, any subscribe frames), then `decode` per frame
    into `state`; `compare(state, truth)` -> (exact?, one-line summary)."""

    open: Callable[[SimInfo], Awaitable[Any]]
    decode: Callable[[str, dict[str, Any]], None]
    compare: Callable[[dict[str, Any], SimulatedAccount], tuple[bool, str]]
    welcome: int = 1  # frames the server sends on subscribe, before any burst


@dataclass(frozen=True, slots=True)
class Ccxt:
    """ccxt.pro: `make(info, on_message)` builds the exchange object (every URL pointed at the
    simulator, `on_message` called after each message ccxt handled); `watch(exchange)` is the call a
    user loops on; `compare(exchange, truth)` -> (exact?, one-line summary)."""

    make: Callable[[SimInfo, Callable[[], None]], Any]
    watch: Callable[[Any], Awaitable[Any]]
    compare: Callable[[Any, SimulatedAccount], tuple[bool, str]]
    welcome: int = 1  # messages ccxt handles on subscribing (a snapshot, an ack), before any burst


@dataclass(frozen=True, slots=True)
class Feed:
    exchange: str  # registry name, e.g. "bitopro"
    key: str  # command-line name, e.g. "bitopro-balance-1"
    title: str  # printed, e.g. "BitoPro balance frames, 1 currency each"
    stream: str  # the simulator stream the burst goes on
    default_frames: int
    burst: Callable[[int, Any], Burst]  # (n, the simulator)
    bare: Bare | None
    ccxt: Ccxt | None
    compare_ours: Callable[[Any, list[Any], SimulatedAccount], tuple[bool, str]]  # (store, fills, truth)
    skip: str | None = None  # why this feed cannot run here (a slot for an exchange not merged yet)
    counts: Callable[[Any], bool] = bool  # which engine Changes are burst frames (default: any)


def all_feeds() -> Sequence[Feed]:
    from tests.benchmarks.feeds import bitopro, bitstamp

    return [*bitopro.FEEDS, *bitstamp.feeds()]


def feed(key: str) -> Feed:
    for candidate in all_feeds():
        if candidate.key == key:
            return candidate
    raise KeyError(f"no feed {key!r}; feeds: {', '.join(f.key for f in all_feeds())}")


def compare_balances(held: dict[str, tuple[Any, Any]], truth: SimulatedAccount) -> tuple[bool, str]:
    """`held`: asset -> (total, available) as a client holds them (Decimal, float or str). Exact means
    every asset of the truth is there with the same decimal value, and nothing else."""
    from decimal import Decimal

    def dec(value: Any) -> Decimal | None:
        try:
            return Decimal(str(value)) if value is not None else None
        except ArithmeticError:
            return None

    wanted = {b.asset: (b.total, b.available) for b in truth.balances.values()}
    present = [a for a in wanted if a in held]
    exact = [a for a in present if tuple(dec(v) for v in held[a]) == wanted[a]]
    extra = [a for a in held if a not in wanted]
    ok = len(exact) == len(wanted) and not extra
    summary = f"{len(exact)}/{len(wanted)} assets exact"
    if len(present) != len(exact):
        summary += f", {len(present) - len(exact)} off"
    if len(present) != len(wanted):
        summary += f", {len(wanted) - len(present)} missing"
    if extra:
        summary += f", {len(extra)} unexpected"
    return ok, summary
