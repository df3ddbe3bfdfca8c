"""A Bitzoom account in the real window, on the real engine and simulator: its balances and open
orders in the tab, the raw data view, the token's expiry, and pasting a new token after a refusal
(stored in the real keyring)."""

from __future__ import annotations

import base64
import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPlainTextEdit

from gui.controller import AccountController
from gui.main_window import MainWindow
from gui.raw_view import pretty
from streams.app import AccountEntry
from streams.config import AccountConfig
from streams.credentials import delete_credentials, load_credentials
from streams.exchange import Credentials
from streams.exchanges.bitzoom import SPEC
from streams.exchanges.bitzoom.parser import BALANCE, OPEN_ORDERS, TOKEN_EXPIRED
from streams.exchanges.bitzoom.simulator import BitzoomSimulator
from streams.model import State, now_ms
from tests.engine_helpers import FAST
from tests.gui_helpers import entry, save_screenshot

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("qt_settings")]


def run_on(qtbot, loop, coroutine):
    task = loop.create_task(coroutine)
    qtbot.waitUntil(task.done, timeout=10_000)
    return task.result()


@pytest.fixture
def sim(qtbot, qloop):
    simulator = BitzoomSimulator(seed=21)
    run_on(qtbot, qloop, simulator.start())
    yield simulator
    run_on(qtbot, qloop, simulator.stop())


@pytest.fixture
def window(qtbot, qloop, sim):
    """A window with a Bitzoom account (token given per test) and a BitoPro one that never starts."""
    made: list[MainWindow] = []

    def make(token: str, account_id: str = "bz") -> MainWindow:
        config = AccountConfig(account_id, "bitzoom", "Bitzoom futures", sim.ws_url, sim.rest_url)
        bitzoom = AccountController(AccountEntry(config, SPEC, Credentials({"jwt": token})), timing=FAST)
        w = MainWindow([bitzoom, AccountController(entry("main", "BitoPro main"))])
        qtbot.addWidget(w)
        w.resize(1180, 760)
        w.show()
        w.tabs.setCurrentWidget(w.account_tab(account_id))  # the user looks at it
        made.append(w)
        bitzoom.start()
        return w

    yield make
    for w in made:
        for controller in w.controllers:
            controller.stop()
        qtbot.waitUntil(lambda w=w: not any(c.running for c in w.controllers), timeout=10_000)


def test_the_tab_shows_bitzoom_balances_and_open_orders(qtbot, window, sim):
    w = window(sim.credentials["jwt"])
    tab = w.account_tab("bz")
    runner = tab.controller.runner

    def shows_the_truth() -> bool:
        return (
            tab.controller.last_status.state is State.LIVE
            and tab.balance_model.values() == sim.truth.balances
            and tab.orders_model.values() == sim.truth.open_orders
        )

    qtbot.waitUntil(shows_the_truth, timeout=15_000)
    assert runner.store.orders and all(int(i) > 2**53 for i in tab.orders_model.values())
    assert (
        tab.header.state_label.text() == "Live" and w.tabs.tabText(w.tabs.indexOf(tab)) == "Bitzoom futures"
    )
    order = next(iter(sim.truth.open_orders))
    sim.truth.fill_order(order)
    qtbot.waitUntil(lambda: tab.fills_model.rowCount() == 1, timeout=10_000)
    assert tab.fills_model.fills()[0].trade_id == sim.truth.fills[-1].trade_id
    qtbot.waitUntil(shows_the_truth, timeout=10_000)
    w.tabs.setCurrentWidget(tab)
    save_screenshot(w, "bitzoom-tab")


def test_raw_data_view_shows_the_last_payloads_pretty_and_live(qtbot, window, sim):
    w = window(sim.credentials["jwt"])
    tab, bitopro = w.account_tab("bz"), w.account_tab("main")
    extras = tab.extras
    qtbot.waitUntil(lambda: tab.controller.last_status.state is State.LIVE, timeout=15_000)
    sim.truth.set_balance("ETH", "13")
    qtbot.waitUntil(extras.raw_button.isVisible, timeout=10_000)
    assert bitopro.extras.isHidden() and bitopro.extras.token_panel is None  # other exchanges: no change
    assert not bitopro.extras.raw_button.isVisibleTo(bitopro)
    qtbot.mouseClick(extras.raw_button, Qt.MouseButton.LeftButton)
    raw = extras.raw_window
    assert raw is not None and raw.isVisible()
    editor = raw.findChild(QPlainTextEdit, BALANCE)
    shown = json.loads(editor.toPlainText())
    assert shown["channel"] == BALANCE and "unrealizedProfit" in shown["data"][0]  # an unmapped field
    assert shown["data"][0] == {**shown["data"][0], "coin": "ETH", "walletBalance": "13"}
    assert "\n  " in editor.toPlainText()  # pretty-printed

    sim.truth.set_balance("ETH", "14.5")  # live: the open window follows
    qtbot.waitUntil(lambda: '"walletBalance": "14.5"' in editor.toPlainText(), timeout=10_000)
    order = next(iter(sim.truth.open_orders))
    sim.truth.cancel_order(order)

    def cancel_shown() -> bool:
        orders = raw.findChild(QPlainTextEdit, OPEN_ORDERS)
        data = json.loads(orders.toPlainText())["data"] if orders is not None else None
        return isinstance(data, dict) and str(data["id"]) == order and data["status"] == "CANCELED"

    qtbot.waitUntil(cancel_shown, timeout=10_000)
    assert raw.tabs.count() >= 2
    save_screenshot(raw, "bitzoom-raw-data")


