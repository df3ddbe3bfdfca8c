"""The real window on the real engine against the CoinW simulator: the account tab shows CoinW's
balances and open orders, including an order only REST could complete (a market order pushed without
a side) and a partial fill that no order frame announced."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gui.controller import AccountController
from gui.main_window import MainWindow
from streams.app import AccountEntry
from streams.config import AccountConfig
from streams.exchange import Credentials
from streams.exchanges.coinw import SPEC
from streams.exchanges.coinw.simulator import CoinWSimulator
from streams.model import Side, State
from tests.engine_helpers import FAST
from tests.gui_helpers import save_screenshot

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("qt_settings")]


def test_coinw_tab_shows_balances_and_open_orders(qtbot, qloop):
    sim = CoinWSimulator(seed=9)
    started = qloop.create_task(sim.start())
    qtbot.waitUntil(started.done, timeout=10_000)
    config = AccountConfig("coinw-1", "coinw", "CoinW spot", sim.ws_url, sim.rest_url)
    controller = AccountController(AccountEntry(config, SPEC, Credentials(sim.credentials)), timing=FAST)
    w = MainWindow([controller])
    qtbot.addWidget(w)
    w.show()
    tab = w.account_tab("coinw-1")
    runner = controller.runner
    assert runner is not None
    try:
        controller.start()

        def shows(truth_orders: int) -> bool:
            return (
                tab.header.state_label.text() == "Live"
                and tab.balance_model.values() == sim.truth.balances
                and tab.orders_model.values() == runner.store.orders
                and len(runner.store.orders) == truth_orders
            )

        qtbot.waitUntil(lambda: shows(len(sim.truth.open_orders)), timeout=15_000)
        assert tab.balance_model.rowCount() == len(sim.truth.balances) and tab.orders_model.rowCount() == 2
        assert w.tabs.tabText(w.tabs.indexOf(tab)) == "CoinW spot"

        market = sim.truth.place_order("ETH/USDT", Side.SELL, Decimal("3300"), Decimal("1"), kind="market")
        sim.truth.fill_order(market.order_id, Decimal("0.25"))  # no order frame for this
        qtbot.waitUntil(lambda: shows(3), timeout=15_000)
        shown = tab.orders_model.values()[market.order_id]
        assert (shown.side, shown.filled) == (Side.SELL, Decimal("0.25"))
        qtbot.waitUntil(lambda: tab.fills_model.rowCount() == 1, timeout=15_000)
        w.resize(1180, 760)
        w.tabs.setCurrentWidget(tab)
        save_screenshot(w, "demo-coinw")
    finally:
        controller.stop()
        qtbot.waitUntil(lambda: not controller.running, timeout=10_000)
        stopped = qloop.create_task(sim.stop())
        qtbot.waitUntil(stopped.done, timeout=10_000)
    assert controller.last_status.state is State.OFFLINE
