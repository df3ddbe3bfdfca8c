"""The Bitstamp account tab: balances and open orders from the simulator through the real engine, and
a balances box that says they are polled instead of pretending to be live."""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import replace
from functools import partial

import pytest

from gui.controller import AccountController
from gui.main_window import MainWindow
from streams.app import AccountEntry
from streams.config import AccountConfig
from streams.credentials import SERVICE
from streams.exchange import Credentials
from streams.exchanges import EXCHANGES
from streams.exchanges.bitstamp.session import make_session
from streams.exchanges.bitstamp.simulator import BitstampSimulator
from streams.exchanges.bitstamp.token_store import username
from streams.model import State
from tests.engine_helpers import FAST
from tests.gui_helpers import bal, balances, entry, save_screenshot

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("qt_settings")]

SPEC = EXCHANGES["bitstamp"]


def bitstamp_entry(account_id: str, **config: str) -> AccountEntry:
    account = AccountConfig(account_id, "bitstamp", account_id.title(), **config)
    return AccountEntry(account, SPEC, Credentials({f: "not-a-real-secret" for f in SPEC.secret_fields}))


def test_the_balances_box_says_they_are_polled(qtbot):
    window = MainWindow([AccountController(bitstamp_entry("stamp")), AccountController(entry("pro", "Pro"))])
    qtbot.addWidget(window)
    stamp, pro = window.account_tab("stamp"), window.account_tab("pro")
    assert SPEC.balances_polled_s == 30
    assert stamp.balance_box.title() == "Balances · polled every 30 s"
    assert "Bitstamp sends no balance updates" in stamp.balance_box.toolTip()
    stamp.controller.sink(balances(bal("BTC", "1"), bal("USD", "2")))
    pro.controller.sink(balances(bal("BTC", "1")))
    qtbot.waitUntil(lambda: not stamp.coalescer.pending and not pro.coalescer.pending, timeout=2000)
    assert stamp.balance_box.title() == "Balances (2) · polled every 30 s"
    assert pro.balance_box.title() == "Balances (1)" and pro.balance_box.toolTip() == ""  # streamed: no note


def test_bitstamp_tab_shows_the_simulators_balances_and_orders(qtbot, qloop):
    sim = BitstampSimulator(seed=4)
    started = qloop.create_task(sim.start())
    qtbot.waitUntil(started.done, timeout=10_000)
    account_id = f"gui-{uuid.uuid4().hex[:8]}"
    config = AccountConfig(account_id, "bitstamp", "Bitstamp sim", sim.ws_url, sim.rest_url)
    spec = replace(SPEC, make_session=partial(make_session, heartbeat_s=0.2))
    controller = AccountController(AccountEntry(config, spec, Credentials(sim.credentials)), timing=FAST)
    window = MainWindow([controller])
    qtbot.addWidget(window)
    window.show()
    tab = window.account_tab(account_id)
    try:
        controller.start()
        runner = controller.runner
        assert runner is not None

        def shows_the_truth() -> bool:
            held = {a: b for a, b in sim.truth.balances.items() if b.total}
            return (
                controller.last_status.state is State.LIVE
                and tab.balance_model.values() == held
                and set(tab.orders_model.values()) == set(sim.truth.open_orders)
                and tab.orders_model.values() == runner.store.orders
            )

        qtbot.waitUntil(shows_the_truth, timeout=15_000)
        order = sim.truth.place_order("ETH/USDT", "buy", "3000", "1")
        qtbot.waitUntil(lambda: order.order_id in tab.orders_model.values(), timeout=10_000)
        qtbot.waitUntil(shows_the_truth, timeout=10_000)  # the USDT it locked, by the poll after the event
        assert tab.header.state_label.text() == "Live"
        assert tab.balance_box.title() == f"Balances ({len(sim.truth.balances)}) · polled every 30 s"
        assert tab.orders_box.title() == f"Open orders ({len(sim.truth.open_orders)})"
        window.resize(1180, 760)
        window.tabs.setCurrentWidget(tab)
        save_screenshot(window, "bitstamp-tab")
    finally:
        controller.stop()
        qtbot.waitUntil(lambda: not controller.running, timeout=10_000)
        stopped = qloop.create_task(sim.stop())
        qtbot.waitUntil(stopped.done, timeout=10_000)
        subprocess.run(
            ["secret-tool", "clear", "service", SERVICE, "username", username(account_id)], check=False
        )
