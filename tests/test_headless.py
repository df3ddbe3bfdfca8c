"""The headless contract, tested as users script against it: a real `account-monitor` process on the
demo simulators, its stdout parsed line by line as JSON."""

import json
import signal
import subprocess
import sys
import time
from decimal import Decimal

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
    assert (
        obj["ts"].endswith("Z")
        and obj["exchange"] in EXCHANGES
        and obj["account"] == f"demo-{obj['exchange']}"
    )
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
    for name in EXCHANGES:  # one demo account per exchange, each with its own life cycle
        states = [o["state"] for o in objects if o["type"] == "status" and o["exchange"] == name]
        assert states[:3] == ["connecting", "syncing", "live"] and states[-1] == "offline", name
    balances = {o["asset"]: o for o in objects if o["type"] == "balance" and o["exchange"] == "bitopro"}
    assert {"BTC", "USDT", "TWD"} <= set(balances)
    for b in balances.values():
        assert Decimal(b["total"]) == Decimal(b["available"]) + Decimal(b["locked"])
    types = {o["type"] for o in objects}
    assert "order" in types  # the demo account has resting orders from the start
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
    last = {}  # each demo account's last line
    for obj in map(json.loads, rest.splitlines()):
        last[obj["account"]] = (obj["type"], obj.get("state"))
    assert last == {f"demo-{name}": ("status", "offline") for name in EXCHANGES}


def test_configured_account_against_a_simulator_process(tmp_path):
    """The way a user tries a test host: `simulate` in one process, an account pointed at it (keys in
    the real keyring), and `--headless` reading it."""
    simulator = subprocess.Popen(command("simulate", "bitopro"), stdout=subprocess.PIPE, text=True)
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
                "sim-1",
                "--exchange",
                "bitopro",
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
        objects = [json.loads(line) for line in done.stdout.splitlines()]
        assert {o["account"] for o in objects} == {"sim-1"}
        assert "live" in [o["state"] for o in objects if o["type"] == "status"]
        assert {"BTC", "USDT"} <= {o["asset"] for o in objects if o["type"] == "balance"}
        assert (
            secrets["api_secret"] not in done.stdout + done.stderr + (tmp_path / "accounts.toml").read_text()
        )
    finally:
        subprocess.run(
            command("--config", config, "accounts", "remove", "sim-1"), capture_output=True, timeout=60
        )
        simulator.terminate()
        simulator.wait(timeout=10)


def test_verbose_logs_carry_no_secret():
    from streams.exchanges.bitopro.simulator import BitoProSimulator

    secrets = BitoProSimulator().credentials
    done = subprocess.run(
        command("--headless", "--demo", "--for", "2", "-v"), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "demo-bitopro: live (streaming)" in done.stderr  # -v really logs
    for text in (done.stdout, done.stderr):
        assert secrets["api_key"] not in text and secrets["api_secret"] not in text
        assert "X-BITOPRO" not in text
