"""The headless contract for Coins.ph, as users script against it: the demo account's JSON lines, a
configured account on a `simulate coinsph` process with its keys in the real keyring, and -v logs
without secrets."""

import json
import subprocess
from decimal import Decimal

from streams.exchanges.coinsph.simulator import CoinsphSimulator
from tests.test_headless import check_line, command


def test_demo_coinsph_account_keeps_the_contract():
    done = subprocess.run(
        command("--headless", "--demo", "--for", "4"), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    objects = [o for o in map(check_line, done.stdout.splitlines()) if o["account"] == "demo-coinsph"]
    states = [o["state"] for o in objects if o["type"] == "status"]
    assert states[:3] == ["connecting", "syncing", "live"] and states[-1] == "offline"
    balances = {o["asset"]: o for o in objects if o["type"] == "balance"}
    assert {"BTC", "USDT", "SOL"} <= set(balances)
    for b in balances.values():
        assert Decimal(b["total"]) == Decimal(b["available"]) + Decimal(b["locked"])
    orders = [o for o in objects if o["type"] == "order"]
    assert orders and all(int(o["order_id"]) > 2**53 for o in orders)  # exact, not rounded
    assert all(o["market"] in {"BTC/USDT", "ETH/USDT", "SOL/USDT", "BITO/TWD", "USDT/TWD"} for o in orders)
    for fill in (o for o in objects if o["type"] == "fill"):
        assert fill["trade_id"].startswith(fill["order_id"] + ":")
    assert done.stderr == ""


def test_configured_account_against_a_coinsph_simulator_process(tmp_path):
    simulator = subprocess.Popen(command("simulate", "coinsph"), stdout=subprocess.PIPE, text=True)
    config = str(tmp_path / "accounts.toml")
    try:
        ws_url = simulator.stdout.readline().split(": ", 1)[1].strip()
        rest_url = simulator.stdout.readline().split(": ", 1)[1].strip()
        secrets = json.loads(simulator.stdout.readline().split(": ", 1)[1])
        assert set(secrets) == {"api_key", "api_secret"}
        added = subprocess.run(
            command("--config", config, "accounts", "add", "ph-1", "--exchange", "coinsph", "--ws-url", ws_url,
                    "--rest-url", rest_url),
            input=json.dumps(secrets), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        done = subprocess.run(
            command("--config", config, "--headless", "--for", "3", "-v"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        objects = [json.loads(line) for line in done.stdout.splitlines()]
        assert {o["account"] for o in objects} == {"ph-1"} and {o["exchange"] for o in objects} == {"coinsph"}
        assert "live" in [o["state"] for o in objects if o["type"] == "status"]
        assert {"BTC", "USDT"} <= {o["asset"] for o in objects if o["type"] == "balance"}
        assert "ph-1: live (streaming)" in done.stderr  # -v really logs
        for text in (done.stdout, done.stderr, (tmp_path / "accounts.toml").read_text()):
            assert secrets["api_secret"] not in text and secrets["api_key"] not in text
    finally:
        subprocess.run(
            command("--config", config, "accounts", "remove", "ph-1"), capture_output=True, timeout=60
        )
        simulator.terminate()
        simulator.wait(timeout=10)


def test_verbose_demo_logs_carry_no_coinsph_secret():
    secrets = CoinsphSimulator().credentials
    done = subprocess.run(
        command("--headless", "--demo", "--for", "2", "-v"), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "demo-coinsph: live (streaming)" in done.stderr
    for text in (done.stdout, done.stderr):
        assert secrets["api_key"] not in text and secrets["api_secret"] not in text
