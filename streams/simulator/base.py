"""The part of every exchange simulator that is not about one exchange's wire format.

`ExchangeSimulator` runs a websocket server and a REST server on loopback around one
`SimulatedAccount`, keeps a registry of connected streams, injects faults and drives random activity.
A subclass (one per exchange, in `streams/exchanges/<name>/simulator.py`) only says how to route and
authenticate a request, what to send on connect and how to render a truth change as frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import sys
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import ClassVar, Self, TextIO

from aiohttp import web
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from streams.simulator.truth import Change, SimulatedAccount

log = logging.getLogger(__name__)

DEFAULT_MALFORMED = '{"event":"ACCOUNT_BALANCE","data":'  # truncated JSON


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is turned away: the HTTP status and the exchange's error text."""

    status: int
    text: str


class SimClient:
    """One connected websocket: the streams it receives and an outbox that applies the delay fault.

    Frames go through the outbox so the delay keeps their order and the connection handler never
    blocks a truth listener.
    """

    def __init__(self, connection: ServerConnection, path: str, streams: Iterable[str]) -> None:
        self.connection = connection
        self.path = path
        self.streams = set(streams)
        self.delay_s = 0.0
        self.duplicate = False  # every frame goes out twice (a retransmitting proxy)
        self._outbox: asyncio.Queue[tuple[float, str]] = asyncio.Queue()
        self._flowing = asyncio.Event()
        self._flowing.set()

    def send(self, text: str) -> None:
        """Queue one frame; it leaves after the delay that was set when it was queued."""
        due = asyncio.get_running_loop().time() + self.delay_s
        self._outbox.put_nowait((due, text))
        if self.duplicate:
            self._outbox.put_nowait((due, text))

    def hold(self, on: bool) -> None:
        """Stop (or resume) sending: frames wait in the outbox, as behind a half-open connection."""
        if on:
            self._flowing.clear()
        else:
            self._flowing.set()

    async def flushed(self) -> None:
        """Return once every frame queued so far has been written to the socket (or dropped)."""
        await self._outbox.join()

    def discard_pending(self) -> None:
        """Forget frames that can no longer be sent, so nobody waits on them in flushed()."""
        while not self._outbox.empty():
            self._outbox.get_nowait()
            self._outbox.task_done()

    async def pump(self) -> None:
        """Write queued frames in order, each no earlier than its due time, until the socket closes."""
        loop = asyncio.get_running_loop()
        closed = False
        while True:
            due, text = await self._outbox.get()
            try:
                if not closed:
                    await self._flowing.wait()
                    await asyncio.sleep(max(0.0, due - loop.time()))
                    await self.connection.send(text)
            except ConnectionClosed:
                closed = True  # keep draining so flushed() never hangs on a dead client
            finally:
                self._outbox.task_done()

    def abort(self) -> None:
        """Drop the TCP connection without a close frame: what a network failure looks like."""
        self.connection.transport.abort()

    def set_deaf(self, deaf: bool) -> None:
        """Stop (or resume) reading the socket: pings are then neither seen nor answered."""
        transport = self.connection.transport
        if deaf:
            transport.pause_reading()
        else:
            transport.resume_reading()


