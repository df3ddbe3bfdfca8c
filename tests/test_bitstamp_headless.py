"""The headless contract for a configured Bitstamp account, run as a user would: `simulate bitstamp`
in one process, the account added with `accounts add` (keys in the real keyring), `--headless`
reading it; and the websocket token left in the keyring for the next start."""

import json
import subprocess
import sys
from decimal import Decimal

import keyring

from streams.credentials import TOKEN_SERVICE
from streams.exchanges.bitstamp.token_store import WsToken, username
from streams.model import now_ms
from tests.test_headless import KEYS


def command(*args):
    return [sys.executable, "-m", "streams.cli", *args]


def test_configured_bitstamp_account_against_a_simulator_process(tmp_path):
    simulator = subprocess.Popen(command("simulate", "bitstamp"), stdout=subprocess.PIPE, text=True)
    config = str(tmp_path / "accounts.toml")
    account = "stamp-1"
    try:
        ws_url = simulator.stdout.readline().split(": ", 1)[1].strip()
        rest_url = simulator.stdout.readline().split(": ", 1)[1].strip()
        secrets = json.loads(simulator.stdout.readline().split(": ", 1)[1])
        add = command(
            "--config", config, "accounts", "add", account, "--exchange", "bitstamp",
            "--ws-url", ws_url, "--rest-url", rest_url, "--markets", "BTC/USDT", "NOPE/USD",
        )  # fmt: skip
        added = subprocess.run(add, input=json.dumps(secrets), capture_output=True, text=True, timeout=60)
        assert added.returncode == 0, added.stderr
        done = subprocess.run(
            command("--config", config, "--headless", "--for", "4"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        objects = [json.loads(line) for line in done.stdout.splitlines()]
        for obj in objects:
            assert set(obj) == KEYS[obj["type"]], obj
            assert (obj["account"], obj["exchange"]) == (account, "bitstamp")
        states = [o["state"] for o in objects if o["type"] == "status"]
        assert states[:3] == ["connecting", "syncing", "live"] and states[-1] == "offline"
        balances = {o["asset"]: o for o in objects if o["type"] == "balance"}
        assert {"BTC", "USDT"} <= set(balances)
        for b in balances.values():
            assert Decimal(b["total"]) == Decimal(b["available"]) + Decimal(b["locked"])
        assert any(o["type"] == "order" and int(o["order_id"]) > 2**53 for o in objects)  # exact huge ids
        # the configured market Bitstamp does not list: one warning on stderr, nothing else
        assert "configured market NOPE/USD is not listed by Bitstamp" in done.stderr
        for text in (done.stdout, done.stderr, (tmp_path / "accounts.toml").read_text()):
            assert secrets["api_secret"] not in text and secrets["api_key"] not in text
        token = WsToken.from_json(keyring.get_password(TOKEN_SERVICE, username(account)) or "")
        assert token is not None and token.expires_ms > now_ms()  # kept for the next start
        assert token.token not in done.stdout + done.stderr
    finally:
        subprocess.run(
            command("--config", config, "accounts", "remove", account), capture_output=True, timeout=60
        )
        subprocess.run(
            ["secret-tool", "clear", "service", TOKEN_SERVICE, "username", username(account)], check=False
        )
        simulator.terminate()
        simulator.wait(timeout=10)
