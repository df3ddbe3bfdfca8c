"""The connection layer's own cost per frame, without any parsing: what is left of a frame's budget
for ours once the websocket has delivered it.

A sender in another process does the opening handshake by hand and writes one Bitstamp order frame
(the throughput feed's) N times, 64 frames to a write, as the simulators do. The client counts
messages, from the first to the last, three ways:

- `recv`: websockets' own `recv()` loop (what the bare client and the engine used to do);
- `pushed`: `PushConnection.serve()` with every frame read by websockets' parser (`_Unsplit`);
- `split`: `PushConnection.serve()` as the engine runs it, whole text frames cut out of the bytes.

The ways take turns, `--repeat` times each; the median is printed.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from typing import Any

from websockets.asyncio.client import connect
from websockets.frames import Frame, Opcode

from streams.exchanges import EXCHANGES
from streams.push_socket import PushConnection
from tests.benchmarks.feeds.bitstamp import orders_burst
from tests.benchmarks.report import header, median, say
from tests.raw_websocket import accept_upgrade

_GROUP = 64  # frames per socket write, as the simulators' burst writes them


class _Unsplit(PushConnection):
    """Every frame through websockets' parser: PushConnection as it was before `_split`."""

    def _at_frame_start(self) -> bool:
        return False


def _sender(frame: str, count: int, ports: Any) -> None:
    """The child: accept one connection at a time, answer the handshake, wait for the client's first
    message, then write the burst and a close frame."""
    one = Frame(Opcode.TEXT, frame.encode()).serialize(mask=False)
    chunk = one * _GROUP
    closing = Frame(Opcode.CLOSE, (1000).to_bytes(2, "big")).serialize(mask=False)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accept_upgrade(reader, writer)
        await reader.read(1024)  # the client's "go"
        for _ in range(count // _GROUP):
            writer.write(chunk)
            await writer.drain()
        writer.write(one * (count % _GROUP) + closing)
        await writer.drain()
        await reader.read(1024)  # the client's close frame: the server ends TCP, as websockets' would
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        ports.put(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


async def _receive(port: int, way: str, count: int) -> float:
    """Microseconds per message, first to last, for one way of reading."""
    kind = _Unsplit if way == "pushed" else PushConnection
    seen = 0
    first = last = 0.0

    def tick(_: str) -> None:
        nonlocal seen, first, last
        seen += 1
        if seen == 1:
            first = time.perf_counter()
        elif seen == count:
            last = time.perf_counter()

    async with connect(
        f"ws://127.0.0.1:{port}", create_connection=kind, compression=None, max_size=2**23
    ) as ws:
        await ws.send("go")
        try:
            if way == "recv":
                while True:
                    tick(await ws.recv())
            else:
                await ws.serve(tick)
        except Exception:  # the sender's close ends either loop
            pass
    if seen != count:
        raise RuntimeError(f"{way}: {seen} of {count} messages")
    return (last - first) / (count - 1) * 1e6


def main(frames: int = 100_000, repeat: int = 5) -> dict[str, Any]:
    header(f"Connection layer per frame, no parsing ({frames:,} Bitstamp order frames, median of {repeat})")
    frame = orders_burst(1, EXCHANGES["bitstamp"].make_simulator(seed=1)).frames[0]
    ports: Any = multiprocessing.get_context("spawn").Queue()
    sender = multiprocessing.get_context("spawn").Process(
        target=_sender, args=(frame, frames, ports), daemon=True
    )
    sender.start()
    try:
        port = ports.get(timeout=30)
        runs: dict[str, list[float]] = {"recv": [], "pushed": [], "split": []}
        for _ in range(repeat):
            for way, got in runs.items():
                got.append(asyncio.run(_receive(port, way, frames)))
    finally:
        sender.kill()
    results = {}
    for way, got in runs.items():
        results[way] = median(got)
        spread = ", ".join(f"{v:.2f}" for v in got)
        say(f"{way:<7} {results[way]:>6.2f} µs/frame  (runs {spread})")
    return results
