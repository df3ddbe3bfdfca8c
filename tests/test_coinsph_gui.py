"""The Coins.ph account tab on the real engine and simulator: balances and open orders as the engine
holds them, through a fill, a deposit and a switch to a fresh connection (the listenKey's rotation)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gui.controller import AccountController
from gui.main_window import MainWindow
from streams.app import AccountEntry
from streams.config import AccountConfig
from streams.exchange import Credentials
from streams.exchanges.coinsph import spec_with
from streams.exchanges.coinsph.session import CoinsphTiming
from streams.exchanges.coinsph.simulator import CoinsphSimulator
from streams.model import Side, State
from tests.engine_helpers import FAST
from tests.gui_helpers import save_screenshot

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("qt_settings")]


def test_coinsph_tab_shows_balances_and_open_orders(qtbot, qloop):
    sim = CoinsphSimulator(seed=8, time_scale=1_000)  # the key lives 3.6 s
    started = qloop.create_task(sim.start())
    qtbot.waitUntil(started.done, timeout=10_000)
    config = AccountConfig("coins", "coinsph", "Coins.ph main", sim.ws_url, sim.rest_url)
    coins = CoinsphTiming(ping_s=0.2, keepalive_s=1.0, max_age_s=1.5)  # rotates every 1.5 s
    entry = AccountEntry(config, spec_with(coins), Credentials(sim.credentials))
    controller = AccountController(entry, timing=FAST)
    w = MainWindow([controller])
    qtbot.addWidget(w)
    w.show()
    tab = w.account_tab("coins")
    runner = controller.runner
    assert runner is not None

    def shows(truth_orders) -> bool:
        return (
            controller.last_status.state is State.LIVE
            and tab.balance_model.values() == sim.truth.balances
            and set(tab.orders_model.values()) == set(truth_orders)
            and tab.orders_model.values() == runner.store.orders
        )

    try:
        controller.start()
        qtbot.waitUntil(lambda: shows(sim.truth.open_orders), timeout=15_000)
        assert tab.header.state_label.text() == "Live"
        assert w.tabs.tabText(w.tabs.indexOf(tab)) == "Coins.ph main"
        order = sim.truth.place_order("ETH/USDT", Side.SELL, "3400", "1.5")
        sim.truth.fill_order(order.order_id, "0.5")
        sim.truth.set_balance("USDT", Decimal("40000"))
        qtbot.waitUntil(lambda: shows(sim.truth.open_orders), timeout=10_000)
        assert tab.orders_model.values()[order.order_id].filled == Decimal("0.5")
        qtbot.waitUntil(
            lambda: any(f.order_id == order.order_id for f in tab.fills_model.fills()), timeout=5_000
        )
        connections = sim.connection_attempts
        qtbot.waitUntil(lambda: sim.connection_attempts > connections, timeout=15_000)  # a rotation
        qtbot.waitUntil(lambda: shows(sim.truth.open_orders), timeout=10_000)
        assert tab.header.stale_badge.isHidden()
        w.resize(1180, 760)
        w.tabs.setCurrentWidget(tab)
        save_screenshot(w, "coinsph-tab")
    finally:
        controller.stop()
        qtbot.waitUntil(lambda: not controller.running, timeout=10_000)
        stopped = qloop.create_task(sim.stop())
        qtbot.waitUntil(stopped.done, timeout=10_000)
    assert sim.user_stream_calls["DELETE"] == 1  # the key is released when the account stops
