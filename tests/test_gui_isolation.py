"""The window stays responsive while one account fails over and over: a healthy BitoPro account and
one whose parser crashes on every frame run in the real window on the qasync loop; a QTimer keeps
ticking throughout, the healthy tab follows its truth, the failing one shows it is reconnecting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import QElapsedTimer, QTimer

from gui.controller import AccountController
from gui.main_window import MainWindow
from streams.app import AccountEntry
from streams.config import AccountConfig
from streams.exchange import Credentials
from streams.exchanges import EXCHANGES
from streams.exchanges.bitopro.simulator import BitoProSimulator
from streams.model import Side, State
from tests.engine_helpers import FAST
from tests.isolation import crashing_spec
from tests.reliability import SUMMARY

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("qt_settings")]

TICK_MS = 20
MAX_GAP_MS = 2_000  # a blocked loop would never tick again; a busy 2-core machine stays well below this


def test_the_window_stays_responsive_while_an_account_fails_repeatedly(qtbot, qloop):
    healthy_sim, failing_sim = BitoProSimulator(seed=71), BitoProSimulator(seed=72)
    for sim in (healthy_sim, failing_sim):
        started = qloop.create_task(sim.start())
        qtbot.waitUntil(started.done, timeout=10_000)
    spec = EXCHANGES["bitopro"]
    crashing, sessions = crashing_spec(spec, every=1)
    good = AccountConfig("good", "bitopro", "Good", healthy_sim.ws_url, healthy_sim.rest_url)
    bad = AccountConfig("bad", "bitopro", "Crashing", failing_sim.ws_url, failing_sim.rest_url)
    controllers = [
        AccountController(AccountEntry(good, spec, Credentials(healthy_sim.credentials)), timing=FAST),
        AccountController(AccountEntry(bad, crashing, Credentials(failing_sim.credentials)), timing=FAST),
    ]
    w = MainWindow(controllers)
    qtbot.addWidget(w)
    w.show()
    ticks, gaps, clock = [], [0], QElapsedTimer()
    timer = QTimer()
    timer.setInterval(TICK_MS)

    def tick():
        if ticks:
            gaps.append(clock.restart())
        else:
            clock.start()
        ticks.append(1)

    timer.timeout.connect(tick)
    timer.start()
    good_tab, bad_tab = w.account_tab("good"), w.account_tab("bad")
    try:
        for controller in controllers:
            controller.start()
        qtbot.waitUntil(lambda: good_tab.header.state_label.text() == "Live", timeout=15_000)
        qtbot.waitUntil(lambda: sum(s.crashes for s in sessions) >= 5, timeout=15_000)
        order = healthy_sim.truth.place_order("BTC/USDT", Side.SELL, Decimal("71000"), Decimal("0.5"))
        healthy_sim.truth.fill_order(order.order_id, Decimal("0.2"))
        qtbot.waitUntil(
            lambda: (
                good_tab.balance_model.values() == healthy_sim.truth.balances
                and order.order_id in good_tab.orders_model.values()
                and good_tab.fills_model.rowCount() == 1
            ),
            timeout=15_000,
        )
        qtbot.waitUntil(lambda: sum(s.crashes for s in sessions) >= 10, timeout=15_000)
        assert controllers[1].running and controllers[0].last_status.state is State.LIVE
        assert controllers[1].last_status.state in {State.SYNCING, State.RECONNECTING, State.CONNECTING}
        assert bad_tab.header.state_label.text() != "Live"
        assert len(ticks) >= 20 and max(gaps) < MAX_GAP_MS, (len(ticks), max(gaps))
        SUMMARY.faults["parser_crash"] += 1
    finally:
        timer.stop()
        for controller in controllers:
            controller.stop()
        qtbot.waitUntil(lambda: not any(c.running for c in controllers), timeout=10_000)
        for sim in (healthy_sim, failing_sim):
            stopped = qloop.create_task(sim.stop())
            qtbot.waitUntil(stopped.done, timeout=10_000)
