"""Fill notifications end to end: the BitoPro simulator on 127.0.0.1, the real engine, the ledger on
disk, desktop-notifier on the session bus, and dunst (started by .ci/test) as the daemon. What the
daemon was asked to show is read from the bus with dbus-monitor."""

import asyncio
import logging
import os
import shutil
import subprocess
from dataclasses import replace
from decimal import Decimal

import pytest

from streams.alerts import AlertPolicy, AlertSettings
from streams.config import AccountConfig
from streams.engine import AccountRunner
from streams.exchange import Credentials
from streams.exchanges.bitopro import SPEC
from streams.exchanges.bitopro.simulator import BitoProSimulator
from streams.ledger import FillLedger, Outcome
from streams.model import Side, State
from streams.notifier import NO_SERVICE, DesktopSender, FillNotifier
from tests.engine_helpers import FAST, wait_for
from tests.notify_bus import NotifyWatcher

ACCOUNT = "main-acct"
NAME = "BitoPro main"
# After a restart the recovery looks back ten minutes, so it re-reads every earlier fill from REST
# (under other ids than the stream's): the ledger, not luck, must keep them from being re-notified.
LOOK_BACK = replace(FAST, gap_margin_ms=600_000)

pytestmark = pytest.mark.skipif(shutil.which("dbus-monitor") is None, reason="needs dbus-monitor")


@pytest.fixture
async def sim():
    simulator = BitoProSimulator(seed=21)
    simulator.truth.set_balance("USDT", "1000000")
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def watcher():
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        pytest.fail("no session bus: run the tests with bash .ci/test", pytrace=False)
    # dunst runs with timeout 0 (nothing expires): start each test with an empty screen, so a click
    # lands on this test's notification.
    subprocess.run(["dunstctl", "close-all"], check=True, timeout=10)
    w = NotifyWatcher().start()
    yield w
    w.close()


class App:
    """One run of the app's notification side: ledger + notifier + runner, as the GUI wires them."""

    def __init__(self, sim, ledger_path, *, timing=FAST, settings=None, sender="desktop"):
        self.ledger = FillLedger(ledger_path)
        self.clicked = []
        self.service = []
        policy = AlertPolicy(lambda a: NAME, lambda a: settings or AlertSettings())
        self.notifier = FillNotifier(
            self.ledger,
            policy,
            DesktopSender() if sender == "desktop" else sender,
            on_activate=self.clicked.append,
            on_service=self.service.append,
        )
        self.notifier.add_account(ACCOUNT, match_across=SPEC.match_fills_across_sources)
        account = AccountConfig(ACCOUNT, "bitopro", "main", sim.ws_url, sim.rest_url, markets=("BTC/USDT",))
        self.states = []

        def sink(update):
            self.notifier.update(ACCOUNT, update)
            if hasattr(update, "state"):
                self.states.append(update.state)

        self.runner = AccountRunner(account, SPEC, Credentials(sim.credentials), sink, timing=timing)
        self.task = asyncio.create_task(self.runner.run())

    async def live(self, times=1):
        await wait_for(lambda: self.states.count(State.LIVE) >= times, what=f"live x{times}")

    async def stop(self):
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.notifier.drain()
        await self.notifier.aclose()
        self.ledger.close()


