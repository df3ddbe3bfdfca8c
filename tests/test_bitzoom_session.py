"""Bitzoom's session on its own against the simulator: the URL scheme rule, the logon/subscribe
handshake, a subId map per connection, and the payloads that arrive during the handshake."""

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from streams.config import AccountConfig
from streams.events import BalancesEvent, RawPayload
from streams.exchange import AuthFailed, Credentials
from streams.exchanges.bitzoom.parser import BALANCE, OPEN_ORDERS, TOKEN_EXPIRED
from streams.exchanges.bitzoom.session import BitzoomSession, rest_url_for, ws_url_for
from streams.exchanges.bitzoom.simulator import BitzoomSimulator


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("119.8.50.236:8088", "ws://119.8.50.236:8088/ws"),  # the docs' examples
        ("api.example.com", "wss://api.example.com/ws"),
        ("http://119.8.50.236:8088", "ws://119.8.50.236:8088/ws"),
        ("https://testnet.bitzoom.com/", "wss://testnet.bitzoom.com/ws"),
        ("http://localhost:9000", "ws://localhost:9000/ws"),
        ("[::1]:8088", "ws://[::1]:8088/ws"),
        ("ws://127.0.0.1:5000/ws", "ws://127.0.0.1:5000/ws"),  # a full websocket URL is kept
        ("wss://host/custom/path", "wss://host/custom/path"),
    ],
)
def test_websocket_url_scheme_rule(base, url):
    assert ws_url_for(base) == url


def test_rest_url_follows_the_websocket_host_unless_configured():
    assert rest_url_for(AccountConfig("z", "bitzoom", ws_url="wss://testnet.bitzoom.com/ws")) == (
        "https://testnet.bitzoom.com"
    )
    assert (
        rest_url_for(AccountConfig("z", "bitzoom", ws_url="ws://127.0.0.1:5/ws", rest_url="http://x/"))
        == "http://x"
    )


@pytest.fixture
async def sim():
    async with BitzoomSimulator(seed=31) as simulator:
        yield simulator


def session_for(sim, token=None):
    account = AccountConfig("z1", "bitzoom", ws_url=sim.ws_url, rest_url=sim.rest_url)
    return BitzoomSession(account, Credentials({"jwt": token or sim.credentials["jwt"]}))


async def test_every_connect_gets_its_own_subid_map(sim):
    session = session_for(sim)
    maps = []
    for _ in range(2):
        [plan] = await session.plans()
        assert plan.url == sim.ws_url and plan.max_age_s and plan.max_age_s < 24 * 3600
        async with connect(plan.url) as ws:
            await plan.handshake(ws)
            subs = plan.parse.__self__.subs
            assert sorted(s.channel for s in subs.values()) == [BALANCE, OPEN_ORDERS]
            maps.append(dict(subs))
    assert set(maps[0]).isdisjoint(maps[1])  # subIds change: the new acks rebuilt the map
    assert sim.logons == 2 and sim.subscriptions == 4


async def test_a_refused_logon_is_auth_failed_and_nothing_is_subscribed(sim):
    [plan] = await session_for(sim, sim.issue_token(lifetime_s=-5)).plans()
    async with connect(plan.url) as ws:
        with pytest.raises(AuthFailed) as info:
            await plan.handshake(ws)
    assert info.value.text == TOKEN_EXPIRED and sim.subscriptions == 0


async def test_payloads_during_the_handshake_hand_on_their_raw_text_only(sim):
    """The simulator sends each subscription's current state in the ack's message: the handshake
    reads it; the first frame after it carries its raw text (not its data: the REST snapshot that
    the engine takes next is newer)."""
    [plan] = await session_for(sim).plans()
    async with connect(plan.url) as ws:
        await plan.handshake(ws)
        sim.truth.set_balance("ETH", "2")
        events = plan.parse(await asyncio.wait_for(ws.recv(), 2))
    early = [e for e in events if isinstance(e, RawPayload) and json.loads(e.text)["data"] != []]
    assert {e.channel for e in early} == {BALANCE, OPEN_ORDERS}
    assert json.loads(early[0].text)["event"] in plan.parse.__self__.subs
    [balances] = [e for e in events if isinstance(e, BalancesEvent)]
    assert [b.asset for b in balances.balances] == ["ETH"]  # only the new push is data
    later = plan.parse('{"channel":"logon","event":"success","data":{}}')
    assert not any(isinstance(e, RawPayload) for e in later)  # handed on once only


def test_an_echoed_token_is_scrubbed_from_everything_the_engine_logs_or_shows():
    from streams.events import MalformedFrame, ServerError
    from streams.exchanges.bitzoom.session import _Connection

    token = BitzoomSimulator(seed=4).credentials["jwt"]
    signature = token.rpartition(".")[2]
    connection = _Connection("z1", token)
    [refusal] = connection.parse(json.dumps({"channel": "logon", "event": "error", "data": {"token": token}}))
    assert isinstance(refusal, ServerError) and refusal.auth and token not in refusal.text
    [error] = connection.parse(
        json.dumps({"channel": "/api/v1/balance", "event": "error", "data": f"bad {token}"})
    )
    assert isinstance(error, ServerError) and signature not in error.text and "<token>" in error.text
    with pytest.raises(MalformedFrame) as info:
        connection.parse(f"{signature} is not JSON")
    assert signature not in str(info.value)
    parts = connection.parse(f'{{"channel":"logon","event":"success","data":{{}}}}\n{signature}...')
    assert all(signature not in getattr(p, "reason", "") for p in parts)
