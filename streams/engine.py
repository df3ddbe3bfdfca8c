"""The one life cycle every exchange account goes through.

connect -> authenticate -> subscribe -> REST snapshot (stream events buffered meanwhile) -> live;
on any loss: stale/reconnecting, capped jittered backoff, and a fresh snapshot plus the fills missed in
the gap. Exchanges only supply plans, parsers and REST calls (`streams.exchange`); nothing here knows
an exchange by name.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from operator import attrgetter

import aiohttp
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus, WebSocketException

from streams.backoff import backoff
from streams.config import AccountConfig
from streams.events import (
    Event,
    FillEvent,
    Heartbeat,
    MalformedFrame,
    ReconnectRequested,
    ServerError,
    UnknownEvent,
)
from streams.exchange import (
    AuthFailed,
    Credentials,
    ExchangeSession,
    ExchangeSpec,
    ExchangeUnavailable,
    RestClient,
    Snapshot,
    StreamPlan,
    error_text,
)
from streams.model import State, Status, now_ms
from streams.redaction import redact
from streams.store import AccountStore, Changes

log = logging.getLogger(__name__)
_by_time = attrgetter("time_ms")  # events and fills alike carry the exchange's time

Update = Changes | Status
Sink = Callable[[Update], None]


@dataclass(frozen=True, slots=True)
class Timing:
    """Every delay of the life cycle in one place, so tests can shrink them. None: the exchange's own."""

    first_backoff_s: float = 0.5
    backoff_cap_s: float = 30.0
    auth_retry_s: float = 60.0
    auth_retry_cap_s: float = 600.0
    open_timeout_s: float = 10.0
    rest_timeout_s: float = 20.0
    close_timeout_s: float = 2.0
    stable_after_s: float = 10.0  # a session live this long resets the backoff
    gap_margin_ms: int = 2_000  # fill recovery starts this much before the last fill seen
    silence_s: float | None = None
    resync_s: float | None = None
    ws_ping_interval_s: float | None = None


class _Stale(Exception):
    """Nothing arrived within the exchange's silence window."""


class _ConnectionLost(Exception):
    """The socket went away or the server asked us to come back."""


