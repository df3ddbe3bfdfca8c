"""The one life cycle every exchange account goes through.

connect -> authenticate -> subscribe -> REST snapshot (stream events buffered meanwhile) -> live;
on any loss: stale/reconnecting, capped jittered backoff, and a fresh snapshot plus the fills missed in
the gap. Exchanges only supply plans, parsers and REST calls (`streams.exchange`); nothing here knows
an exchange by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
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
    MalformedPart,
    ReconnectRequested,
    Refresh,
    ServerError,
    UnknownEvent,
)
from streams.exchange import (
    AuthFailed,
    Credentials,
    ExchangeSession,
    ExchangeSpec,
    ExchangeUnavailable,
    ReconnectNow,
    RestClient,
    Snapshot,
    StreamPlan,
    error_text,
)
from streams.model import Balance, State, Status, now_ms, replace
from streams.push_socket import PushConnection
from streams.redaction import redact
from streams.store import AccountStore, Changes

log = logging.getLogger(__name__)
_by_time = attrgetter("time_ms")  # events and fills alike carry the exchange's time
# What the stream reader acts on itself; every other event goes to the store (checked by type before
# the match below: most frames carry state, and a class pattern per case costs an isinstance each).
_CONTROL_EVENTS = frozenset(
    {Heartbeat, MalformedPart, Refresh, UnknownEvent, ServerError, ReconnectRequested}
)

Update = Changes | Status
Sink = Callable[[Update], None]


@dataclass(frozen=True, slots=True)
class Timing:
    """Every delay of the life cycle in one place, so tests can shrink them. None: the exchange's own."""

    first_backoff_s: float | None = None
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
    refresh_delay_s: float = 0.5  # Refresh requests within this window share one REST round
    refresh_retry_s: float = 5.0  # a failed Refresh is retried after this long
    clock_check_s: float = 2.0  # how often the wall clock is compared with the monotonic one
    clock_jump_s: float = 10.0  # a larger disagreement means the machine slept (or the clock was set)


class _Stale(Exception):
    """Nothing arrived within the exchange's silence window."""


class _ConnectionLost(Exception):
    """The socket went away."""


