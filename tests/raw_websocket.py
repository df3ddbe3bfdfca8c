"""The server side of a websocket opening handshake, by hand: for servers that then write exactly the
bytes a test or a benchmark wants, cut where it wants (websockets' own server frames every message
itself)."""

from __future__ import annotations

import asyncio
import re

from websockets.utils import accept_key

_KEY = re.compile(rb"(?im)^sec-websocket-key: *(\S+)")


async def accept_upgrade(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read the client's upgrade request and answer 101 with the Sec-WebSocket-Accept it expects."""
    request = await reader.readuntil(b"\r\n\r\n")
    found = _KEY.search(request)
    if found is None:
        raise ConnectionError("an upgrade request without Sec-WebSocket-Key")
    writer.write(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept_key(found.group(1).decode()).encode() + b"\r\n\r\n"
    )
