"""The guard that keeps tests away from the public test host in the Bitzoom docs, and the places
that host may appear: the spec's defaults, never a test's account."""

import socket

import aiohttp
import pytest

from streams.config import AccountConfig
from streams.exchange import Credentials
from streams.exchanges.bitzoom import SPEC
from streams.exchanges.bitzoom.rest import BitzoomRest
from streams.exchanges.bitzoom.session import rest_url_for, ws_url_for
from tests.public_hosts import PublicHostRefused, forbidden, guarded_connect


def test_the_docs_host_is_the_specs_default_and_guarded():
    assert SPEC.ws_url == "ws://119.8.50.236:8088/ws" and SPEC.rest_url == "http://119.8.50.236:8088"
    assert rest_url_for(AccountConfig("z", "bitzoom")) == SPEC.rest_url
    assert ws_url_for(SPEC.ws_url) == SPEC.ws_url
    assert forbidden(("119.8.50.236", 8088)) and forbidden(("119.8.50.236", 443, 0, 0))
    assert not forbidden(("127.0.0.1", 8088)) and not forbidden("/run/user/0/bus") and not forbidden(())


def test_the_guard_is_in_place_and_refuses_before_any_packet():
    assert socket.socket.connect is guarded_connect
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        with pytest.raises(PublicHostRefused):
            sock.connect(("119.8.50.236", 8088))


async def test_an_account_without_urls_would_be_refused_by_the_guard():
    """What a test that forgot ws_url/rest_url would hit: the guard, not the host."""
    assert socket.socket.connect is guarded_connect  # else this test must not run at all
    async with aiohttp.ClientSession() as http:
        rest = BitzoomRest(AccountConfig("z", "bitzoom"), Credentials({"jwt": "a.b.c"}), http)
        with pytest.raises(aiohttp.ClientConnectionError):
            await rest.snapshot()
