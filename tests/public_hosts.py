"""The test host the Bitzoom docs print (the spec's default `ws_url`/`rest_url`) must never be
contacted by a test: a socket-level guard, active in every test through conftest.py."""

from __future__ import annotations

import socket

import pytest

PUBLIC_TEST_HOSTS = frozenset({"119.8.50.236"})  # Bitzoom's "Gateway Spec Server"
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class PublicHostRefused(ConnectionRefusedError):
    """A test tried to reach a public test host."""


def forbidden(address: object) -> bool:
    """True for an (host, port, ...) address on one of the public test hosts."""
    return isinstance(address, tuple) and bool(address) and address[0] in PUBLIC_TEST_HOSTS


def guarded_connect(sock: socket.socket, address: object) -> None:
    if forbidden(address):
        raise PublicHostRefused(f"tests never contact {address[0]}")  # type: ignore[index]
    _real_connect(sock, address)


def guarded_connect_ex(sock: socket.socket, address: object) -> int:
    if forbidden(address):
        raise PublicHostRefused(f"tests never contact {address[0]}")  # type: ignore[index]
    return _real_connect_ex(sock, address)


@pytest.fixture(autouse=True)
def _never_contact_public_test_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    """asyncio, aiohttp and websockets all end in `socket.connect`: refuse the public hosts there."""
    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
