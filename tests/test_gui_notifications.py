"""The GUI side of fill notifications on the real window: the Fills tab on the ledger (filters, exact
amounts, late marker, CSV), a click on the real daemon's notification opening the account's tab, the
status bar when no service runs, settings that persist and apply, the tray's colour and tooltip, and
close-to-tray."""

from __future__ import annotations

import subprocess

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor

from gui.controller import AccountController
from gui.fills_tab import LATE_TEXT
from gui.main_window import MainWindow
from gui.notifications import Notifications, display_name
from gui.notify_settings import NotificationSettings, parse_notional
from gui.privacy import privacy
from gui.tray import HEALTH_COLOURS, Health, tray_icon, worst
from streams.alerts import AlertSettings, NotifyOn
from streams.ledger import Outcome
from streams.model import OrderStatus, Side, State, Status, now_ms
from streams.notifier import NO_SERVICE
from streams.store import Changes
from tests.gui_helpers import entry, fill, order, save_screenshot
from tests.notify_bus import NotifyWatcher

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("qt_settings")]


def status(state: State) -> Status:
    return Status(state, "", now_ms())


@pytest.fixture
def app(qtbot, qloop, tmp_path):
    controllers = [
        AccountController(entry("main", "main")),
        AccountController(entry("savings", "Savings")),
        AccountController(entry("broken", "Broken", error="no keyring entry")),
    ]
    window = MainWindow(controllers)
    extras = Notifications(window, controllers, ledger_path=tmp_path / "fills.sqlite3")
    window.show()
    qtbot.waitExposed(window)
    yield extras
    task = qloop.create_task(extras.aclose())
    qtbot.waitUntil(task.done, timeout=10_000)
    assert task.exception() is None
    window.close()
    window.deleteLater()


def feed(extras, account, *fills, orders=()):
    controller = extras.window.account_tab(account).controller
    if controller.last_status.state is State.OFFLINE:
        controller.sink(status(State.SYNCING))
        controller.sink(status(State.LIVE))
    controller.sink(Changes(orders={o.order_id: o for o in orders}, fills=list(fills)))


def test_fills_tab_shows_the_ledger_newest_first_filtered_and_exports_csv(qtbot, app, tmp_path):
    now = now_ms()
    feed(
        app,
        "main",
        fill("m1", now - 3000, market="BTC/USDT", price="64210.5", amount="0.5"),
        fill("m2", now - 1000, market="ETH/USDT", price="3200", amount="0.00000001", late=True),
    )
    feed(app, "savings", fill("s1", now - 2000, market="BTC/USDT", price="65000", amount="1.25"))
    tab = app.fills_tab
    assert app.window.tabs.tabText(app.window.tabs.count() - 1) == "Fills"
    qtbot.waitUntil(lambda: tab.model.rowCount() == 3, timeout=5000)
    qtbot.waitUntil(lambda: all(r.outcome is not Outcome.PENDING for r in tab.model.rows()), timeout=10_000)
    tab.refresh()
    cells = [[tab.model.index(r, c).data() for c in range(tab.model.columnCount())] for r in range(3)]
    assert [row[1] for row in cells] == ["BitoPro main", "BitoPro Savings", "BitoPro main"]
    assert cells[0][2:8] == ["ETH/USDT", "buy", "0.00000001", "3200", "0.001 BTC", LATE_TEXT]
    assert cells[2][4:6] == ["0.5", "64210.5"] and cells[2][7] == ""

    tab.account_filter.setCurrentIndex(tab.account_filter.findData("main"))
    assert [r.fill.trade_id for r in tab.model.rows()] == ["m2", "m1"]
    tab.account_filter.setCurrentIndex(0)
    tab.market_filter.setCurrentIndex(tab.market_filter.findData("BTC/USDT"))
    assert [r.fill.trade_id for r in tab.model.rows()] == ["s1", "m1"]
    out = tmp_path / "export.csv"
    assert tab.export_csv(out) == 2
    lines = out.read_text().splitlines()
    assert lines[1].split(",")[1:6] == ["savings", "BTC/USDT", "buy", "65000", "1.25"]


def test_fills_tab_model_passes_modeltester(qtbot, qtmodeltester, app):
    feed(app, "main", fill("m1", now_ms(), late=True), fill("m2", now_ms() - 5, amount="0.25"))
    qtbot.waitUntil(lambda: app.fills_tab.model.rowCount() == 2, timeout=5000)
    qtmodeltester.check(app.fills_tab.model)


