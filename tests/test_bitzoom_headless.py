"""The headless JSON contract for Bitzoom accounts: real `account-monitor` processes on the demo and
on a `simulate bitzoom` process, stdout parsed line by line; and no token in any output."""

import json
import re
import subprocess
from decimal import Decimal

from tests.test_headless import check_line, command

JWT = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")


def test_headless_demo_has_the_bitzoom_account_live():
    done = subprocess.run(
        command("--headless", "--demo", "--for", "4", "-v"), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    objects = [o for o in map(check_line, done.stdout.splitlines()) if o["exchange"] == "bitzoom"]
    assert {o["account"] for o in objects} == {"demo-bitzoom"}
    states = [o["state"] for o in objects if o["type"] == "status"]
    assert states[:3] == ["connecting", "syncing", "live"] and states[-1] == "offline"
    balances = {o["asset"]: o for o in objects if o["type"] == "balance"}
    assert {"BTC", "USDT", "SOL"} <= set(balances)
    for b in balances.values():
        assert Decimal(b["total"]) == Decimal(b["available"]) + Decimal(b["locked"])
    orders = [o for o in objects if o["type"] == "order"]
    assert orders and all(int(o["order_id"]) > 2**53 for o in orders)  # exact, as strings
    assert "demo-bitzoom: live (streaming)" in done.stderr  # -v really logs
    assert "token expires in" in done.stderr
    assert not JWT.search(done.stdout + done.stderr)  # the demo's token never shows


def test_configured_bitzoom_account_against_a_simulator_process(tmp_path):
    simulator = subprocess.Popen(command("simulate", "bitzoom"), stdout=subprocess.PIPE, text=True)
    config = tmp_path / "accounts.toml"
    try:
        ws_url = simulator.stdout.readline().split(": ", 1)[1].strip()
        rest_url = simulator.stdout.readline().split(": ", 1)[1].strip()
        secrets = json.loads(simulator.stdout.readline().split(": ", 1)[1])
        assert set(secrets) == {"jwt"} and ws_url.endswith("/ws")
        adding = [
            "accounts",
            "add",
            "bz-1",
            "--exchange",
            "bitzoom",
            "--ws-url",
            ws_url,
            "--rest-url",
            rest_url,
        ]
        added = subprocess.run(
            command("--config", str(config), *adding),
            input=json.dumps(secrets),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert added.returncode == 0, added.stderr
        done = subprocess.run(
            command("--config", str(config), "--headless", "--for", "3", "-v"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        objects = [json.loads(line) for line in done.stdout.splitlines()]
        assert {(o["account"], o["exchange"]) for o in objects} == {("bz-1", "bitzoom")}
        assert "live" in [o["state"] for o in objects if o["type"] == "status"]
        assert {"BTC", "USDT"} <= {o["asset"] for o in objects if o["type"] == "balance"}
        everything = done.stdout + done.stderr + config.read_text()
        assert secrets["jwt"] not in everything and secrets["jwt"].split(".")[2] not in everything
    finally:
        subprocess.run(
            command("--config", str(config), "accounts", "remove", "bz-1"), capture_output=True, timeout=60
        )
        simulator.terminate()
        simulator.wait(timeout=10)
