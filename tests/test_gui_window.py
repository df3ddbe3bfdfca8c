"""The real window: account tabs fed through the controller's sink (the engine's path into the GUI),
the overview's exact totals, entry errors, staleness, persisted geometry, and the demo end to end."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
from decimal import Decimal

import pytest
from PySide6.QtCore import QSettings, QSize, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QLabel

from gui.account_tab import AccountTab
from gui.app import run_gui
from gui.controller import AccountController
from gui.main_window import MainWindow
from gui.style import STALE_TEXT
from streams.app import demo_accounts
from streams.credentials import TOKEN_SERVICE, secure_backend
from streams.exchanges.bitstamp.token_store import username
from streams.ledger import default_ledger_path
from streams.model import OrderStatus, Side, State, Status, now_ms
from streams.store import Changes
from tests.gui_helpers import T0, bal, balances, entry, fill, order, save_screenshot

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("qt_settings")]


def status(state: State, detail: str = "") -> Status:
    return Status(state, detail, now_ms())


@pytest.fixture
def window(qtbot):
    """Two runnable accounts and one whose entry has an error; no runner is started."""
    controllers = [
        AccountController(entry("main", "Main")),
        AccountController(entry("savings", "Savings")),
        AccountController(entry("broken", "Broken", error="no keyring entry for account 'broken'")),
    ]
    w = MainWindow(controllers)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def settle(qtbot, *tabs: AccountTab) -> None:
    """Wait for the coalescers to flush (at most ~100 ms)."""
    qtbot.waitUntil(lambda: not any(tab.coalescer.pending for tab in tabs), timeout=2000)


def test_window_has_overview_first_then_one_tab_per_account(window):
    assert window.windowTitle() == "Account Monitor"
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert titles == ["Overview", "Main", "Savings", "Broken"]
    assert not window.tabs.tabIcon(1).isNull()


def test_sink_updates_reach_the_tab_models(qtbot, window):
    main = window.account_tab("main")
    sink = main.controller.sink
    sink(status(State.LIVE, "streaming"))
    sink(balances(bal("BTC", "1.5", "1", "0.5"), bal("TWD", "100000")))
    sink(Changes(orders={"1": order("1", "2000000", "0.5"), "2": order("2", side=Side.SELL)}))
    sink(Changes(fills=[fill("t1", T0), fill("t2", T0 + 1000, late=True)]))
    settle(qtbot, main)
    assert main.balance_model.values()["BTC"] == bal("BTC", "1.5", "1", "0.5")
    assert set(main.orders_model.values()) == {"1", "2"}
    assert [f.trade_id for f in main.fills_model.fills()] == ["t2", "t1"]
    assert main.orders_box.title() == "Open orders (2)"

    sink(Changes(orders={"2": order("2", status=OrderStatus.CANCELLED)}, balances={"TWD": None}))
    settle(qtbot, main)
    assert set(main.orders_model.values()) == {"1"}
    assert set(main.balance_model.values()) == {"BTC"}
    assert window.account_tab("savings").balance_model.rowCount() == 0


def test_single_changes_never_reset_the_shown_table(qtbot, window):
    main = window.account_tab("main")
    main.controller.sink(balances(bal("BTC", "1"), bal("ETH", "2")))
    settle(qtbot, main)
    main.balance_view.selectRow(0)
    resets = []
    main.balance_model.modelReset.connect(lambda: resets.append(1))
    main.balance_view.model().modelReset.connect(lambda: resets.append(1))
    for value in ("1.1", "1.2", "1.3"):
        main.controller.sink(balances(bal("BTC", value)))
        settle(qtbot, main)
    main.controller.sink(balances(bal("DOGE", "5")))
    settle(qtbot, main)
    assert resets == []
    assert main.balance_view.selectionModel().hasSelection()


def test_a_burst_through_the_sink_is_coalesced_into_few_flushes(qtbot, window):
    main = window.account_tab("main")
    last = {}
    for i in range(10_000):
        asset = f"A{i % 40}"
        last[asset] = bal(asset, f"{i}.{i:04}")
        main.controller.sink(balances(last[asset]))
        if i % 10 == 0:
            main.controller.sink(Changes(orders={str(i % 7): order(str(i % 7), str(i))}))
    settle(qtbot, main)
    assert main.coalescer.flushes <= 2
    assert main.balance_model.values() == last
    assert window.overview.totals_model.values() == last  # one account: the totals are its balances
    assert {k: o.price for k, o in main.orders_model.values().items()} == {
        str(k): Decimal(max(i for i in range(0, 10_000, 10) if i % 7 == k)) for k in range(7)
    }


def test_overview_models_pass_modeltester(qtbot, qtmodeltester, window):
    qtmodeltester.check(window.overview.accounts_model)
    qtmodeltester.check(window.overview.totals_model)
    main = window.account_tab("main")
    main.controller.sink(status(State.LIVE, "streaming"))
    main.controller.sink(balances(bal("BTC", "1"), bal("ETH", "2")))
    settle(qtbot, main)
    main.controller.sink(Changes(balances={"BTC": None}))
    settle(qtbot, main)
    window.tick()
    assert list(window.overview.totals_model.values()) == ["ETH"]


def test_status_header_and_stale_marking_keep_the_last_data(qtbot, window):
    main = window.account_tab("main")
    main.controller.sink(status(State.LIVE, "streaming"))
    main.controller.sink(balances(bal("BTC", "2")))
    settle(qtbot, main)
    assert main.header.state_label.text() == "Live"
    assert not main.balance_model.stale and main.header.stale_badge.isHidden()

    main.controller.sink(status(State.STALE, "no data on balances for 25 s; reconnecting"))
    assert main.header.state_label.text() == "Stale"
    assert "no data on balances" in main.header.detail_label.text()
    assert main.balance_model.stale and main.orders_model.stale
    assert not main.header.stale_badge.isHidden()
    assert main.balance_model.values() == {"BTC": bal("BTC", "2")}  # kept, never cleared

    main.controller.sink(status(State.AUTH_ERROR, "Invalid API key (retrying in 60 s)"))
    assert main.header.state_label.text() == "Auth error"
    assert main.header.detail_label.text() == "Invalid API key (retrying in 60 s)"
    assert "Auth error" in window.tabs.tabToolTip(1)

    main.controller.sink(status(State.LIVE, "streaming"))
    assert not main.balance_model.stale and main.header.stale_badge.isHidden()


def test_updated_ago_keeps_ticking(qtbot, window):
    main = window.account_tab("main")
    assert main.header.updated_label.text() == "no data yet"
    main.controller.sink(balances(bal("BTC", "1")))
    main.tick(now_ms() + 5_000)
    assert main.header.updated_label.text() == "updated 5 s ago"
    main.tick(now_ms() + 125_000)
    assert main.header.updated_label.text() == "updated 2 min ago"
    # and the window's own one-second clock moves it on without any new data
    window.tick()
    # (any age from 1 s on: a tick late by a few ms under load can step from "0 s" straight to "2 s")
    qtbot.waitUntil(
        lambda: re.fullmatch(r"updated [1-9] s ago", main.header.updated_label.text()) is not None,
        timeout=3000,
    )


def test_entry_error_is_shown_in_place_of_the_tables_and_others_keep_running(qtbot, window):
    broken = window.account_tab("broken")
    window.tabs.setCurrentWidget(broken)
    text = broken.findChild(QLabel, "errorText")
    assert text is not None and text.isVisible()
    assert text.text() == "no keyring entry for account 'broken'"
    assert not hasattr(broken, "balance_view")
    assert broken.controller.runner is None
    assert broken.header.state_label.text() == "Offline"
    overview_row = [window.overview.accounts_model.index(2, c).data() for c in range(5)]
    assert overview_row[:4] == ["Broken", "BitoPro", "Offline", "no keyring entry for account 'broken'"]

    main = window.account_tab("main")
    main.controller.sink(balances(bal("BTC", "1")))
    settle(qtbot, main)
    assert main.balance_model.rowCount() == 1


def test_overview_totals_sum_exactly_across_accounts(qtbot, window):
    main, savings = window.account_tab("main"), window.account_tab("savings")
    main.controller.sink(status(State.LIVE, "streaming"))
    savings.controller.sink(status(State.LIVE, "streaming"))
    main.controller.sink(
        balances(bal("BTC", "0.1", "0.1"), bal("TWD", "12345678901234567890.123456789", "0", "0"))
    )
    savings.controller.sink(
        balances(bal("BTC", "0.2", "0.15", "0.05"), bal("TWD", "0.000000001"), bal("ETH", "3"))
    )
    settle(qtbot, main, savings)
    totals = window.overview.totals_model.values()
    assert totals["BTC"] == bal("BTC", "0.3", "0.25", "0.05")
    assert totals["TWD"].total == Decimal("12345678901234567890.123456790")
    assert totals["ETH"].total == Decimal("3")
    shown = {
        window.overview.totals_model.index(r, 0).data(): window.overview.totals_model.index(r, 1).data()
        for r in range(window.overview.totals_model.rowCount())
    }
    assert shown == {"BTC": "0.3", "TWD": "12345678901234567890.123456790", "ETH": "3"}
    assert window.overview.totals_note.isHidden()

    savings.controller.sink(balances(bal("ETH", "1")))  # a later diff moves the total
    savings.controller.sink(Changes(balances={"BTC": None}))
    savings.controller.sink(status(State.RECONNECTING, "connection closed (code 1006); retrying in 0.5 s"))
    settle(qtbot, savings)
    totals = window.overview.totals_model.values()
    assert totals["ETH"].total == Decimal("1") and totals["BTC"] == bal("BTC", "0.1", "0.1")
    model = window.overview.totals_model
    greyed = {model.index(r, 0).data() for r in range(model.rowCount()) if model.is_stale(r)}
    assert greyed == {"ETH", "TWD"}  # the assets Savings (not live) contributes to; BTC is Main's alone
    colours = {
        model.index(r, 0).data(): model.index(r, 1).data(Qt.ItemDataRole.ForegroundRole) for r in range(3)
    }
    assert colours["BTC"] is None and colours["ETH"] == QColor(STALE_TEXT)
    assert "Savings" in window.overview.totals_note.text() and not window.overview.totals_note.isHidden()


def test_overview_lists_accounts_with_state_and_double_click_opens_the_tab(qtbot, window):
    model = window.overview.accounts_model
    window.account_tab("main").controller.sink(status(State.SYNCING, "loading the REST snapshot"))
    assert [model.index(0, c).data() for c in range(4)] == [
        "Main",
        "BitoPro",
        "Syncing",
        "loading the REST snapshot",
    ]
    assert model.index(0, 4).data() == "no data yet"
    view = window.overview.accounts_view
    where = view.visualRect(model.index(1, 0)).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)  # the view wants the press
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert window.tabs.currentWidget() is window.account_tab("savings")


def test_geometry_and_current_tab_persist(qtbot, qt_settings):
    def make() -> MainWindow:
        w = MainWindow([AccountController(entry("a", "A")), AccountController(entry("b", "B"))])
        qtbot.addWidget(w)
        return w

    first = make()
    assert first.settings.fileName().startswith(str(qt_settings))
    first.show()
    qtbot.waitExposed(first)
    first.resize(640, 470)
    first.tabs.setCurrentWidget(first.account_tab("b"))
    first.close()
    assert QSettings("account-monitor", "account-monitor").value("window/tab") == "b"

    second = make()
    second.show()
    qtbot.waitExposed(second)
    assert second.tabs.currentWidget() is second.account_tab("b")
    assert second.size() == QSize(640, 470)


def test_screenshot_with_realistic_data(qtbot, window):
    """Feeds a realistic day through the sinks; saves PNGs when $SCREENSHOT_DIR is set."""
    window.resize(1180, 760)
    main, savings = window.account_tab("main"), window.account_tab("savings")
    main.controller.sink(status(State.LIVE, "streaming"))
    main.controller.sink(
        balances(
            bal("BTC", "1.25003", "0.95003", "0.3"),
            bal("ETH", "12.5", "12.5", "0"),
            bal("USDT", "2500.75", "1500.75", "1000"),
            bal("TWD", "1523400.5", "1023400.5", "500000"),
            bal("SHIB", "0.00000001", "0.00000001", "0"),
            bal("BITO", "10", "10", "0"),
        )
    )
    main.controller.sink(
        Changes(
            orders={
                o.order_id: o
                for o in (
                    order("8712", "2025000", "0.2", market="BTC/TWD", created_ms=T0 - 3_600_000),
                    order("8713", "2100000", "0.1", "0.04", market="BTC/TWD", side=Side.SELL,
                          status=OrderStatus.PARTIALLY_FILLED, created_ms=T0 - 1_800_000),
                    order("8720", "95000", "5", market="ETH/TWD", created_ms=T0 - 600_000),
                    order("8731", "31.2", "1000", market="USDT/TWD", side=Side.SELL, created_ms=T0 - 60_000),
                    order("8733", "0.00000923", "1000000", market="SHIB/USDT", kind="stop_limit",
                          created_ms=T0 - 5_000),
                )
            }
        )
    )  # fmt: skip
    main.controller.sink(
        Changes(
            fills=[
                fill("f1", T0 - 900_000, market="BTC/TWD", price="2010000", amount="0.05", fee="0.0001"),
                fill("f2", T0 - 400_000, market="ETH/TWD", side=Side.SELL, price="95500", amount="1.5",
                     fee="143.25", fee_asset="TWD", late=True),
                fill("f3", T0 - 120_000, market="BTC/TWD", side=Side.SELL, price="2100000", amount="0.04",
                     fee="84", fee_asset="TWD"),
                fill("f4", T0 - 20_000, market="USDT/TWD", price="31.25", amount="200", fee="0.2",
                     fee_asset="USDT"),
            ]
        )
    )  # fmt: skip
    savings.controller.sink(status(State.LIVE, "streaming"))
    savings.controller.sink(balances(bal("BTC", "0.5"), bal("TWD", "250000.25"), bal("USDT", "10000")))
    savings.controller.sink(status(State.STALE, "no data on account-balance for 25 s; reconnecting"))
    settle(qtbot, main, savings)
    window.tick()

    window.tabs.setCurrentWidget(main)
    shot = main.grab()
    assert not shot.isNull() and shot.width() > 600
    save_screenshot(window, "account-tab")
    window.tabs.setCurrentWidget(savings)
    save_screenshot(window, "stale-tab")
    window.tabs.setCurrentIndex(0)
    save_screenshot(window, "overview")
    window.tabs.setCurrentWidget(window.account_tab("broken"))
    save_screenshot(window, "error-tab")


# ---------------------------------------------------------------------------- engine-driven, end to end


def test_demo_window_shows_simulator_balances(qtbot, qloop):
    """`--demo`: the real MainWindow on the real engine against the local BitoPro simulator."""
    box: dict = {}
    release = asyncio.Event()

    async def hold_demo() -> None:
        async with demo_accounts(activity_interval_s=0.3) as entries:
            box["entries"] = entries
            await release.wait()

    holder = qloop.create_task(hold_demo())
    qtbot.waitUntil(lambda: "entries" in box, timeout=10_000)
    controllers = [AccountController(e) for e in box["entries"]]
    w = MainWindow(controllers)
    qtbot.addWidget(w)
    w.show()
    try:
        for controller in controllers:
            controller.start()
        tab = w.account_tab("demo-bitopro")
        runner = tab.controller.runner
        assert runner is not None

        def shows_the_engine_state() -> bool:
            return (
                tab.controller.last_status.state is State.LIVE
                and bool(runner.store.balances)
                and tab.balance_model.values() == runner.store.balances
                and tab.orders_model.values() == runner.store.orders
            )

        qtbot.waitUntil(shows_the_engine_state, timeout=15_000)
        assert w.tabs.tabText(w.tabs.indexOf(tab)) == "BitoPro demo"
        assert tab.header.state_label.text() == "Live"
        qtbot.waitUntil(lambda: w.overview.totals_model.rowCount() > 0, timeout=5_000)
        w.resize(1180, 760)
        w.tabs.setCurrentWidget(tab)
        save_screenshot(w, "demo-bitopro")
    finally:
        for controller in controllers:
            controller.stop()
        qtbot.waitUntil(lambda: not any(c.running for c in controllers), timeout=10_000)
        release.set()
        qtbot.waitUntil(holder.done, timeout=10_000)
    assert holder.exception() is None
    assert tab.controller.last_status.state is State.OFFLINE


def test_run_gui_runs_the_demo_and_shuts_down_cleanly(qapp, qtbot, tmp_path, monkeypatch):
    """The CLI's entry point: opens the window, goes live, and on close stops the runners and leaves
    the entries' context (so the simulators stop) before returning 0. The demo keeps its fills in its
    own ledger and writes no token to the keyring."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    token_user = username("demo-bitstamp")
    subprocess.run(["secret-tool", "clear", "service", TOKEN_SERVICE, "username", token_user], check=False)
    seen: dict = {}

    @contextlib.asynccontextmanager
    async def factory():
        async with demo_accounts(activity_interval_s=0.5) as entries:
            seen["entered"] = True
            yield entries
        seen["exited"] = True

    def watch() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if windows:
            seen["window"] = windows[0]
            tab = windows[0].account_tab("demo-bitopro")
            bitstamp = windows[0].account_tab("demo-bitstamp").controller  # live: it used a token
            if (
                tab.controller.last_status.state is State.LIVE
                and tab.balance_model.rowCount()
                and bitstamp.last_status.state is State.LIVE
            ):
                seen["live"] = True
                seen["controllers"] = windows[0].controllers
                windows[0].close()
                return
        seen["polls"] = seen.get("polls", 0) + 1
        if seen["polls"] > 300:  # 15 s: give up and close, the assertions below will say why
            for w in windows:
                w.close()
            return
        QTimer.singleShot(50, watch)

    quit_on_close, style = qapp.quitOnLastWindowClosed(), qapp.style().name()
    QTimer.singleShot(50, watch)
    try:
        assert run_gui(factory) == 0
    finally:
        qapp.setQuitOnLastWindowClosed(quit_on_close)
        qapp.setStyle(style)
    assert seen.get("live"), "the BitoPro demo tab never went live"
    assert seen.get("exited")
    assert not any(c.running for c in seen["controllers"])
    assert default_ledger_path(demo=True).exists() and not default_ledger_path().exists()
    bitstamp = next(c for c in seen["controllers"] if c.account_id == "demo-bitstamp")
    assert bitstamp.runner.store.balances  # it went live (it used a websocket token) ...
    assert secure_backend().get_password(TOKEN_SERVICE, token_user) is None  # ... kept in memory