@dataclass(slots=True)
class _Link:
    """The sockets of one connect and the tasks that serve them; replaced whole on a switch."""

    sockets: list[ClientConnection]
    tasks: list[asyncio.Task[None]]

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


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
        # Balances as of the last snapshot that came with fill recovery (or the first one): what
        # "moved in the gap" is measured against. Not the store: periodic resyncs and REST refreshes
        # update it without recovering fills, so a fill missed by a half-open stream would look unmoved.
        self._recovered_balances: dict[str, Balance] | None = None
        # The newest fill time seen before the gap that recovery has still to close. Not the store's
        # newest: a failed attempt drains the fills its new sockets read meanwhile into the store,
        # which would start the next attempt's recovery after the gap's own fills.
        self._gap_from_ms: int | None = None
        self._unknown_seen: set[str] = set()
        self._watchers: set[asyncio.Event] = set()  # set when orders or balances changed (subscribe_more)
        self._refresh_wanted: Refresh | None = None
        self._refresh_due = asyncio.Event()
        self._refreshing = False
        self.wall_clock: Callable[[], float] = time.time  # replaced only by tests, to jump
        self._silence_s = self.timing.silence_s or spec.silence_s
        ping = self.timing.ws_ping_interval_s or spec.ws_ping_interval_s
        self._ws_ping_s = None if spec.ws_ping_interval_s is None else ping

    def replace_credentials(self, credentials: Credentials) -> None:
        """New secrets (a token the user pasted after an auth error) for the next `run()`. The store,
        the fills seen and the first live moment are kept, so that run diffs against what is shown
        and recovers the fills missed meanwhile (marked late) instead of starting from nothing."""
        self._credentials = credentials

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
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(self.timing.close_timeout_s):
                        await session.close()
                self._set(State.OFFLINE, "stopped")

    async def _failure_of(self, attempt: Awaitable[None]) -> Exception:
        """Run one connection until it fails, and return why. Nothing but cancellation escapes: one
        account's bad luck (or a bug in a parser) never ends its runner or touches the others."""
        try:
            await attempt
        except (
            AuthFailed,
            ReconnectNow,
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
        if isinstance(failure, ReconnectNow):
            self._set(State.RECONNECTING, str(failure) or "reconnecting")
            log.info("%s: reconnecting at once: %s", self.account.id, failure)
            return
        delay = max(next(delays), getattr(failure, "retry_after_s", None) or 0.0)
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
        return backoff(self.timing.first_backoff_s or self.spec.first_backoff_s, self.timing.backoff_cap_s)

    def _auth_delays(self) -> Iterator[float]:
        return backoff(self.timing.auth_retry_s, self.timing.auth_retry_cap_s)

    async def _connect_once(self, session: ExchangeSession, rest: RestClient) -> None:
        link = _Link([], [])
        extras: list[asyncio.Task[None]] = []
        try:
            # Buffer from the first socket on: a frame read before the snapshot's task starts (a
            # welcome balance push) must not reach the store first, or the snapshot would not see
            # those assets move and fill recovery would skip the markets that moved them.
            self._buffer = []
            await self._open_all(session, link)
            self._set(State.SYNCING, "loading the REST snapshot")
            sync = asyncio.create_task(self._sync(rest, recover=bool(self._first_live_ms)))
            try:
                await _first_failure([sync, *link.tasks], until_done=sync)
            except BaseException:
                # A stream failed while the snapshot was in flight: the snapshot must not outlive its
                # connection, or it lands after the next connection's (stale data, a drained buffer, a
                # nonce older than that connection's requests) and hides the gap from fill recovery.
                sync.cancel()
                await asyncio.gather(sync, return_exceptions=True)
                raise
            self._set(State.LIVE, "streaming")
            starters: list[Callable[[], Awaitable[None]]] = [
                lambda: self._refresh_when_asked(rest),
                self._watch_clock,
            ]
            resync_s = self.timing.resync_s or self.spec.resync_s
            if resync_s:
                starters.append(lambda: self._resync_every(rest, resync_s))
            extras.extend(asyncio.create_task(start()) for start in starters)
            while True:
                try:
                    await _first_failure([*link.tasks, *extras])
                except ReconnectNow as why:
                    link = await self._switch(session, rest, link, why)
                    # The task that asked for the switch (the clock watcher) has ended with it: start
                    # it afresh, or its stored exception would ask again at once, forever.
                    extras[:] = [
                        asyncio.create_task(start()) if task.done() else task
                        for start, task in zip(starters, extras, strict=True)
                    ]
        finally:
            self._buffer = None
            for task in extras:
                task.cancel()
            await asyncio.gather(*extras, return_exceptions=True)
            await link.close()

    async def _open_all(self, session: ExchangeSession, link: _Link) -> None:
        """Open every plan's socket (filling `link` as they open, so a failure closes what opened) and
        start the tasks that read, ping, keep alive, follow new markets and rotate them."""
        plans = await session.plans()
        for plan in plans:
            link.sockets.append(await self._open(plan))
        for plan, ws in zip(plans, link.sockets, strict=True):
            spawn = link.tasks.append
            spawn(asyncio.create_task(self._read(plan, ws), name=f"{self.account.id}:{plan.name}"))
            if plan.ping_frame:
                spawn(asyncio.create_task(self._ping(plan, ws)))
            if plan.keepalive:
                spawn(asyncio.create_task(self._keepalive(plan)))
            if plan.subscribe_more:
                spawn(asyncio.create_task(self._follow(plan, ws)))
        ages = [p.max_age_s for p in plans if p.max_age_s]
        if ages:
            link.tasks.append(asyncio.create_task(self._rotate_after(min(ages))))

    async def _switch(self, session: ExchangeSession, rest: RestClient, old: _Link, why: Exception) -> _Link:
        """Open fresh connections, then close the old ones, then resync: the server asked for it or
        the connection reached its age limit. No backoff and no gap: the old sockets serve until the
        new ones are up, and REST fills in whatever moved during the switch."""
        log.info("%s: switching to fresh connections: %s", self.account.id, why)
        self._set(State.LIVE, f"switching to a fresh connection ({why})")
        new = _Link([], [])
        self._buffer = []  # as in _connect_once: the new sockets' first frames wait for the snapshot
        try:
            await self._open_all(session, new)
        except BaseException:
            await new.close()
            self._drain_buffer(cutoff_ms=0)  # what the old sockets read meanwhile is still news
            raise
        await old.close()
        sync = asyncio.create_task(self._sync(rest, recover=True))
        try:
            await _first_failure([sync, *new.tasks], until_done=sync)
        except BaseException:
            sync.cancel()
            await new.close()
            raise
        self._set(State.LIVE, "streaming")
        return new

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
                # No permessage-deflate: private-stream frames are a few hundred bytes, and inflating
                # each costs more CPU (a tenth of a Bitstamp frame's) than the bandwidth is worth.
                compression=None,
                user_agent_header="account-monitor",
                create_connection=PushConnection,  # frames parsed as they arrive (streams.push_socket)
            )
        except InvalidStatus as exc:
            raise _classify_refusal(exc, plan.refused) from None
        try:
            if plan.handshake is not None:
                async with asyncio.timeout(self.timing.open_timeout_s):
                    await plan.handshake(ws)
        except BaseException:
            await ws.close()
            raise
        return ws

    async def _read(self, plan: StreamPlan, ws: ClientConnection) -> None:
        """Parse every message of the socket as it arrives, until it closes, goes silent (with a ping
        frame: without one the websocket's own pings watch the silence) or a frame ends it."""
        assert isinstance(ws, PushConnection)
        window = self._silence_s if plan.ping_frame else None
        try:
            await ws.serve(partial(self._on_frame, plan), silence_s=window)
        except TimeoutError:
            raise _Stale(f"no data on {plan.name} for {window:g} s") from None
        except UnicodeDecodeError as exc:
            raise MalformedFrame(f"a text frame on {plan.name} is not UTF-8: {exc.reason}") from None
        except ConnectionClosedError as exc:
            if exc.sent is not None and exc.sent.reason == "keepalive ping timeout":
                raise _Stale(f"{plan.name} stopped answering pings for {self._silence_s:g} s") from None
            raise

    async def _ping(self, plan: StreamPlan, ws: ClientConnection) -> None:
        """Send the plan's ping at its interval, but at least twice per silence window: the pong is
        what keeps a quiet socket from going stale, so it must be asked for well within the window
        (this also lets Timing.silence_s shrink the exchange's ping interval in tests)."""
        assert plan.ping_frame is not None
        interval = min(plan.ping_interval_s, self._silence_s / 2)
        while True:
            await asyncio.sleep(interval)
            await ws.send(plan.ping_frame)

    async def _keepalive(self, plan: StreamPlan) -> None:
        assert plan.keepalive is not None
        while True:
            await asyncio.sleep(plan.keepalive_interval_s)
            await plan.keepalive()

    async def _follow(self, plan: StreamPlan, ws: ClientConnection) -> None:
        """Send what `subscribe_more` asks for, once at start and after every change of the account."""
        assert plan.subscribe_more is not None
        changed = asyncio.Event()
        changed.set()
        self._watchers.add(changed)
        try:
            while True:
                await changed.wait()
                changed.clear()
                for frame in await plan.subscribe_more(self.store):
                    await ws.send(frame)
        finally:
            self._watchers.discard(changed)

    @staticmethod
    async def _rotate_after(age_s: float) -> None:
        await asyncio.sleep(age_s)
        raise ReconnectNow(f"the connection is {age_s:g} s old")

    async def _refresh_when_asked(self, rest: RestClient) -> None:
        """Serve the streams' `Refresh` requests, a short window's worth in one REST round. A failed
        round is kept and retried: it may carry the only news of a fill."""
        while True:
            await self._refresh_due.wait()
            await asyncio.sleep(self.timing.refresh_delay_s)
            self._refresh_due.clear()
            request, self._refresh_wanted = self._refresh_wanted, None
            if request is None:
                continue
            self._refreshing = True
            try:
                events = await rest.refresh(self._widened(request))
            except (ExchangeUnavailable, MalformedFrame, TimeoutError, aiohttp.ClientError) as exc:
                log.warning("%s: refresh failed, retrying: %s", self.account.id, _describe(exc))
                self._ask_refresh(request)
                await asyncio.sleep(max(self.timing.refresh_retry_s, getattr(exc, "retry_after_s", 0) or 0))
                continue
            finally:
                self._refreshing = False
            self._apply_all(events)

    async def _watch_clock(self) -> None:
        """After a suspend the monotonic clock has not moved while the wall clock has: the sockets
        are probably dead and the state is old. Switch to fresh connections and resync at once,
        instead of waiting for a keepalive to time out."""
        loop = asyncio.get_running_loop()
        wall, mono = self.wall_clock(), loop.time()
        while True:
            await asyncio.sleep(self.timing.clock_check_s)
            jump = (self.wall_clock() - wall) - (loop.time() - mono)
            wall, mono = self.wall_clock(), loop.time()
            if abs(jump) > self.timing.clock_jump_s:
                raise ReconnectNow(f"the clock jumped {jump:+.0f} s (sleep or resume?)")

    def _ask_refresh(self, request: Refresh) -> None:
        wanted = self._refresh_wanted
        if wanted is None:
            self._refresh_wanted = request
        elif wanted is not request:  # every Bitstamp frame asks again for the same balance poll
            self._refresh_wanted = wanted | request
        self._refresh_due.set()

    @property
    def refresh_pending(self) -> bool:
        """A stream's `Refresh` is waiting for, or in, its REST round (benchmarks wait for calm)."""
        return self._refresh_due.is_set() or self._refreshing

    def _widened(self, request: Refresh) -> Refresh:
        """Turn the assets a stream saw move into the known markets that trade them."""
        if not request.assets:
            return request
        known = self.store.markets() | set(self.account.markets)
        touched = {m for m in known if not request.assets.isdisjoint(m.split("/"))}
        return replace(request, markets=request.markets | touched)

    async def _sync(self, rest: RestClient, *, recover: bool) -> None:
        """Apply a REST snapshot (and, after a gap, the fills missed in it), then the stream events
        buffered meanwhile, in the exchange's time order, skipping those the snapshot already covers."""
        if self._buffer is None:
            self._buffer = []
        if recover and self._gap_from_ms is None:
            self._gap_from_ms = self.store.last_fill_ms  # before this attempt can drain anything
        try:
            snapshot = await rest.snapshot()
            if recover:
                since = max(self._gap_from_ms, self._first_live_ms) - self.timing.gap_margin_ms
                markets = self.store.markets() | _markets_of(snapshot) | set(self.account.markets)
                before = self.store.balances if self._recovered_balances is None else self._recovered_balances
                now = {b.asset: b for b in snapshot.balances.balances}
                moved = {a for a in now.keys() | before.keys() if before.get(a) != now.get(a)}
                missed = await rest.fills_since(since, markets, moved)
                self._apply_all(
                    FillEvent(replace(f, late=True), f.time_ms) for f in sorted(missed, key=_by_time)
                )
            self._apply_all([snapshot.balances, snapshot.orders])
        except BaseException:
            self._drain_buffer(cutoff_ms=0)
            raise
        self._drain_buffer(cutoff_ms=min(snapshot.balances.time_ms, snapshot.orders.time_ms))
        if recover or self._recovered_balances is None:
            self._recovered_balances = {b.asset: b for b in snapshot.balances.balances}
            self._gap_from_ms = None
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
            if type(event) not in _CONTROL_EVENTS:  # state (most events): to the store, or the buffer
                if self._buffer is not None:
                    self._buffer.append(event)
                else:
                    self._apply(event)
                continue
            match event:
                case Heartbeat():
                    continue
                case MalformedPart(reason=reason):
                    self.malformed_frames += 1
                    log.warning("%s: skipped a malformed part on %s: %s", self.account.id, plan.name, reason)
                case Refresh():
                    self._ask_refresh(event)
                case UnknownEvent(name=name):
                    if name not in self._unknown_seen:
                        self._unknown_seen.add(name)
                        log.info("%s: ignoring unknown event %r on %s", self.account.id, name, plan.name)
                case ServerError(text=text, auth=True):
                    raise AuthFailed(text)
                case ServerError(text=text):
                    log.warning("%s: %s says: %s", self.account.id, self.spec.title, text)
                case ReconnectRequested():
                    raise ReconnectNow(f"{self.spec.title} asked for a reconnect")

    def _apply_all(self, events: Iterable[Event]) -> None:
        merged = Changes()
        for event in events:
            merged.merge(self.store.apply(event))
        self._publish(merged)

    def _apply(self, event: Event) -> None:
        self._publish(self.store.apply(event))

    def _publish(self, changes: Changes) -> None:
        self.last_data_ms = now_ms()
        if changes:
            self._sink(changes)
        if changes.balances or changes.orders:
            for watcher in self._watchers:
                watcher.set()

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


def _classify_refusal(
    exc: InvalidStatus, refused: Callable[[int, str], Exception | None] | None = None
) -> Exception:
    """A refused websocket upgrade: the plan's own reading if it has one; else 4xx (but 429) means the
    credentials or the clock, anything else is transient."""
    status = exc.response.status_code
    reason = error_text(exc.response.body)
    mine = refused(status, reason) if refused is not None else None
    if mine is not None:
        return mine
    text = f"HTTP {status}: {reason}"
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