async def test_partial_fills_a_gap_and_a_restart_each_notified_once(sim, watcher, tmp_path):
    truth = sim.truth
    path = tmp_path / "fills.sqlite3"
    early = truth.place_order("BTC/USDT", Side.BUY, "60000", "0.01")
    old = truth.fill_order(early.order_id)  # before the app ever synced: history, never announced
    await asyncio.sleep(2.1)  # well clear of the clock slack that counts a fill as live

    app = App(sim, path, timing=LOOK_BACK)
    await app.live()
    order = truth.place_order("BTC/USDT", Side.BUY, "64210.5", "0.5")
    truth.fill_order(order.order_id, "0.2")
    await wait_for(lambda: len(watcher.snapshot()) >= 1, what="first notification")
    truth.fill_order(order.order_id)
    await wait_for(lambda: len(watcher.snapshot()) >= 2, what="second notification")

    # A gap: a fill happens while the app cannot connect; it is learnt from REST after reconnecting.
    sim.refuse_connections(True)
    await sim.drop_connections()
    away = truth.place_order("BTC/USDT", Side.SELL, "65000", "0.25")
    truth.fill_order(away.order_id)
    sim.refuse_connections(False)
    await app.live(2)
    await wait_for(lambda: len(watcher.snapshot()) >= 3, what="the late fill's notification")
    await app.stop()

    calls = watcher.snapshot()
    assert [c.summary for c in calls] == [
        f"Partially filled: BUY 0.2 of 0.5 BTC/USDT @ 64,210.5 on {NAME}",
        f"Filled: BUY 0.5 BTC/USDT @ 64,210.5 on {NAME}",
        f"Filled: SELL 0.25 BTC/USDT @ 65,000 on {NAME}",
    ]
    assert calls[2].body.startswith("Late (while disconnected). This fill: 0.25 at ")
    assert not any("Late" in c.body for c in calls[:2])
    assert all(c.app_name == "account-monitor" and "default" in c.actions for c in calls)

    # Restart: a new runner and notifier on the same ledger file. Its recovery re-reads all of the
    # above from REST (other ids); one new fill after the restart is the only new notification.
    app = App(sim, path, timing=LOOK_BACK)
    await app.live()
    await sim.drop_connections()
    await app.live(2)
    again = truth.place_order("BTC/USDT", Side.SELL, "66000", "0.1")
    truth.fill_order(again.order_id)
    await wait_for(lambda: len(watcher.snapshot()) >= 4, what="the fill after the restart")
    await asyncio.sleep(1.0)  # room for a duplicate to show up, if the ledger let one through
    ledger_rows = app.ledger.fills(accounts=[ACCOUNT])
    await app.stop()

    assert [c.summary for c in watcher.snapshot()[3:]] == [f"Filled: SELL 0.1 BTC/USDT @ 66,000 on {NAME}"]
    outcomes = {r.fill.amount: r.outcome for r in ledger_rows}
    assert len(ledger_rows) == len(truth.fills) == 5  # every fill recorded once, whatever its ids
    assert outcomes[old.amount] is Outcome.HISTORY
    assert sorted(o.value for o in outcomes.values()) == sorted(["history"] + ["notified"] * 4)
    assert [r.fill.late for r in ledger_rows if r.fill.amount == Decimal("0.25")] == [True]


async def test_a_burst_is_coalesced_into_one_summary(sim, watcher, tmp_path):
    app = App(sim, tmp_path / "fills.sqlite3")
    await app.live()
    order = sim.truth.place_order("BTC/USDT", Side.BUY, "64000", "0.7")
    for _ in range(7):
        sim.truth.fill_order(order.order_id, "0.1")
    await wait_for(lambda: len(watcher.snapshot()) >= 4, timeout=20, what="three alerts and a summary")
    await asyncio.sleep(2.5)  # a fifth notification would arrive within another window
    rows = app.ledger.fills()
    await app.stop()
    calls = watcher.snapshot()
    assert len(calls) == 4
    assert [c.summary for c in calls[:3]] == [
        f"Partially filled: BUY {n} of 0.7 BTC/USDT @ 64,000 on {NAME}" for n in ("0.1", "0.2", "0.3")
    ]
    assert calls[3].summary == f"4 fills on {NAME}"
    assert calls[3].body.splitlines() == [
        "Partially filled: BUY 0.4 of 0.7 BTC/USDT @ 64,000",
        "Partially filled: BUY 0.5 of 0.7 BTC/USDT @ 64,000",
        "Partially filled: BUY 0.6 of 0.7 BTC/USDT @ 64,000",
        "Filled: BUY 0.7 BTC/USDT @ 64,000",
    ]
    assert sorted(r.outcome.value for r in rows) == ["notified"] * 3 + ["summarised"] * 4