class ExchangeSimulator(ABC):
    """A local stand-in for one exchange account: websocket streams, REST and fault injection.

    Subclasses set `ws_prefix`, `rest_prefix`, `credentials` and implement the abstract methods.
    """

    ws_prefix: ClassVar[str] = "/ws"  # ws_url path; stream paths start with it
    rest_prefix: ClassVar[str] = ""  # rest_url path, e.g. "/v3"
    ping_interval_s: ClassVar[float | None] = 20.0  # server-side websocket pings
    ping_timeout_s: ClassVar[float | None] = 20.0
    close_timeout_s: ClassVar[float] = 2.0  # keeps stop() quick when a client hangs

    def __init__(self, *, seed: int = 1, activity_interval_s: float | None = None) -> None:
        self.seed = seed
        self.truth = self.make_truth(seed)
        self.truth.add_listener(self._broadcast)
        self.activity_interval_s = activity_interval_s
        self.connection_attempts = 0  # websocket handshakes seen, refused ones included
        self.auth_failures = 0  # websocket handshakes refused for credentials
        self.rest_auth_failures = 0
        self.rest_calls: Counter[str] = Counter()  # REST request paths, refused ones included
        self._clients: set[SimClient] = set()
        self._registry_changed = asyncio.Event()
        self._refusing = False
        self._deaf = False
        self._half_open = False
        self._duplicate = False
        self._delay_s = 0.0
        self._rest_delay_s = 0.0
        self._throttle_retry_after_s: float | None = None
        self.rest_throttled = 0  # REST calls answered 429
        self._activity_rng = random.Random(seed)
        self._ws_server: Server | None = None
        self._runner: web.AppRunner | None = None
        self._activity: asyncio.Task[None] | None = None
        self._ws_address: tuple[str, int] | None = None
        self._rest_address: tuple[str, int] | None = None

    # ---- per exchange ------------------------------------------------------------------------

    def make_truth(self, seed: int) -> SimulatedAccount:
        """The account behind the simulator; the demo one unless a subclass needs other ids."""
        truth = SimulatedAccount(seed)
        truth.populate_demo()
        return truth

    @property
    @abstractmethod
    def credentials(self) -> dict[str, str]:
        """The demo credentials this simulator accepts, keyed like the keyring JSON."""

    @abstractmethod
    def route(self, path: str) -> set[str] | None:
        """The streams a websocket opened at `path` (query string removed) receives; None: 404."""

    def authenticate_ws(self, request: Request) -> Refusal | None:
        """Check the upgrade request; exchanges that log in with a frame accept everything here."""
        return None

    async def authenticate_rest(self, request: web.Request) -> Refusal | None:
        """Check a REST request's credentials."""
        return None

    def welcome(self, client: SimClient) -> list[str]:
        """Frames sent right after the upgrade (a snapshot, a greeting)."""
        return []

    def on_message(self, client: SimClient, text: str | bytes) -> None:  # noqa: B027 - optional hook
        """A frame from the client (login, subscribe, application ping); ignored by default."""

    @abstractmethod
    def render(self, change: Change) -> list[tuple[str, str]]:
        """Frames for one truth change, as (stream, text) pairs."""

    @abstractmethod
    def rest_routes(self) -> list[web.RouteDef]:
        """The REST endpoints, with paths that include `rest_prefix`."""

    def error_body(self, text: str) -> str:
        """The body of a refused request, in the exchange's error format."""
        return json.dumps({"error": text})

    # ---- life cycle --------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", ws_port: int = 0, rest_port: int = 0) -> None:
        """Listen on `host` (port 0: any free port) and start the activity loop if one was asked for."""
        self._ws_server = await serve(
            self._handle,
            host,
            ws_port,
            process_request=self._process_request,
            ping_interval=self.ping_interval_s,
            ping_timeout=self.ping_timeout_s,
            close_timeout=self.close_timeout_s,
        )
        self._ws_address = self._ws_server.sockets[0].getsockname()[:2]
        self._runner = web.AppRunner(self._rest_app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, rest_port).start()
        self._rest_address = self._runner.addresses[0][:2]
        if self.activity_interval_s is not None:
            self._activity = asyncio.create_task(self._activity_loop(self.activity_interval_s))

    async def stop(self) -> None:
        """Close both servers and every connection, and end the activity loop."""
        if self._activity is not None:
            self._activity.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._activity
            self._activity = None
        if self._ws_server is not None:
            self.half_open(False)
            self.stop_answering_pings(False)  # a paused socket could not finish its closing handshake
            self._ws_server.close()
            await self._ws_server.wait_closed()
            self._ws_server = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def ws_url(self) -> str:
        """Base websocket URL, e.g. `ws://127.0.0.1:PORT/ws`; stream paths are appended to it."""
        host, port = self._require(self._ws_address)
        return f"ws://{host}:{port}{self.ws_prefix}"

    @property
    def rest_url(self) -> str:
        """Base REST URL, e.g. `http://127.0.0.1:PORT/v3`."""
        host, port = self._require(self._rest_address)
        return f"http://{host}:{port}{self.rest_prefix}"

    @staticmethod
    def _require(address: tuple[str, int] | None) -> tuple[str, int]:
        if address is None:
            raise RuntimeError("the simulator is not started")
        return address

    async def _activity_loop(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            self.truth.random_step(self._activity_rng)

    # ---- connection registry -----------------------------------------------------------------

    def clients(self, stream: str | None = None) -> list[SimClient]:
        """Connected websockets, optionally only those receiving `stream`."""
        return [c for c in self._clients if stream is None or stream in c.streams]

    async def wait_connected(
        self, count: int = 1, *, stream: str | None = None, timeout: float = 5.0
    ) -> None:
        """Wait until at least `count` websockets (receiving `stream`) are registered.

        Registered means the handshake succeeded and the welcome frames are queued, so a truth change
        made after this returns reaches the client after its snapshot.
        """
        await self._wait(lambda: len(self.clients(stream)) >= count, timeout)

    async def wait_disconnected(self, *, timeout: float = 5.0) -> None:
        """Wait until no websocket is registered (after a drop or a client's close)."""
        await self._wait(lambda: not self._clients, timeout)

    async def _wait(self, done: Callable[[], bool], timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while not done():
                await self._registry_changed.wait()

    def _registry_update(self) -> None:
        self._registry_changed.set()
        self._registry_changed = asyncio.Event()

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Count the attempt, then refuse it for an injected outage, an unknown path or bad credentials."""
        self.connection_attempts += 1
        if self._refusing:
            return self._ws_refusal(
                connection, Refusal(HTTPStatus.SERVICE_UNAVAILABLE, "Service Unavailable")
            )
        if self.route(_path(request.path)) is None:
            return self._ws_refusal(connection, Refusal(HTTPStatus.NOT_FOUND, "Not Found"))
        refusal = self.authenticate_ws(request)
        if refusal is not None:
            self.auth_failures += 1
            log.info("%s: websocket upgrade refused: %s", type(self).__name__, refusal.text)
            return self._ws_refusal(connection, refusal)
        return None

    def _ws_refusal(self, connection: ServerConnection, refusal: Refusal) -> Response:
        response = connection.respond(refusal.status, self.error_body(refusal.text))
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "application/json"
        return response

    async def _handle(self, connection: ServerConnection) -> None:
        """Register the connection, send the welcome, feed client frames to `on_message` until it closes."""
        assert connection.request is not None  # set before the handler runs
        path = _path(connection.request.path)
        client = SimClient(connection, path, self.route(path) or ())
        client.delay_s = self._delay_s
        client.duplicate = self._duplicate
        client.hold(self._half_open)
        for frame in self.welcome(client):
            client.send(frame)
        self._clients.add(client)
        self._registry_update()
        if self._deaf or self._half_open:
            client.set_deaf(True)
        pump = asyncio.create_task(client.pump())
        try:
            async for message in connection:
                self.on_message(client, message)
        except ConnectionClosed:
            pass  # a drop or a client gone: nothing to clean up beyond the registry
        finally:
            self._clients.discard(client)
            self._registry_update()
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            client.discard_pending()

    def _broadcast(self, change: Change) -> None:
        """Truth listener: render the change and queue each frame on the clients of its stream."""
        if not self._clients:
            return
        for stream, text in self.render(change):
            for client in self.clients(stream):
                client.send(text)

    # ---- REST --------------------------------------------------------------------------------

    def _rest_app(self) -> web.Application:
        async def gate(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            """Count, refuse during an injected outage, authenticate, then serve."""
            self.rest_calls[request.path] += 1
            if self._refusing:
                return self._rest_error(Refusal(HTTPStatus.SERVICE_UNAVAILABLE, "Service Unavailable"))
            if self._throttle_retry_after_s is not None:
                self.rest_throttled += 1
                response = self._rest_error(Refusal(HTTPStatus.TOO_MANY_REQUESTS, "Too many requests"))
                response.headers["Retry-After"] = f"{self._throttle_retry_after_s:g}"
                return response
            if self._rest_delay_s:
                await asyncio.sleep(self._rest_delay_s)
            refusal = await self.authenticate_rest(request)
            if refusal is not None:
                self.rest_auth_failures += 1
                return self._rest_error(refusal)
            return await handler(request)

        def gated(route: web.RouteDef) -> web.RouteDef:
            async def serve(request: web.Request) -> web.StreamResponse:
                return await gate(request, route.handler)  # type: ignore[arg-type]

            return web.RouteDef(route.method, route.path, serve, route.kwargs)

        # Each handler goes through the gate itself rather than through a middleware: aiohttp caches
        # middleware-wrapped handlers (1,024 of them, process-wide), which kept every stopped
        # simulator and its ledger alive through a long soak.
        app = web.Application()
        app.add_routes(
            [gated(route) if isinstance(route, web.RouteDef) else route for route in self.rest_routes()]
        )
        return app

    def _rest_error(self, refusal: Refusal) -> web.Response:
        return web.Response(
            status=refusal.status, text=self.error_body(refusal.text), content_type="application/json"
        )

    # ---- faults ------------------------------------------------------------------------------

    async def drop_connections(self) -> None:
        """Abort every client's TCP connection (no close frame) and wait until the registry is empty."""
        for client in list(self._clients):
            client.abort()
        await self.wait_disconnected()

    def refuse_connections(self, on: bool) -> None:
        """While on, new websocket upgrades and all REST calls get HTTP 503; open streams stay up."""
        self._refusing = on

    async def send_malformed(self, text: str | None = None) -> None:
        """Send a broken frame (default: truncated JSON) on every connected stream and wait until sent."""
        clients = list(self._clients)
        for client in clients:
            client.send(DEFAULT_MALFORMED if text is None else text)
        await asyncio.gather(*(client.flushed() for client in clients))

    def stop_answering_pings(self, on: bool) -> None:
        """While on, the server stops reading every connected socket (and new ones after their
        handshake): client pings go unanswered, as with a dead peer, while frames still go out.

        A client's keepalive then fails after ping_interval + ping_timeout, and because its close
        frame is not read either, it drops the socket after its own close_timeout.
        """
        self._deaf = on
        for client in self._clients:
            client.set_deaf(on)

    def set_delay(self, seconds: float) -> None:
        """Hold every frame queued from now on for `seconds` before it is sent (order is kept)."""
        self._delay_s = seconds
        for client in self._clients:
            client.delay_s = seconds

    def duplicate_frames(self, on: bool) -> None:
        """While on, every frame is sent twice in a row."""
        self._duplicate = on
        for client in self._clients:
            client.duplicate = on

    def half_open(self, on: bool) -> None:
        """While on, the server neither sends nor reads on any socket, yet keeps TCP open: the link
        that died without a FIN. Only the client's keepalive or silence watchdog can notice."""
        self._half_open = on
        for client in self._clients:
            client.hold(on)
            client.set_deaf(on or self._deaf)

    def throttle_rest(self, retry_after_s: float | None) -> None:
        """While set, every REST call is answered 429 with `Retry-After: <retry_after_s>`."""
        self._throttle_retry_after_s = retry_after_s

    def slow_rest(self, seconds: float) -> None:
        """Answer every REST call `seconds` late (snapshots then race the stream's events)."""
        self._rest_delay_s = seconds

    async def expire_session(self) -> None:  # noqa: B027 - optional hook
        """Expire the exchange's per-session credential (listenKey, websocket token, JWT) now, where the
        exchange has one; the client must notice and get a new one. Nothing to expire by default."""


def _path(target: str) -> str:
    """The path of a request target, without query string."""
    return target.split("?", 1)[0]


async def serve_until_cancelled(
    simulator: ExchangeSimulator, host: str = "127.0.0.1", port: int | None = None, out: TextIO | None = None
) -> None:
    """Run one simulator until cancelled, for `account-monitor simulate EX [--host] [--port]`.

    `port` is the websocket port and `port + 1` the REST port (both free ports when None). Prints
    three lines: `ws_url: ...`, `rest_url: ...`, `credentials: {json}`.
    """
    out = out or sys.stdout
    ws_port, rest_port = (0, 0) if port is None else (port, port + 1)
    await simulator.start(host, ws_port, rest_port)
    try:
        print(f"ws_url: {simulator.ws_url}", file=out)
        print(f"rest_url: {simulator.rest_url}", file=out)
        print(f"credentials: {json.dumps(simulator.credentials)}", file=out, flush=True)
        await asyncio.Event().wait()
    finally:
        await simulator.stop()
