"""Accounts that fail on purpose, for the isolation tests: refused credentials, a host nobody listens
on, and a connector whose parser crashes (a bug, not a malformed frame)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import replace

from streams.events import Event
from streams.exchange import ExchangeSpec, StreamPlan


class ParserBug(RuntimeError):
    """What a parser bug looks like to the engine: not MalformedFrame, just an exception."""


class CrashingSession:
    """Wraps an exchange's session so that every `every`-th frame its plans parse raises ParserBug."""

    def __init__(self, inner, every: int) -> None:
        self.inner = inner
        self.every = every
        self.frames = 0
        self.crashes = 0

    async def plans(self) -> Sequence[StreamPlan]:
        return [replace(plan, parse=self._crashing(plan.parse)) for plan in await self.inner.plans()]

    async def close(self) -> None:
        await self.inner.close()

    def _crashing(self, parse: Callable[[str], Sequence[Event]]) -> Callable[[str], Sequence[Event]]:
        def crashing(frame: str) -> Sequence[Event]:
            self.frames += 1
            if self.frames % self.every == 0:
                self.crashes += 1
                raise ParserBug(f"parser bug on frame {self.frames}")
            return parse(frame)

        return crashing


def crashing_spec(spec: ExchangeSpec, every: int = 1) -> tuple[ExchangeSpec, list[CrashingSession]]:
    """A copy of `spec` whose parsers crash; the list collects the sessions made, to count crashes."""
    sessions: list[CrashingSession] = []

    def make_session(account, credentials, http):
        session = CrashingSession(spec.make_session(account, credentials, http), every)
        sessions.append(session)
        return session

    return replace(spec, make_session=make_session), sessions


def dead_port() -> int:
    """A loopback port nobody listens on (bound, then released: connects get 'connection refused')."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spoiled(credentials: dict[str, str]) -> dict[str, str]:
    """Every secret with its first character changed: a wrong key, a wrong HMAC secret, a broken JWT."""
    return {k: ("x" if v[:1] != "x" else "y") + v[1:] for k, v in credentials.items()}
