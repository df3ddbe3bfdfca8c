"""PushConnection against a real websockets server on 127.0.0.1: messages handed over in order (those
queued for recv() before serve() first), fragmented and binary messages, the end of serving (the
callback's exception, a text frame that is not UTF-8, a silent socket, a close), and recv()/send()
before serving (an exchange's login) untouched. Then frames cut anywhere, bad frames and the end of
the stream against a server that writes exactly the bytes a test wants (raw_server)."""

import asyncio
import contextlib

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from streams.push_socket import PushConnection
from tests.raw_websocket import accept_upgrade


@contextlib.asynccontextmanager
async def server(handler):
    async with serve(handler, "127.0.0.1", 0, compression=None) as srv:
        port = srv.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", create_connection=PushConnection) as ws:
            yield ws


async def test_queued_messages_come_first_then_every_later_one_in_order():
    async def handler(ws):
        await ws.send("hello")
        await ws.recv()  # the client's login
        for i in range(2_000):
            await ws.send(str(i))
        await asyncio.sleep(0.2)
        for i in range(2_000, 4_000):
            await ws.send(str(i))
        await ws.close()

    got = []
    async with server(handler) as ws:
        assert await ws.recv() == "hello"
        await ws.send("login")
        await asyncio.sleep(0.1)  # the first burst waits in websockets' queue
        with pytest.raises(ConnectionClosedOK):
            await ws.serve(got.append)
    assert got == [str(i) for i in range(4_000)]
    assert ws.messages_pushed >= 2_000  # the second burst was pushed, not queued


async def test_fragmented_and_binary_messages_arrive_whole():
    async def handler(ws):
        await ws.recv()
        await ws.send(["frag", "mented ", "text"])
        await ws.send(b'{"binary": true}')
        await ws.send([b"frag", b"mented binary"])
        await ws.send("plain")
        await ws.close()

    got = []
    async with server(handler) as ws:
        serving = asyncio.create_task(ws.serve(got.append))
        await asyncio.sleep(0.05)  # serving before anything is sent: all of it pushed
        await ws.send("go")
        with pytest.raises(ConnectionClosedOK):
            await serving
    assert got == ["fragmented text", '{"binary": true}', "fragmented binary", "plain"]
    assert ws.messages_pushed == 4


async def test_the_callbacks_exception_ends_serving_and_later_frames_are_left_alone():
    async def handler(ws):
        for text in ("a", "boom", "c"):
            await ws.send(text)
        await ws.wait_closed()

    got = []

    def on_message(text):
        if text == "boom":
            raise LookupError("a parser failed")
        got.append(text)

    async with server(handler) as ws:
        with pytest.raises(LookupError, match="a parser failed"):
            await ws.serve(on_message)
    assert got == ["a"]


async def test_a_text_frame_that_is_not_utf8_ends_serving():
    async def handler(ws):
        await asyncio.sleep(0.05)
        await ws.send("fine")
        await ws.send(b"\xff\xfe not text", text=True)
        await ws.wait_closed()

    got = []
    async with server(handler) as ws:
        with pytest.raises(UnicodeDecodeError):
            await ws.serve(got.append)
    assert got == ["fine"]


async def test_silence_ends_serving_with_a_timeout_and_messages_keep_it_alive():
    async def handler(ws):
        for _ in range(6):
            await ws.send("tick")
            await asyncio.sleep(0.1)
        await ws.wait_closed()  # then silent

    got = []
    loop = asyncio.get_running_loop()
    async with server(handler) as ws:
        started = loop.time()
        with pytest.raises(TimeoutError):
            await ws.serve(got.append, silence_s=0.3)
        took = loop.time() - started
    assert got == ["tick"] * 6
    assert 0.5 + 0.3 * 0.9 <= took < 0.5 + 0.3 + 0.5  # the ticks kept it alive; then one window


async def test_without_a_silence_window_a_quiet_socket_is_served_until_it_closes():
    async def handler(ws):
        await asyncio.sleep(0.5)
        await ws.send("late")
        await ws.close()

    got = []
    async with server(handler) as ws:
        with pytest.raises(ConnectionClosedOK):
            await ws.serve(got.append)
    assert got == ["late"]


