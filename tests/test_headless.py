"""The headless contract, tested as users script against it: a real `account-monitor` process on the
demo simulators, its stdout parsed line by line as JSON."""

import json
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest

from streams.exchanges import EXCHANGES

KEYS = {
    "status": {"type", "account", "exchange", "state", "detail", "ts"},
    "balance": {"type", "account", "exchange", "asset", "total", "available", "locked", "ts"},
    "order": {
        "type",
        "account",
        "exchange",
        "order_id",
        "market",
        "side",
        "kind",
        "price",
        "amount",
        "filled",
        "status",
        "ts",
    },
    "fill": {
        "type",
        "account",
        "exchange",
        "order_id",
        "trade_id",
        "market",
        "side",
        "price",
        "amount",
        "fee",
        "fee_asset",
        "ts",
        "late",
    },
}
AMOUNTS = {"total", "available", "locked", "price", "amount", "filled", "fee"}
ORDER_STATUSES = {"open", "partially_filled", "filled", "cancelled", "rejected"}


def command(*args):
    return [sys.executable, "-m", "streams.cli", *args]


def check_line(line):
    obj = json.loads(line)
    assert set(obj) == KEYS[obj["type"]], obj
    for key in AMOUNTS & set(obj):
        assert isinstance(obj[key], str) and "E" not in obj[key] and "e" not in obj[key], obj
        Decimal(obj[key])  # exact decimal strings
    assert obj["ts"].endswith("Z") and obj["exchange"] in EXCHANGES
    assert obj["account"] in (f"demo-{obj['exchange']}", f"sim-{obj['exchange']}")
    if obj["type"] == "order":
        assert obj["status"] in ORDER_STATUSES and obj["side"] in {"buy", "sell"} and "/" in obj["market"]
    if obj["type"] == "fill":
        assert isinstance(obj["late"], bool)
    return obj


def test_headless_demo_prints_the_contract_and_exits_after_for():
    started = time.monotonic()
    done = subprocess.run(
        command("--headless", "--demo", "--for", "4"), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30
    objects = [check_line(line) for line in done.stdout.splitlines()]
    assert {o["exchange"] for o in objects} == set(EXCHANGES)  # one demo account per exchange
    for name in EXCHANGES:
        mine = [o for o in objects if o["exchange"] == name]
        states = [o["state"] for o in mine if o["type"] == "status"]
        assert states[:3] == ["connecting", "syncing", "live"] and states[-1] == "offline", name
        balances = {o["asset"]: o for o in mine if o["type"] == "balance"}
        assert {"BTC", "USDT", "TWD"} <= set(balances), name
        for b in balances.values():
            assert Decimal(b["total"]) == Decimal(b["available"]) + Decimal(b["locked"])
        types = {o["type"] for o in mine}
        assert "order" in types, name  # each demo account has resting orders from the start
    assert done.stderr == ""  # nothing but JSON on stdout, and nothing alarming on stderr


def test_headless_stops_cleanly_on_sigterm():
    process = subprocess.Popen(
        command("--headless", "--demo"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        for line in process.stdout:
            if check_line(line).get("state") == "live":
                break
        process.send_signal(signal.SIGTERM)
        rest, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0, err
    last = {}
    for line in rest.splitlines():
        obj = json.loads(line)
        if obj["type"] == "status":
            last[obj["account"]] = obj["state"]
    assert json.loads(rest.splitlines()[-1])["state"] == "offline"
    assert set(last.values()) == {"offline"} and len(last) == len(EXCHANGES)


@pytest.mark.parametrize("exchange", sorted(EXCHANGES))
def test_configured_account_against_a_simulator_process(tmp_path, exchange):
    """The way a user tries a test host: `simulate` in one process, an account pointed at it (keys in
    the real keyring), and `--headless` reading it."""
    account = f"sim-{exchange}"
    simulator = subprocess.Popen(command("simulate", exchange), stdout=subprocess.PIPE, text=True)
    config = str(tmp_path / "accounts.toml")
    try:
        ws_url = simulator.stdout.readline().split(": ", 1)[1].strip()
        rest_url = simulator.stdout.readline().split(": ", 1)[1].strip()
        secrets = json.loads(simulator.stdout.readline().split(": ", 1)[1])
        added = subprocess.run(
            command(
                "--config",
                config,
                "accounts",
                "add",
                account,
                "--exchange",
                exchange,
                "--ws-url",
                ws_url,
                "--rest-url",
                rest_url,
            ),
            input=json.dumps(secrets),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert added.returncode == 0, added.stderr
        done = subprocess.run(
            command("--config", config, "--headless", "--for", "3"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        objects = [check_line(line) for line in done.stdout.splitlines()]
        assert {o["account"] for o in objects} == {account}
        assert "live" in [o["state"] for o in objects if o["type"] == "status"]
        assert {"BTC", "USDT"} <= {o["asset"] for o in objects if o["type"] == "balance"}
        seen = done.stdout + done.stderr + (tmp_path / "accounts.toml").read_text()
        assert not [name for name, secret in secrets.items() if secret in seen]
    finally:
        subprocess.run(
            command("--config", config, "accounts", "remove", account), capture_output=True, timeout=60
        )
        simulator.terminate()
        simulator.wait(timeout=10)


def test_verbose_logs_carry_no_secret():
    secrets = [spec.make_simulator().credentials for spec in EXCHANGES.values()]
    done = subprocess.run(
        command("--headless", "--demo", "--for", "2", "-v"), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    for name in EXCHANGES:
        assert f"demo-{name}: live (streaming)" in done.stderr  # -v really logs
    for text in (done.stdout, done.stderr):
        for creds in secrets:
            for secret in creds.values():
                assert secret not in text
        assert "X-BITOPRO" not in text and "passphrase" not in text