def test_clicking_a_notification_opens_the_accounts_tab(qtbot, app):
    subprocess.run(["dunstctl", "close-all"], check=True, timeout=10)
    watcher = NotifyWatcher().start()
    try:
        o = order("o9", "65000", "1.25", "1.25", market="BTC/USDT")
        feed(app, "savings", fill("s9", now_ms(), order_id="o9", market="BTC/USDT", price="65000", amount="1.25"),
             orders=[o])  # fmt: skip
        qtbot.waitUntil(lambda: len(watcher.snapshot()) == 1, timeout=10_000)
    finally:
        watcher.close()
    assert watcher.snapshot()[0].summary == "Filled: BUY 1.25 BTC/USDT @ 65,000 on BitoPro Savings"
    assert app.window.tabs.currentIndex() == 0
    qtbot.wait(200)  # dunst puts it on screen
    subprocess.run(["dunstctl", "action", "0"], check=True, timeout=10)
    qtbot.waitUntil(
        lambda: app.window.tabs.currentWidget() is app.window.account_tab("savings"), timeout=10_000
    )


def test_no_notification_service_shows_in_the_status_bar_once(qtbot, app):
    class Unavailable:
        probes = 0

        async def probe(self):
            Unavailable.probes += 1
            return "org.freedesktop.DBus.Error.ServiceUnknown"

        async def send(self, alert, on_clicked):
            raise AssertionError("must not send without a service")

        async def aclose(self):
            pass

    app.notifier.sender = Unavailable()
    feed(app, "main", fill("m1", now_ms()), fill("m2", now_ms()))
    qtbot.waitUntil(lambda: app.window.statusBar().currentMessage() == NO_SERVICE, timeout=5000)
    feed(app, "main", fill("m3", now_ms()))
    qtbot.waitUntil(
        lambda: [r.outcome for r in app.ledger.fills()] == [Outcome.UNDELIVERED] * 3, timeout=5000
    )
    assert Unavailable.probes == 1  # asked once; asked again only after a minute


def test_settings_persist_and_apply_at_once(qtbot, app, qt_settings):
    dialog = app.edit_settings()
    row = next(r for r in dialog.rows if r.account == "main")
    row.notify_on.setCurrentIndex(row.notify_on.findData("full"))
    row.min_notional.setText("1,000")
    row.sound.setChecked(False)
    dialog.accept()
    fresh = NotificationSettings(QSettings("account-monitor", "account-monitor"))
    assert fresh.load("main") == AlertSettings(NotifyOn.FULL, parse_notional("1000"), False, False)
    assert fresh.load("savings") == AlertSettings()

    partial = order("o1", "64000", "1", "0.1", market="BTC/USDT", status=OrderStatus.PARTIALLY_FILLED)
    feed(app, "main", fill("p1", now_ms(), order_id="o1", price="64000", amount="0.1"), orders=[partial])
    qtbot.waitUntil(lambda: app.ledger.outcome("main", "p1") is Outcome.MUTED, timeout=5000)


def test_settings_dialog_refuses_a_bad_minimum(qtbot, app):
    dialog = app.edit_settings()
    dialog.rows[0].min_notional.setText("ten")
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
    dialog.rows[0].min_notional.setText("10")
    assert dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
    dialog.reject()


def test_tray_colour_is_the_worst_state_and_the_tooltip_lists_accounts(app):
    main, savings = (app.window.account_tab(a).controller for a in ("main", "savings"))
    healthy = [main, savings]
    main.sink(status(State.LIVE))
    savings.sink(status(State.LIVE))
    assert worst(healthy) is Health.LIVE
    savings.sink(status(State.RECONNECTING))
    assert worst(healthy) is Health.STALE
    assert app.tray.level is Health.ERROR  # the broken account is red whatever the others do
    assert app.tray.icon.toolTip().splitlines() == [
        "Account Monitor",
        "BitoPro main: Live",
        "BitoPro Savings: Reconnecting",
        "BitoPro Broken: Cannot run",
    ]
    for level in Health:
        image = tray_icon(level).pixmap(32, 32).toImage()
        assert image.pixelColor(24, 24) == QColor(HEALTH_COLOURS[level])


def test_close_to_tray_hides_and_quit_closes(qtbot, app):
    closed = []
    app.window.closed.connect(lambda: closed.append(True))
    app.tray.available = True  # Xvfb has no tray: pretend, to test the window's side of it
    app.settings.close_to_tray = True
    app.window.close()
    assert not app.window.isVisible() and closed == []
    app.show_window()
    assert app.window.isVisible()
    app.quit()
    assert closed == [True]


def test_close_without_a_tray_closes(qtbot, app):
    closed = []
    app.window.closed.connect(lambda: closed.append(True))
    app.tray.available = False
    app.settings.close_to_tray = True  # set, but there is nothing to minimise to
    app.window.close()
    assert closed == [True]


def test_display_names():
    assert display_name(AccountController(entry("m", "main"))) == "BitoPro main"
    assert display_name(AccountController(entry("d", "BitoPro demo"))) == "BitoPro demo"


