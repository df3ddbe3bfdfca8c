"""PushConnection against a real websockets server on 127.0.0.1: messages handed over in order (those
queued for recv() before serve() first), fragmented and binary messages, the end of serving (the
callback's exception, a text frame that is not UTF-8, a silent socket, a close), and recv()/send()
before serving (an exchange's login) untouched."""

import asyncio
import contextlib

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosedOK

from streams.push_socket import PushConnection


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