async def test_cancelling_serve_returns_the_socket_to_recv():
    async def handler(ws):
        await ws.send("one")
        await ws.recv()
        await ws.send("two")
        await ws.wait_closed()

    got = []
    async with server(handler) as ws:
        serving = asyncio.create_task(ws.serve(got.append))
        await asyncio.sleep(0.05)
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
        await ws.send("more")
        assert await asyncio.wait_for(ws.recv(), 2) == "two"
    assert got == ["one"]


async def test_a_fragmented_message_begun_before_serving_ends_it_cleanly():
    """Its first fragment waits in websockets' queue, the rest would be pushed: not put together
    from two places, but refused (the engine reconnects), and websockets' own reading goes on."""
    started = asyncio.Event()

    async def fragments():
        yield "first half, "
        await started.wait()
        await asyncio.sleep(0.05)
        yield "second half"

    async def handler(ws):
        await ws.send(fragments())
        await ws.wait_closed()

    async with server(handler) as ws:
        await asyncio.sleep(0.05)  # the first fragment has arrived
        serving = asyncio.create_task(ws.serve(lambda text: None))
        await asyncio.sleep(0.02)
        started.set()
        with pytest.raises(ConnectionError, match="fragmented message began before serving"):
            await asyncio.wait_for(serving, 2)
        await ws.ping()  # the connection itself still works


# ---- frames read straight from the socket's bytes (PushConnection._split), against a server that
# writes exactly the bytes a test wants: the opening handshake by hand, then websockets' own frames.


@contextlib.asynccontextmanager
async def raw_server(script, **client_options):
    """Yield (ws, written): `written` is what the client sent, as frames; `script(writer)` runs once
    the client's first message (its "go") has arrived."""
    written: list[Frame] = []

    async def handle(reader, writer):
        await accept_upgrade(reader, writer)
        frames = StreamReader()
        parser = Frame.parse(frames.read_exact, mask=True)
        go = asyncio.Event()

        async def read_client():
            nonlocal parser
            while data := await reader.read(65536):
                frames.feed_data(data)
                while True:
                    try:
                        next(parser)
                    except StopIteration as done:
                        written.append(done.value)
                        go.set()
                        if done.value.opcode is Opcode.CLOSE:
                            writer.close()  # the closing handshake's last step: the server ends TCP
                            return
                        parser = Frame.parse(frames.read_exact, mask=True)
                        continue
                    break

        reading = asyncio.create_task(read_client())
        await go.wait()
        try:
            await script(writer)
        finally:
            await asyncio.gather(reading, return_exceptions=True)

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    async with srv:
        options = {"compression": None, **client_options}
        async with connect(f"ws://127.0.0.1:{port}", create_connection=PushConnection, **options) as ws:
            yield ws, written


def frame(opcode: Opcode, data: bytes | str, fin: bool = True) -> bytes:
    raw = data.encode() if isinstance(data, str) else data
    return Frame(opcode, raw, fin=fin).serialize(mask=False)


BIG = "x" * 70_000  # a 64-bit length
STREAM = b"".join(
    [
        frame(Opcode.TEXT, "a"),
        frame(Opcode.TEXT, "é" * 100),  # a 16-bit length, two-byte characters
        frame(Opcode.PING, b"are you there"),
        frame(Opcode.TEXT, BIG),
        frame(Opcode.BINARY, b'{"binary": 1}'),
        frame(Opcode.TEXT, "frag", fin=False),
        frame(Opcode.CONT, "mented"),
        frame(Opcode.TEXT, "after fragments"),
        frame(Opcode.TEXT, ""),
    ]
)
MESSAGES = ["a", "é" * 100, BIG, '{"binary": 1}', "fragmented", "after fragments", ""]
WHOLE_TEXT_FRAMES = 5  # the messages that are one text frame each


async def serving(ws, on_message):
    task = asyncio.create_task(ws.serve(on_message))
    await asyncio.sleep(0.02)
    await ws.send("go")
    return task


@pytest.mark.parametrize("cut", [1, 2, 3, 7, 126, 4096, len(STREAM)])
async def test_frames_cut_anywhere_arrive_whole_in_order_and_pings_are_answered(cut):
    """The socket's bytes handed over in pieces of `cut` bytes (each piece one data_received call,
    as asyncio makes them): every message whole and in order, the whole text frames read here, the
    rest by websockets, which still answers the ping."""
    quiet = asyncio.Event()

    async def script(writer):
        await quiet.wait()
        writer.write(frame(Opcode.CLOSE, b"\x03\xe8"))

    got = []
    async with raw_server(script) as (ws, written):
        task = await serving(ws, got.append)
        await asyncio.sleep(0.05)  # the go has reached the server, which now stays silent
        for start in range(0, len(STREAM), cut):
            ws.data_received(STREAM[start : start + cut])
        quiet.set()
        with pytest.raises(ConnectionClosedOK):
            await asyncio.wait_for(task, 5)
    assert got == MESSAGES
    assert ws.frames_split == WHOLE_TEXT_FRAMES
    assert [(f.opcode, f.data) for f in written[1:3]] == [
        (Opcode.PONG, b"are you there"),
        (Opcode.CLOSE, b"\x03\xe8"),
    ]