async def test_muted_account_records_without_notifying_and_sound_follows_the_setting(sim, watcher, tmp_path):
    app = App(
        sim, tmp_path / "fills.sqlite3", settings=AlertSettings(sound=False, min_notional=Decimal(1000))
    )
    await app.live()
    small = sim.truth.place_order("BTC/USDT", Side.BUY, "100", "0.5")  # 50 USDT: below the minimum
    sim.truth.fill_order(small.order_id)
    big = sim.truth.place_order("BTC/USDT", Side.BUY, "64000", "0.5")
    sim.truth.fill_order(big.order_id)
    await wait_for(lambda: len(watcher.snapshot()) >= 1, what="the big fill")
    await asyncio.sleep(0.5)
    rows = {r.fill.order_id: r.outcome for r in app.ledger.fills()}
    await app.stop()
    [call] = watcher.snapshot()
    assert call.summary == f"Filled: BUY 0.5 BTC/USDT @ 64,000 on {NAME}"
    assert "sound-name" not in call.hints
    assert rows == {small.order_id: Outcome.MUTED, big.order_id: Outcome.NOTIFIED}


async def test_clicking_the_notification_names_its_account(sim, watcher, tmp_path):
    app = App(sim, tmp_path / "fills.sqlite3")
    await app.live()
    order = sim.truth.place_order("BTC/USDT", Side.BUY, "64000", "0.5")
    sim.truth.fill_order(order.order_id)
    await wait_for(lambda: len(watcher.snapshot()) >= 1, what="the notification")
    await asyncio.sleep(0.2)  # dunst shows it
    clicked = await asyncio.to_thread(subprocess.run, ["dunstctl", "action", "0"], check=True, timeout=10)
    assert clicked.returncode == 0
    await wait_for(lambda: app.clicked == [ACCOUNT], what="the click to come back")
    await app.stop()


@pytest.fixture
def bus_without_notifications(tmp_path, monkeypatch):
    """A private session bus with nothing on it and no service files: no notification service."""
    config = tmp_path / "bus.conf"
    config.write_text(
        "<!DOCTYPE busconfig PUBLIC '-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN'"
        " 'http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd'>\n"
        f"<busconfig><type>session</type><listen>unix:dir={tmp_path}</listen><auth>EXTERNAL</auth>"
        "<policy context='default'><allow send_destination='*' eavesdrop='true'/>"
        "<allow eavesdrop='true'/><allow own='*'/></policy></busconfig>"
    )
    proc = subprocess.Popen(
        ["dbus-daemon", f"--config-file={config}", "--print-address", "--nofork"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", proc.stdout.readline().strip())
    yield
    proc.terminate()
    proc.wait(timeout=10)
    proc.stdout.close()


async def test_no_notification_service_is_said_once_and_fills_are_still_recorded(
    sim, tmp_path, caplog, bus_without_notifications
):
    caplog.set_level(logging.WARNING, logger="streams.notifier")
    app = App(sim, tmp_path / "fills.sqlite3")
    await app.live()
    order = sim.truth.place_order("BTC/USDT", Side.BUY, "64000", "0.5")
    for _ in range(5):
        sim.truth.fill_order(order.order_id, "0.1")
    await wait_for(lambda: app.ledger.count() == 5, what="fills recorded")
    await wait_for(
        lambda: all(r.outcome is Outcome.UNDELIVERED for r in app.ledger.fills()), timeout=15, what="outcomes"
    )
    assert app.runner.status.state is State.LIVE and app.runner.store.orders == sim.truth.open_orders
    await app.stop()
    assert app.service == [NO_SERVICE]
    warnings = [r for r in caplog.records if r.name == "streams.notifier"]
    assert len(warnings) == 1 and warnings[0].getMessage().startswith(NO_SERVICE)
    assert app.notifier.sent == []
