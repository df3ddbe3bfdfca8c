"""Simulators in a second process, so their sending never costs the measured process any CPU.

`SimProcess(exchange, count)` spawns a process that runs `count` simulators of one exchange on
127.0.0.1 (no activity of their own) and obeys commands from the parent:

- `prepare(feed_key, n)`: build the feed's burst, wait for the one client on the feed's stream of each
  simulator, encode every frame for that connection ahead of time (websocket framing, compression);
  returns each simulator's truth as it will be once the burst is sent;
- `blast(rate=None)`: write the encoded frames (as fast as the socket takes them, or `rate` frames/s
  spread over all simulators in 10 ms ticks), then settle the ledgers to the burst's end; returns
  wall-clock times of the first and last write;
- `stamped(rate, seconds)`: frames that carry their send time, sent one by one through the normal
  websockets path, `rate` per second (latency);
- `activity(interval_s)`: random account activity on every simulator (footprint); `quiet()` ends it;
- `stop()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import multiprocessing
import random
import time
from dataclasses import dataclass, field
from typing import Any

from streams.model import Balance, Fill, Order
from tests.benchmarks.feeds import SimInfo

TICK_S = 0.01


@dataclass(slots=True)
class Truth:
    """A simulator's ledger as the parent gets it (picklable)."""

    balances: dict[str, Balance] = field(default_factory=dict)
    open_orders: dict[str, Order] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Sent:
    first: float  # time.time() of the first write
    last: float  # ... and of the last
    frames: int


class SimProcess:
    def __init__(self, exchange: str, count: int = 1, seed: int = 1) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_child_main, args=(child, exchange, count, seed), daemon=True)
        self._process.start()
        self.infos: list[SimInfo] = []

    async def _call(self, *command: Any, timeout: float = 300.0) -> Any:
        self._conn.send(command)
        ready = await asyncio.to_thread(self._conn.poll, timeout)
        if not ready:
            raise TimeoutError(f"the simulator process did not answer {command[0]!r} within {timeout:g} s")
        reply = self._conn.recv()
        if isinstance(reply, BaseException):
            raise reply
        return reply

    async def start(self) -> list[SimInfo]:
        self.infos = await self._call("hello", timeout=60)
        return self.infos

    async def prepare(self, feed_key: str, n: int) -> list[Truth]:
        return await self._call("prepare", feed_key, n)

    async def blast(self, rate: float | None = None) -> Sent:
        return await self._call("blast", rate)

    async def stamped(self, rate: float, seconds: float) -> Sent:
        return await self._call("stamped", rate, seconds)

    async def activity(self, interval_s: float) -> None:
        await self._call("activity", interval_s)

    async def quiet(self) -> None:
        await self._call("quiet")

    async def truth(self) -> list[Truth]:
        return await self._call("truth")

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self._call("stop", timeout=10)
        await asyncio.to_thread(self._process.join, 10)
        if self._process.is_alive():
            self._process.terminate()
            await asyncio.to_thread(self._process.join, 5)

    async def __aenter__(self) -> SimProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


# ---------------------------------------------------------------------- the child


def _child_main(conn: Any, exchange: str, count: int, seed: int) -> None:
    asyncio.run(_Child(conn, exchange, count, seed).run())