async def test_frames_cut_by_the_network_arrive_whole():
    """The same bytes over a real socket, written in pieces with pauses in between, cut inside
    headers, lengths and payloads."""
    cuts = [1, 2, 3, 5, 8, 60, 61, 62, 63, 70, 270, 285, 300, 40_000, len(STREAM)]

    async def script(writer):
        start = 0
        for stop in cuts:
            writer.write(STREAM[start:stop])
            await writer.drain()
            await asyncio.sleep(0.005)
            start = stop
        writer.write(frame(Opcode.CLOSE, b"\x03\xe8"))

    got = []
    async with raw_server(script) as (ws, _):
        task = await serving(ws, got.append)
        with pytest.raises(ConnectionClosedOK):
            await asyncio.wait_for(task, 5)
    assert got == MESSAGES
    assert ws.frames_split == WHOLE_TEXT_FRAMES


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (Frame(Opcode.TEXT, b"masked").serialize(mask=True), 1002),  # a server must not mask
        (bytes([0x81 | 0x40, 2]) + b"hi", 1002),  # RSV1 without an extension that uses it
        (bytes([0x83, 0]), 1002),  # no such opcode
        (frame(Opcode.TEXT, "y" * 2_000), 1009),  # above max_size
    ],
)
async def test_a_bad_frame_fails_the_connection_as_websockets_would(bad, code):
    async def script(writer):
        writer.write(frame(Opcode.TEXT, "before") + bad + frame(Opcode.TEXT, "after"))

    got = []
    async with raw_server(script, max_size=1_000) as (ws, _):
        task = await serving(ws, got.append)
        with pytest.raises(ConnectionClosedError) as closed:
            await asyncio.wait_for(task, 5)
    assert got == ["before"]
    assert closed.value.sent is not None and closed.value.sent.code == code


async def test_the_end_of_the_stream_inside_a_frame_is_an_abnormal_closure():
    async def script(writer):
        writer.write(frame(Opcode.TEXT, "whole") + frame(Opcode.TEXT, "cut short")[:6])
        await writer.drain()
        await asyncio.sleep(0.05)  # the start of the second frame is held, waiting for the rest
        writer.write_eof()

    got = []
    async with raw_server(script) as (ws, _):
        task = await serving(ws, got.append)
        with pytest.raises(ConnectionClosedError) as closed:
            await asyncio.wait_for(task, 5)
    assert got == ["whole"]
    assert closed.value.rcvd is None  # no close frame: 1006
    # websockets read the held bytes too, so it can say what was missing
    assert "stream ends after 4 bytes, expected 9 bytes" in repr(closed.value.__cause__)


async def test_when_the_callback_fails_the_rest_of_the_same_read_waits_for_recv():
    async def script(writer):
        writer.write(b"".join(frame(Opcode.TEXT, t) for t in ("a", "boom", "c", "d")))

    got = []

    def on_message(text):
        if text == "boom":
            raise LookupError("a parser failed")
        got.append(text)

    async with raw_server(script) as (ws, _):
        task = await serving(ws, on_message)
        with pytest.raises(LookupError):
            await asyncio.wait_for(task, 5)
        assert [await ws.recv(), await ws.recv()] == ["c", "d"]
    assert got == ["a"]


async def test_a_frame_half_read_when_serving_stops_is_finished_by_recv():
    half = frame(Opcode.TEXT, "split across the end of serving")
    go_on = asyncio.Event()

    async def script(writer):
        writer.write(frame(Opcode.TEXT, "served") + half[:10])
        await go_on.wait()
        writer.write(half[10:])

    got = []
    async with raw_server(script) as (ws, _):
        task = await serving(ws, got.append)
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        go_on.set()
        assert await asyncio.wait_for(ws.recv(), 5) == "split across the end of serving"
    assert got == ["served"]