class AccountRunner:
    """Runs one account until cancelled; reports `Changes` and `Status` to `sink` on the loop's thread."""

    def __init__(
        self,
        account: AccountConfig,
        spec: ExchangeSpec,
        credentials: Credentials,
        sink: Sink,
        *,
        timing: Timing | None = None,
    ) -> None:
        self.account = account
        self.spec = spec
        self.timing = timing or Timing()
        self.store = AccountStore(match_fills_across_sources=spec.match_fills_across_sources)
        self.status = Status(State.OFFLINE, "not started", now_ms())
        self.last_data_ms = 0  # when a data frame or snapshot last arrived (the "updated N s ago")
        self.malformed_frames = 0
        self.reconnects = 0
        self._credentials = credentials
        self._sink = sink
        self._buffer: list[Event] | None = None
        self._first_live_ms = 0
        self._unknown_seen: set[str] = set()
        self._silence_s = self.timing.silence_s or spec.silence_s
        ping = self.timing.ws_ping_interval_s or spec.ws_ping_interval_s
        self._ws_ping_s = None if spec.ws_ping_interval_s is None else ping

    # ------------------------------------------------------------------ life cycle

    async def run(self) -> None:
        """Connect, stay live, and after any failure wait and start over, until cancelled."""
        loop = asyncio.get_running_loop()
        delays, auth_delays = self._delays(), self._auth_delays()
        self._set(State.CONNECTING, f"connecting to {self.spec.title}")
        timeout = aiohttp.ClientTimeout(total=self.timing.rest_timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            session = self.spec.make_session(self.account, self._credentials, http)
            rest = self.spec.make_rest(self.account, self._credentials, http)
            try:
                while True:
                    started = loop.time()
                    failure = await self._failure_of(self._connect_once(session, rest))
                    if loop.time() - started >= self.timing.stable_after_s:
                        delays, auth_delays = self._delays(), self._auth_delays()
                    self.reconnects += 1
                    await self._pause_after(
                        failure, auth_delays if isinstance(failure, AuthFailed) else delays
                    )
            finally:
                self._set(State.OFFLINE, "stopped")

    async def _failure_of(self, attempt: Awaitable[None]) -> Exception:
        """Run one connection until it fails, and return why. Nothing but cancellation escapes: one
        account's bad luck (or a bug in a parser) never ends its runner or touches the others."""
        try:
            await attempt
        except (
            AuthFailed,
            _Stale,
            _ConnectionLost,
            ExchangeUnavailable,
            MalformedFrame,
            OSError,
            TimeoutError,
            WebSocketException,
            aiohttp.ClientError,
        ) as exc:
            return exc
        except Exception as exc:
            log.exception("%s: unexpected error; reconnecting", self.account.id)
            return exc
        return _ConnectionLost("the connection ended")

    async def _pause_after(self, failure: Exception, delays: Iterator[float]) -> None:
        """Show why the connection ended, then wait the next backoff delay."""
        delay = next(delays)
        if isinstance(failure, AuthFailed):
            self._set(State.AUTH_ERROR, f"{failure.text} (retrying in {delay:.0f} s)")
            log.warning("%s: authentication refused: %s", self.account.id, failure.text)
        elif isinstance(failure, _Stale):
            self._set(State.STALE, f"{failure}; reconnecting")
            log.info("%s: stale: %s", self.account.id, failure)
        else:
            self._set(State.RECONNECTING, f"{_describe(failure)}; retrying in {delay:.2g} s")
            log.info("%s: connection lost: %s", self.account.id, _describe(failure))
        await asyncio.sleep(delay)
        if self.status.state is State.STALE:
            self._set(State.RECONNECTING, "reconnecting")

    def _delays(self) -> Iterator[float]:
        return backoff(self.timing.first_backoff_s, self.timing.backoff_cap_s)

    def _auth_delays(self) -> Iterator[float]:
        return backoff(self.timing.auth_retry_s, self.timing.auth_retry_cap_s)

    async def _connect_once(self, session: ExchangeSession, rest: RestClient) -> None:
        plans = await session.plans()
        sockets: list[ClientConnection] = []
        tasks: list[asyncio.Task[None]] = []
        try:
            for plan in plans:
                sockets.append(await self._open(plan))
            self._buffer = []  # events wait here until the snapshot is in
            for plan, ws in zip(plans, sockets, strict=True):
                tasks.append(asyncio.create_task(self._read(plan, ws), name=f"{self.account.id}:{plan.name}"))
                if plan.ping_frame:
                    tasks.append(asyncio.create_task(self._ping(plan, ws)))
            self._set(State.SYNCING, "loading the REST snapshot")
            sync = asyncio.create_task(self._sync(rest, recover=bool(self._first_live_ms)))
            await _first_failure([sync, *tasks], until_done=sync)
            self._set(State.LIVE, "streaming")
            resync_s = self.timing.resync_s or self.spec.resync_s
            if resync_s:
                tasks.append(asyncio.create_task(self._resync_every(rest, resync_s)))
            await _first_failure(tasks)
            raise _ConnectionLost("all streams ended")
        finally:
            self._buffer = None
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)

    async def _open(self, plan: StreamPlan) -> ClientConnection:
        try:
            ws = await connect(
                plan.url,
                additional_headers=dict(plan.headers),
                open_timeout=self.timing.open_timeout_s,
                close_timeout=self.timing.close_timeout_s,
                ping_interval=self._ws_ping_s,
                ping_timeout=self._silence_s if self._ws_ping_s else None,
                max_size=2**23,
                user_agent_header="account-monitor",
            )
        except InvalidStatus as exc:
            raise _classify_refusal(exc) from None
        try:
            if plan.handshake is not None:
                async with asyncio.timeout(self.timing.open_timeout_s):
                    await plan.handshake(ws)
        except BaseException:
            await ws.close()
            raise
        return ws

    async def _read(self, plan: StreamPlan, ws: ClientConnection) -> None:
        window = self._silence_s if plan.ping_frame else None
        while True:
            try:
                async with asyncio.timeout(window):
                    frame = await ws.recv()
            except TimeoutError:
                raise _Stale(f"no data on {plan.name} for {window:g} s") from None
            except ConnectionClosedError as exc:
                if exc.sent is not None and exc.sent.reason == "keepalive ping timeout":
                    raise _Stale(f"{plan.name} stopped answering pings for {self._silence_s:g} s") from None
                raise
            self._on_frame(plan, frame if isinstance(frame, str) else frame.decode("utf-8", "replace"))

    async def _ping(self, plan: StreamPlan, ws: ClientConnection) -> None:
        assert plan.ping_frame is not None
        while True:
            await asyncio.sleep(plan.ping_interval_s)
            await ws.send(plan.ping_frame)

    async def _sync(self, rest: RestClient, *, recover: bool) -> None:
        """Apply a REST snapshot (and, after a gap, the fills missed in it), then the stream events
        buffered meanwhile, in the exchange's time order, skipping those the snapshot already covers."""
        if self._buffer is None:
            self._buffer = []
        try:
            snapshot = await rest.snapshot()
            if recover:
                since = max(self.store.last_fill_ms, self._first_live_ms) - self.timing.gap_margin_ms
                markets = self.store.markets() | _markets_of(snapshot) | set(self.account.markets)
                moved = {b.asset for b in snapshot.balances.balances if self.store.balances.get(b.asset) != b}
                missed = await rest.fills_since(since, markets, moved)
                self._apply_all(
                    FillEvent(replace(f, late=True), f.time_ms) for f in sorted(missed, key=_by_time)
                )
            self._apply_all([snapshot.balances, snapshot.orders])
        except BaseException:
            self._drain_buffer(cutoff_ms=0)
            raise
        self._drain_buffer(cutoff_ms=min(snapshot.balances.time_ms, snapshot.orders.time_ms))
        self._first_live_ms = self._first_live_ms or now_ms()

    def _drain_buffer(self, cutoff_ms: int) -> None:
        buffered, self._buffer = self._buffer or [], None
        self._apply_all(
            e for e in sorted(buffered, key=_by_time) if isinstance(e, FillEvent) or e.time_ms >= cutoff_ms
        )

    async def _resync_every(self, rest: RestClient, period_s: float) -> None:
        """These streams carry no sequence numbers, so a lost update would go unnoticed: re-read the
        REST snapshot now and then. A failed re-read is logged; the streams stay up."""
        while True:
            await asyncio.sleep(period_s)
            try:
                await self._sync(rest, recover=False)
            except (ExchangeUnavailable, MalformedFrame, TimeoutError, aiohttp.ClientError) as exc:
                log.warning("%s: periodic snapshot failed: %s", self.account.id, _describe(exc))

    # ------------------------------------------------------------------ frames

    def _on_frame(self, plan: StreamPlan, frame: str) -> None:
        try:
            events = plan.parse(frame)
        except MalformedFrame as exc:
            self.malformed_frames += 1
            log.warning("%s: skipped a malformed frame on %s: %s", self.account.id, plan.name, exc)
            return
        for event in events:
            match event:
                case Heartbeat():
                    continue
                case UnknownEvent(name=name):
                    if name not in self._unknown_seen:
                        self._unknown_seen.add(name)
                        log.info("%s: ignoring unknown event %r on %s", self.account.id, name, plan.name)
                case ServerError(text=text, auth=True):
                    raise AuthFailed(text)
                case ServerError(text=text):
                    log.warning("%s: %s says: %s", self.account.id, self.spec.title, text)
                case ReconnectRequested():
                    raise _ConnectionLost(f"{self.spec.title} asked for a reconnect")
                case _ if self._buffer is not None:
                    self._buffer.append(event)
                case _:
                    self._apply(event)

    def _apply_all(self, events: Iterable[Event]) -> None:
        merged = Changes()
        for event in events:
            merged.merge(self.store.apply(event))
        self.last_data_ms = now_ms()
        if merged:
            self._sink(merged)

    def _apply(self, event: Event) -> None:
        changes = self.store.apply(event)
        self.last_data_ms = now_ms()
        if changes:
            self._sink(changes)

    def _set(self, state: State, detail: str) -> None:
        detail = redact(detail)  # an exchange may echo a key or token back in its error text
        if self.status.state is state and self.status.detail == detail:
            return
        since = self.status.since_ms if self.status.state is state else now_ms()
        self.status = Status(state, detail, since)
        log.info("%s: %s (%s)", self.account.id, state.value, detail)
        self._sink(self.status)


async def _first_failure(
    tasks: Sequence[asyncio.Task[None]], until_done: asyncio.Task[None] | None = None
) -> None:
    """Wait until `until_done` finishes (or, without it, forever); re-raise the first task that fails."""
    pending = set(tasks)
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        if until_done is not None and until_done.done():
            return
        if until_done is None and done:
            raise _ConnectionLost(f"stream {next(iter(done)).get_name()} ended")


def _classify_refusal(exc: InvalidStatus) -> Exception:
    """A refused websocket upgrade: 4xx (but 429) means the credentials or the clock; else transient."""
    status = exc.response.status_code
    text = f"HTTP {status}: {error_text(exc.response.body)}"
    if 400 <= status < 500 and status != 429:
        return AuthFailed(text)
    return ExchangeUnavailable(text)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionClosed):
        code = exc.rcvd.code if exc.rcvd else (exc.sent.code if exc.sent else 1006)
        return f"connection closed (code {code})"
    return str(exc) or type(exc).__name__


def _markets_of(snapshot: Snapshot) -> set[str]:
    return {o.market for o in snapshot.orders.orders}
