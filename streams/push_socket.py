"""A websocket client connection that hands each message to a callback as soon as it has arrived.

Why: on a busy private stream the connection layer cost more than our own parsing. Through
`recv()`, websockets queues every message in its Assembler and wakes a coroutine to take it out
again; `serve()` instead calls the callback from `data_received`: no queue, no wake-up, and the
socket is not read again until the callback has returned, which is back-pressure for free. And
while serving, a whole unmasked text frame (nearly every message an exchange sends) is cut straight
out of the socket's bytes (`_split`: two header bytes, a length, a slice) instead of going through
websockets' generator-based frame parser. The connection layer's cost per Bitstamp order frame
(`python -m tests.benchmarks socket`, median of 5 runs, this machine): 6.3 µs through `recv()`,
4.0 µs pushed through websockets' parser, 2.3 µs split here.

Everything else is websockets' own: the opening handshake, `recv()` and `send()` before `serve()` (an
exchange's login and subscribe steps), pings, pongs, binary and fragmented messages, every protocol
error, size limits and the closing handshake. `_split` only ever hands websockets whole frames,
starting where its parser waits between two frames, so that it always reads a stream in step.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import NoReturn

from websockets.asyncio.client import ClientConnection
from websockets.frames import DATA_OPCODES, Frame, Opcode
from websockets.protocol import Event, State
from websockets.streams import StreamReader

_TEXT = Opcode.TEXT
_CONT = Opcode.CONT
_OPEN = State.OPEN
_AT_EOF = StreamReader.at_eof.__code__  # what websockets' parser waits in between two frames
_FIN_TEXT = 0x81  # first header byte of a whole text message: FIN, no RSV bits, opcode 1


class PushConnection(ClientConnection):
    """`connect(..., create_connection=PushConnection)`; then `await ws.serve(on_message)`."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.messages_pushed = 0  # read by serve()'s silence watch
        self._push: Callable[[bytes], None] | None = None  # a one-frame text message, while serving
        self._deliver: Callable[[str], None] | None = None  # any message, decoded
        self._stopped: asyncio.Future[None] | None = None  # what ended serving, once it has
        self._parts: bytearray | None = None  # a fragmented message being put together
        self._parts_binary = False
        self._pending: bytearray | None = None  # the start of a frame whose rest has not come yet
        self._needed = 0  # how long _pending must grow before it is worth reading again
        sizes = (self.protocol.max_message_size, self.protocol.max_fragment_size)
        self._max_size = min((s for s in sizes if s is not None), default=1 << 63)  # what websockets takes
        self.frames_split = 0  # whole text frames read here instead of by websockets' parser

    def data_received(self, data: bytes) -> None:
        pending = self._pending
        if pending is not None:
            pending += data
            if len(pending) < self._needed:
                return
            data, self._pending = bytes(pending), None
        if self._push is not None and self._at_frame_start():
            self._split(data)
        else:
            super().data_received(data)

    def eof_received(self) -> bool | None:
        pending, self._pending = self._pending, None
        if pending:  # a frame cut short by the end of the stream: websockets reads it and says so
            super().data_received(bytes(pending))
        return super().eof_received()

    def _at_frame_start(self) -> bool:
        """websockets' parser is between two frames of an open connection, with nothing buffered:
        the next bytes start a frame, and may be read here instead."""
        protocol = self.protocol
        if protocol.state is not _OPEN or protocol.reader.buffer:
            return False
        waiting = protocol.parser  # the client's parse() -> the protocol's parse() -> what it waits in
        while waiting.gi_yieldfrom is not None:  # type: ignore[attr-defined]
            waiting = waiting.gi_yieldfrom  # type: ignore[attr-defined]
        return waiting.gi_code is _AT_EOF  # type: ignore[attr-defined]

    def _split(self, data: bytes) -> None:
        """Read whole unmasked text frames straight from the socket's bytes and push them; hand any
        other frame (ping, pong, close, binary, fragment, anything invalid), whole, to websockets'
        parser, which stays between frames; keep an incomplete frame's bytes until the rest has come."""
        end, pos, limit = len(data), 0, self._max_size
        while end - pos >= 2:
            head, size = data[pos], data[pos + 1]
            start = pos + 2
            if size & 0x80:  # masked: a protocol error websockets reports
                break
            if size >= 126:
                start += 2 if size == 126 else 8
                if end < start:
                    self._hold(data, pos, start)
                    return
                size = int.from_bytes(data[pos + 2 : start], "big")  # network byte order
            frame, stop = pos, start + size
            if size > limit:  # too big: websockets fails the connection, as it would have
                break
            if end < stop:
                self._hold(data, pos, stop)
                return
            pos = stop
            if head == _FIN_TEXT and self.protocol.current_size is None:  # not inside a fragmented one
                self.frames_split += 1
                self._push(data[start:stop])  # type: ignore[misc]
            else:
                super().data_received(data[frame:stop])
                if not self._at_frame_start():  # a close, or an error: websockets takes it from here
                    break
            if self._push is None:
                break
        if pos < end:
            if end - pos < 2 and self._push is not None:
                self._hold(data, pos, pos + 2)
            else:
                super().data_received(data[pos:])

    def _hold(self, data: bytes, pos: int, needed: int) -> None:
        self._pending, self._needed = bytearray(data[pos:]), needed - pos

    def process_event(self, event: Event) -> None:
        push = self._push
        if push is None or event.opcode not in DATA_OPCODES:  # type: ignore[union-attr]
            super().process_event(event)  # not serving yet (or any more), or a ping, pong or close
        elif event.fin and event.opcode is _TEXT:  # nearly every message: one text frame
            push(event.data)  # type: ignore[union-attr]
        else:
            self._assemble(event)  # type: ignore[arg-type]

    def _assemble(self, frame: Frame) -> None:
        """A binary message, or a fragment of one: the protocol has checked the order of the
        fragments and the size of the whole message already."""
        if frame.opcode is not _CONT:
            self._parts, self._parts_binary = bytearray(), frame.opcode is not _TEXT
        elif self._parts is None:  # its first fragment was queued for recv() before serve() began
            self._fail(ConnectionError("a fragmented message began before serving and ended after"))
            return
        self._parts += frame.data
        if frame.fin:
            data, self._parts = bytes(self._parts), None
            if not self._parts_binary:
                self._push(data)  # type: ignore[misc]
            else:  # no exchange here sends binary messages: read as text all the same
                self._deliver(data.decode("utf-8", "replace"))  # type: ignore[misc]

    def _fail(self, exc: BaseException) -> None:
        """End serving with `exc`; later frames go back to websockets' queue, unread."""
        self._push = self._deliver = None
        if self._stopped is not None and not self._stopped.done():
            self._stopped.set_exception(exc)

    async def serve(self, on_message: Callable[[str], None], silence_s: float | None = None) -> NoReturn:
        """Hand every message to `on_message`, in order, until one of these ends it (and is raised):
        the connection closed (`ConnectionClosed`), `on_message` raised, a text message was not UTF-8
        (`UnicodeDecodeError`), or nothing arrived for `silence_s` (`TimeoutError`). Messages that
        came before (queued for `recv()`) are handed over first."""
        self._stopped = stopped = asyncio.get_running_loop().create_future()
        held: list[str] = []
        sink: Callable[[str], None] = held.append  # until the messages queued before are handed over
        fail = self._fail

        def deliver(text: str) -> None:
            self.messages_pushed += 1
            try:
                sink(text)
            except Exception as exc:
                fail(exc)

        def push(data: bytes) -> None:
            try:
                text = data.decode()
            except UnicodeDecodeError as exc:
                fail(exc)
                return
            self.messages_pushed += 1
            try:
                sink(text)
            except Exception as exc:
                fail(exc)

        self._push, self._deliver = push, deliver
        closed = asyncio.ensure_future(self.wait_closed())
        try:
            while (queued := await self._queued()) is not None:
                on_message(queued)
            for text in held:
                on_message(text)
            sink = on_message
            await self._watch(stopped, closed, silence_s)
        finally:
            self._push = self._deliver = None
            closed.cancel()
        if stopped.done():
            stopped.result()  # raises what ended it
        await self.recv()  # closed: raises ConnectionClosed with the reason
        raise AssertionError("recv() returned on a closed connection")

    async def _queued(self) -> str | None:
        """A message queued for `recv()` before serving began, or None once there is none. recv() is
        safe to cancel (websockets documents it): a cancelled one loses nothing."""
        try:
            async with asyncio.timeout(0):
                message = await self.recv()
        except TimeoutError:
            return None
        return message if isinstance(message, str) else message.decode("utf-8", "replace")

    async def _watch(
        self, stopped: asyncio.Future[None], closed: asyncio.Future[None], silence_s: float | None
    ) -> None:
        """Wait for the end; with `silence_s`, look every 1/20 of it whether messages still come."""
        loop = asyncio.get_running_loop()
        step = silence_s / 20 if silence_s else None
        seen, heard = self.messages_pushed, loop.time()
        while not (stopped.done() or closed.done()):
            await asyncio.wait((stopped, closed), timeout=step, return_when=asyncio.FIRST_COMPLETED)
            if silence_s is None:
                continue
            now = loop.time()
            if self.messages_pushed != seen:
                seen, heard = self.messages_pushed, now
            elif now - heard >= silence_s:
                raise TimeoutError(f"no message for {silence_s:g} s")