def test_screenshot_fills_tab(qtbot, app):
    t = now_ms()
    for account in ("main", "savings"):  # first synced two hours ago: these fills were announced
        app.window.account_tab(account).controller.sink(Status(State.SYNCING, "", t - 7_200_000))
        app.window.account_tab(account).controller.sink(status(State.LIVE))
    o1 = order("o1", "64210.5", "0.5", "0.5", market="BTC/USDT")
    feed(app, "main",
         fill("a", t - 3_600_000, order_id="o1", market="BTC/USDT", price="64210.5", amount="0.2", fee="0.0002"),
         fill("b", t - 1_800_000, order_id="o1", market="BTC/USDT", price="64210.5", amount="0.3", fee="0.0003"),
         fill("c", t - 600_000, order_id="o2", market="ETH/USDT", side=Side.SELL, price="3250.75", amount="1.5",
              fee="4.876125", fee_asset="USDT", late=True),
         orders=[o1])  # fmt: skip
    feed(app, "savings",
         fill("d", t - 120_000, order_id="o3", market="USDT/TWD", price="32.1", amount="15000", fee="15",
              fee_asset="USDT"),
         fill("e", t - 5_000, order_id="o4", market="BITO/TWD", side=Side.SELL, price="0.3512",
              amount="40000.5", fee="14.04", fee_asset="TWD"))  # fmt: skip
    app.window.tabs.setCurrentWidget(app.fills_tab)
    qtbot.waitUntil(lambda: app.fills_tab.model.rowCount() == 5, timeout=5000)
    qtbot.waitUntil(lambda: all(r.outcome is not Outcome.PENDING for r in app.ledger.fills()), timeout=10_000)
    app.fills_tab.refresh()
    assert not app.window.grab().isNull()
    save_screenshot(app.window, "fills-tab")


def test_an_account_added_while_running_notifies_and_joins_the_tray_and_filter(qtbot, app):
    """The accounts dialog adds tabs while the app runs: their fills must be announced like the rest."""
    subprocess.run(["dunstctl", "close-all"], check=True, timeout=10)
    app.window.add_account(AccountController(entry("late", "Late")))
    assert "BitoPro Late: Offline" in app.tray.icon.toolTip()
    assert app.fills_tab.account_filter.findData("late") >= 0
    watcher = NotifyWatcher().start()
    try:
        o = order("o7", "100", "2", "2", market="ETH/USDT")
        feed(app, "late", fill("l7", now_ms(), order_id="o7", market="ETH/USDT", price="100", amount="2"),
             orders=[o])  # fmt: skip
        qtbot.waitUntil(lambda: len(watcher.snapshot()) == 1, timeout=10_000)
    finally:
        watcher.close()
    assert watcher.snapshot()[0].summary == "Filled: BUY 2 ETH/USDT @ 100 on BitoPro Late"
    app.window.account_tab("late").controller.stop()
    app.window.remove_account("late")
    assert "Late" not in app.tray.icon.toolTip()


def test_privacy_mode_hides_amounts_in_notifications(qtbot, app):
    subprocess.run(["dunstctl", "close-all"], check=True, timeout=10)
    privacy().set_hidden(True)
    watcher = NotifyWatcher().start()
    try:
        o = order("o8", "64210.5", "0.5", "0.5", market="BTC/USDT")
        feed(app, "main", fill("m8", now_ms(), order_id="o8", market="BTC/USDT", price="64210.5", amount="0.5"),
             orders=[o])  # fmt: skip
        qtbot.waitUntil(lambda: len(watcher.snapshot()) == 1, timeout=10_000)
    finally:
        watcher.close()
        privacy().set_hidden(False)
    [sent] = watcher.snapshot()
    assert sent.summary == "Filled: BUY ••••• BTC/USDT @ ••••• on BitoPro main"
    assert "0.5" not in sent.body and "64" not in sent.body


def test_fills_tab_reads_older_pages_only_when_scrolled_to(qtbot, tmp_path):
    """The table holds a page of the newest fills; scrolling to its end reads the next page and keeps
    the rows already shown (no reset): memory follows what the user looked at."""
    from gui.fills_tab import PAGE_ROWS, FillsTab
    from streams.ledger import FillLedger

    total = PAGE_ROWS * 2 + 34
    with FillLedger(tmp_path / "fills.sqlite3") as ledger:
        for n in range(total):
            ledger.record("main", fill(f"t{n}", 1_000_000 + n))
        tab = FillsTab(ledger, [("main", "BitoPro main")])
        qtbot.addWidget(tab)
        tab.show()
        assert tab.model.rowCount() == PAGE_ROWS and tab.model.canFetchMore()
        assert "scroll for older" in tab.count_label.text()
        first_page = tab.model.rows()
        resets = []
        tab.model.modelReset.connect(lambda: resets.append(1))
        for pages in (2, 3):
            tab.view.scrollToBottom()
            qtbot.waitUntil(lambda pages=pages: tab.model.rowCount() == min(total, PAGE_ROWS * pages))
        assert tab.model.rows()[:PAGE_ROWS] == first_page and not resets
        assert not tab.model.canFetchMore() and tab.count_label.text() == f"{total:,} fills"
        assert tab.model.rows()[-1].fill.trade_id == "t0"  # the oldest, at the end
        tab.detach()
