"""'Test connection' through the real engine against the real simulator, and the key-rights hook."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from dataclasses import replace

import pytest

from streams import accounts, credentials
from streams.config import AccountConfig
from streams.exchange import Credentials
from streams.exchanges import EXCHANGES
from streams.exchanges.bitopro import SPEC
from streams.exchanges.bitopro.simulator import BitoProSimulator
from streams.key_rights import KeyRights
from streams.probe import probe_account, rights_text
from tests.process_helpers import SimulatorThread


@pytest.fixture
async def sim():
    async with BitoProSimulator(seed=2) as simulator:
        yield simulator


def config_for(sim, account_id="probe") -> AccountConfig:
    return AccountConfig(account_id, "bitopro", ws_url=sim.ws_url, rest_url=sim.rest_url)


async def test_good_keys_connect_and_report_unknown_rights(sim):
    result = await probe_account(config_for(sim), SPEC, Credentials(sim.credentials))
    assert result.ok
    assert (
        result.answer
        == f"connected: {len(sim.truth.balances)} balances, {len(sim.truth.open_orders)} open orders"
    )
    assert not result.rights_known and result.rights is None
    assert (
        rights_text("BitoPro", result)
        == "BitoPro does not report what a key may do; make sure it is read-only"
    )


async def test_a_wrong_key_shows_the_exchanges_own_answer(sim):
    wrong = Credentials({**sim.credentials, "api_secret": "not-the-secret"})
    result = await probe_account(config_for(sim), SPEC, wrong)
    assert not result.ok
    assert result.answer == "HTTP 401: Invalid signature"  # the simulator's words, without the retry note
    assert sim.auth_failures >= 1


async def test_nobody_listening_is_a_timeout_with_the_last_reason():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    config = AccountConfig(
        "probe", "bitopro", ws_url=f"ws://127.0.0.1:{port}/ws", rest_url=f"http://127.0.0.1:{port}/v3"
    )
    result = await probe_account(
        config, SPEC, Credentials({"api_key": "k", "api_secret": "s", "email": "e"}), timeout_s=2
    )
    assert not result.ok
    assert result.answer.startswith("no answer within 2 s; last: ")
    assert "Connect call failed" in result.answer or "refused" in result.answer


class RestWithRights:
    """The BitoPro REST client plus the optional hook, answering as a trade-enabled key would (BitoPro
    itself has no such call; this stands in for an exchange that has one)."""

    def __init__(self, inner, rights):
        self._inner, self._rights = inner, rights

    def __getattr__(self, name):
        return getattr(self._inner, name)

    async def key_rights(self):
        await self._inner.snapshot()  # a signed call, as a real rights endpoint would be
        return self._rights


@pytest.mark.parametrize(
    ("rights", "described", "warning"),
    [
        (
            KeyRights(read=True, trade=True, withdraw=False),
            "read, trade",
            "This key can trade. Account Monitor",
        ),
        (
            KeyRights(read=True, trade=True, withdraw=True),
            "read, trade, withdraw",
            "This key can trade and withdraw.",
        ),
        (KeyRights(read=True, trade=False, withdraw=False), "read", None),
        (KeyRights(read=True, trade=None, withdraw=False), "read (unknown: trade)", None),
    ],
)
async def test_the_rights_hook_is_shown_and_risky_keys_warned(sim, rights, described, warning):
    spec = replace(SPEC, make_rest=lambda a, c, h: RestWithRights(SPEC.make_rest(a, c, h), rights))
    result = await probe_account(config_for(sim), spec, Credentials(sim.credentials))
    assert result.ok and result.rights_known and result.rights == rights
    assert rights_text("X", result) == f"key rights: {described}"
    if warning is None:
        assert rights.warning() is None and not rights.risky
    else:
        assert rights.risky and rights.warning().startswith(warning)


@pytest.mark.parametrize("name", sorted(EXCHANGES))
def test_accounts_list_check_against_each_simulator(name, tmp_path):
    sim = SimulatorThread(EXCHANGES[name])
    path = tmp_path / "accounts.toml"
    ids = (f"check-{name}-good", f"check-{name}-wrong")
    try:
        good = dict(sim.sim.credentials)
        wrong = {k: f"WRONG-{v}" for k, v in good.items()}
        for account_id, values in zip(ids, (good, wrong), strict=True):
            config = AccountConfig(account_id, name, ws_url=sim.sim.ws_url, rest_url=sim.sim.rest_url)
            accounts.add_account(path, config, values)
        done = subprocess.run(
            [sys.executable, "-m", "streams.cli", "--config", str(path), "accounts", "list", "--json", "--check"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        rows = [json.loads(line) for line in done.stdout.splitlines()]
        assert [r["check"]["ok"] for r in rows] == [True, False]
        assert rows[0]["check"]["answer"].startswith("connected: ")
        assert rows[1]["check"]["answer"] and not rows[1]["check"]["answer"].startswith("no answer")
        assert all(
            v not in done.stdout + done.stderr for v in [*good.values(), *wrong.values()] if len(v) > 5
        )
    finally:
        for account_id in ids:
            credentials.delete_credentials(account_id)
        sim.close()