def test_run_gui_finishes_its_shutdown_when_qt_quits_first(qapp, qt_settings):
    """A session logout quits Qt's loop under us (aboutToQuit): the runners still stop cleanly."""
    seen: dict = {}

    @contextlib.asynccontextmanager
    async def factory():
        entries = [entry("broken", "Broken", error="bitzoom is not supported yet")]
        seen["entered"] = True
        yield entries
        seen["exited"] = True

    quit_on_close, style = qapp.quitOnLastWindowClosed(), qapp.style().name()
    QTimer.singleShot(200, QApplication.quit)
    try:
        assert run_gui(factory) == 0
    finally:
        qapp.setQuitOnLastWindowClosed(quit_on_close)
        qapp.setStyle(style)
    assert seen == {"entered": True, "exited": True}
    assert QSettings("account-monitor", "account-monitor").value("window/tab") == "overview"


def test_auth_error_and_a_dropped_connection_as_the_user_sees_them(qtbot, qloop):
    """Real simulator, real engine, real window: a wrong secret shows the exchange's own text in its
    tab while a good account beside it stays live; a dropped connection shows as reconnecting with the
    last data kept, then live again."""
    from streams.app import AccountEntry
    from streams.config import AccountConfig
    from streams.exchange import Credentials
    from streams.exchanges.bitopro import SPEC
    from streams.exchanges.bitopro.simulator import BitoProSimulator
    from tests.engine_helpers import FAST

    sim = BitoProSimulator(seed=4)
    started = qloop.create_task(sim.start())
    qtbot.waitUntil(started.done, timeout=10_000)

    def account(account_id: str, secret: str) -> AccountEntry:
        config = AccountConfig(account_id, "bitopro", account_id.title(), sim.ws_url, sim.rest_url)
        return AccountEntry(config, SPEC, Credentials({**sim.credentials, "api_secret": secret}))

    controllers = [
        AccountController(account("good", sim.credentials["api_secret"]), timing=FAST),
        AccountController(account("wrong", "not-the-secret"), timing=FAST),
    ]
    w = MainWindow(controllers)
    qtbot.addWidget(w)
    w.show()
    good, wrong = w.account_tab("good"), w.account_tab("wrong")
    try:
        for controller in controllers:
            controller.start()
        qtbot.waitUntil(lambda: wrong.header.state_label.text() == "Auth error", timeout=10_000)
        assert "HTTP 401: Invalid signature" in wrong.header.detail_label.text()
        qtbot.waitUntil(
            lambda: good.header.state_label.text() == "Live" and good.balance_model.rowCount() > 0,
            timeout=10_000,
        )
        rows = good.balance_model.rowCount()

        sim.refuse_connections(True)
        dropped = qloop.create_task(sim.drop_connections())
        qtbot.waitUntil(lambda: good.header.state_label.text() == "Reconnecting", timeout=10_000)
        assert not good.header.stale_badge.isHidden() and good.balance_model.rowCount() == rows
        sim.refuse_connections(False)
        qtbot.waitUntil(lambda: good.header.state_label.text() == "Live", timeout=10_000)
        qtbot.waitUntil(lambda: good.balance_model.values() == sim.truth.balances, timeout=5_000)
        assert good.header.stale_badge.isHidden()
        assert dropped.exception() is None
    finally:
        for controller in controllers:
            controller.stop()
        qtbot.waitUntil(lambda: not any(c.running for c in controllers), timeout=10_000)
        stopped = qloop.create_task(sim.stop())
        qtbot.waitUntil(stopped.done, timeout=10_000)