class _Child:
    def __init__(self, conn: Any, exchange: str, count: int, seed: int) -> None:
        from streams.exchanges import EXCHANGES

        self.conn = conn
        self.spec = EXCHANGES[exchange]
        self.sims = [self.spec.make_simulator(seed=seed + k) for k in range(count)]
        self.encoded: list[tuple[Any, list[bytes]]] = []
        self.settles: list[tuple[Any, Any]] = []
        self.feed: Any = None
        self.tasks: list[asyncio.Task[None]] = []

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        commands: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        loop.add_reader(self.conn.fileno(), lambda: commands.put_nowait(self.conn.recv()))
        for sim in self.sims:
            await sim.start()
        try:
            while True:
                name, *args = await commands.get()
                try:
                    reply = await getattr(self, f"do_{name}")(*args)
                except Exception as exc:  # reported to the parent, which raises it
                    reply = RuntimeError(f"simulator process: {name}: {type(exc).__name__}: {exc}")
                self.conn.send(reply)
                if name == "stop":
                    return
        finally:
            loop.remove_reader(self.conn.fileno())
            for task in self.tasks:
                task.cancel()
            for sim in self.sims:
                await sim.stop()

    async def do_hello(self) -> list[SimInfo]:
        return [SimInfo(s.ws_url, s.rest_url, dict(s.credentials)) for s in self.sims]

    async def do_truth(self) -> list[Truth]:
        return [_truth(s.truth) for s in self.sims]

    async def do_stop(self) -> None:
        return None

    async def do_prepare(self, feed_key: str, n: int) -> list[Truth]:
        from tests.benchmarks.feeds import feed

        self.feed = feed(feed_key)
        self.encoded = []
        self.settles = []
        expected = []
        for sim in self.sims:
            burst = self.feed.burst(n, sim)
            stream = burst.stream or self.feed.stream
            async with asyncio.timeout(30):
                while len(sim.clients(stream)) != 1:
                    await asyncio.sleep(0.01)
            [client] = sim.clients(stream)
            await client.flushed()  # the welcome frames are out before the burst is encoded
            self.encoded.append((client.connection, _encode(client.connection, burst.frames)))
            self.settles.append((sim, burst.settle))
            expected.append(_truth(_settled_copy(sim.truth, burst.settle)))
        return expected

    async def do_blast(self, rate: float | None) -> Sent:
        """Write the burst, then bring the ledgers to its end: REST answers during the burst (balance
        polls, fill look-ups) see the state from before it, not its end ahead of the stream."""
        sent = await (_write_fast(self.encoded) if rate is None else _write_paced(self.encoded, rate))
        for sim, settle in self.settles:
            settle(sim.truth)
        self.settles = []
        return sent

    async def do_stamped(self, rate: float, seconds: float) -> Sent:
        """One frame every 1/rate s, round-robin over the simulators, through websockets' send()."""
        from tests.benchmarks.feeds.bitopro import stamped_frame  # the only exchange with one yet

        connections = []
        for sim in self.sims:
            [client] = sim.clients("account-balance")
            connections.append(client.connection)
        loop = asyncio.get_running_loop()
        total = int(rate * seconds)
        start = loop.time()
        first = time.time()
        for k in range(total):
            delay = start + k / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            sent_us = time.time_ns() // 1000
            await connections[k % len(connections)].send(stamped_frame(sent_us, k))
        return Sent(first, time.time(), total)

    async def do_quiet(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks = []

    async def do_activity(self, interval_s: float) -> None:
        async def churn(sim: Any, rng: random.Random) -> None:
            while True:
                await asyncio.sleep(interval_s)
                sim.truth.random_step(rng)

        for k, sim in enumerate(self.sims):
            self.tasks.append(asyncio.create_task(churn(sim, random.Random(k))))


def _settled_copy(account: Any, settle: Any) -> Any:
    """What the ledger will be once the burst is sent, without changing it yet."""
    shadow = copy.copy(account)
    shadow.balances, shadow.open_orders = dict(account.balances), dict(account.open_orders)
    shadow.orders, shadow.fills, shadow._quote = (
        dict(account.orders),
        list(account.fills),
        dict(account._quote),
    )
    settle(shadow)
    return shadow


def _truth(account: Any) -> Truth:
    return Truth(dict(account.balances), dict(account.open_orders), list(account.fills))


def _encode(connection: Any, frames: list[str]) -> list[bytes]:
    """Each frame as the bytes this connection would write for it (its framing and compression
    state), so the burst costs the simulator nothing but socket writes."""
    protocol = connection.protocol
    for data in protocol.data_to_send():  # anything queued: out first, in order
        if data:
            connection.transport.write(data)
    out = []
    for text in frames:
        protocol.send_text(text.encode())
        out.append(b"".join(protocol.data_to_send()))
    return out


async def _write_fast(encoded: list[tuple[Any, list[bytes]]], group: int = 64) -> Sent:
    first = time.time()
    total = 0
    for connection, chunks in encoded:
        for i in range(0, len(chunks), group):
            connection.transport.write(b"".join(chunks[i : i + group]))
            await connection.drain()
        total += len(chunks)
    return Sent(first, time.time(), total)


async def _write_paced(encoded: list[tuple[Any, list[bytes]]], rate: float) -> Sent:
    """`rate` frames/s in total, spread evenly over the connections, written every 10 ms."""
    loop = asyncio.get_running_loop()
    per_tick = rate * TICK_S / len(encoded)
    longest = max(len(chunks) for _, chunks in encoded)
    ticks = int(longest / per_tick + 0.999)
    start = loop.time()
    first = time.time()
    total = 0
    for tick in range(ticks):
        delay = start + tick * TICK_S - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        lo, hi = int(tick * per_tick), int((tick + 1) * per_tick)
        for connection, chunks in encoded:
            part = chunks[lo:hi]
            if part:
                connection.transport.write(b"".join(part))
                total += len(part)
        for connection, _ in encoded:
            await connection.drain()
    return Sent(first, time.time(), total)