def test_pretty_keeps_numbers_exactly_as_sent():
    text = '{"a":[1.10,9223372036854776000,1e-8,{}],"b":"é","c":null,"d":true,"e":[]}'
    shown = pretty(text)
    assert '"a": [\n    1.10,\n    9223372036854776000,\n    1e-8,\n    {}\n  ]' in shown
    assert json.loads(shown) == json.loads(text) and '"b": "é"' in shown
    assert pretty("not json") == "not json"


def test_token_expiry_is_shown_for_jwt_accounts(qtbot, window, sim):
    w = window(sim.issue_token(lifetime_s=42 * 60 + 30))
    tab = w.account_tab("bz")
    qtbot.waitUntil(lambda: tab.extras.expiry_label.text() == "token expires in 42 min", timeout=5_000)
    assert tab.extras.expiry_label.isVisible() and not tab.extras.token_panel.isVisible()
    assert w.account_tab("main").extras.expiry_label.isHidden()


def test_a_wrong_token_then_a_pasted_good_one(qtbot, window, sim):
    account_id = "bz-paste-test"
    w = window(BitzoomSimulator(seed=99).credentials["jwt"], account_id)  # signed by another server
    tab = w.account_tab(account_id)
    panel = tab.extras.token_panel
    try:
        qtbot.waitUntil(lambda: tab.header.state_label.text() == "Auth error", timeout=10_000)
        assert tab.header.detail_label.text().startswith(TOKEN_EXPIRED)
        qtbot.waitUntil(panel.isVisible, timeout=2_000)
        logons = sim.logons

        qtbot.keyClicks(panel.input, "not-a-token")
        qtbot.mouseClick(panel.button, Qt.MouseButton.LeftButton)
        assert panel.message.isVisible() and "three parts" in panel.message.text()
        assert panel.restarting is None and tab.controller.last_status.state is State.AUTH_ERROR
        save_screenshot(w, "bitzoom-token-panel")

        good = sim.issue_token()
        panel.input.clear()
        qtbot.keyClicks(panel.input, f"Bearer {good} ")
        assert panel.input.echoMode() == panel.input.EchoMode.Password  # never shown on screen
        qtbot.mouseClick(panel.button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: tab.header.state_label.text() == "Live", timeout=10_000)
        assert sim.logons == logons + 1 and not panel.isVisible() and panel.input.text() == ""
        assert load_credentials(account_id, ("jwt",))["jwt"] == good  # in the keyring
        qtbot.waitUntil(lambda: tab.balance_model.values() == sim.truth.balances, timeout=10_000)
    finally:
        delete_credentials(account_id)


def test_a_token_expiring_mid_session_keeps_the_data_and_recovers_missed_fills(qtbot, qloop, window, sim):
    w = window(sim.credentials["jwt"], "bz-expiry-test")
    tab = w.account_tab("bz-expiry-test")
    runner = tab.controller.runner
    try:
        qtbot.waitUntil(lambda: tab.balance_model.values() == sim.truth.balances, timeout=15_000)
        rows = tab.balance_model.rowCount()
        sim.expire_tokens()
        qtbot.waitUntil(lambda: tab.extras.token_panel.isVisible(), timeout=10_000)
        assert tab.header.detail_label.text().startswith(TOKEN_EXPIRED)
        assert tab.balance_model.rowCount() == rows and not tab.header.stale_badge.isHidden()
        missed = sim.truth.fill_order(next(iter(sim.truth.open_orders)))  # while refused
        tab.extras.token_panel.input.setText(sim.issue_token())
        tab.extras.token_panel.input.returnPressed.emit()
        qtbot.waitUntil(lambda: tab.header.state_label.text() == "Live", timeout=10_000)
        assert tab.controller.runner is runner  # the same store: the tables were diffed, not refilled
        qtbot.waitUntil(
            lambda: [f.trade_id for f in tab.fills_model.fills()] == [missed.trade_id], timeout=10_000
        )
        assert tab.fills_model.fills()[0].late
        qtbot.waitUntil(lambda: tab.orders_model.values() == sim.truth.open_orders, timeout=10_000)
    finally:
        delete_credentials("bz-expiry-test")


def test_the_expiry_label_turns_to_the_warning_colour(qtbot, qloop):
    def token(exp_s: int) -> str:
        part = base64.urlsafe_b64encode(json.dumps({"exp": exp_s}).encode()).decode().rstrip("=")
        return f"eyJhbGciOiJIUzI1NiJ9.{part}.c2ln"

    config = AccountConfig("bz", "bitzoom", "Bitzoom")
    late = AccountController(AccountEntry(config, SPEC, Credentials({"jwt": token(now_ms() // 1000 - 120)})))
    w = MainWindow([late])
    qtbot.addWidget(w)
    label = w.account_tab("bz").extras.expiry_label
    assert label.text() == "token expired 2 min ago" and "color: #" in label.styleSheet()
