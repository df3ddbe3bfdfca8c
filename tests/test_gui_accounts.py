"""The accounts dialog end to end: pytest-qt types into the real dialog, the real keyring and accounts
file are written, and the real engine takes the new account live against the BitoPro simulator in a new
tab. Also: the exchange's answer on Test connection, inline errors with nothing saved, enable/disable and
remove, and privacy mode over every table."""

from __future__ import annotations

import contextlib
import json

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from gui.account_manager import AccountManager
from gui.accounts_dialog import AccountEditor, AccountsDialog
from gui.app import run_gui
from gui.controller import AccountController
from gui.main_window import MainWindow
from gui.privacy import HIDDEN, SETTINGS_KEY, amount_text, amounts_hidden, privacy
from streams import credentials
from streams.config import AccountConfig, load_config, save_config
from streams.exchanges.bitopro.simulator import BitoProSimulator
from streams.model import State, Status, now_ms
from streams.store import Changes
from tests.engine_helpers import FAST
from tests.gui_helpers import T0, bal, balances, entry, fill, order, save_screenshot

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("qt_settings")]


@pytest.fixture
def sim(qtbot, qloop):
    simulator = BitoProSimulator(seed=6)
    started = qloop.create_task(simulator.start())
    qtbot.waitUntil(started.done, timeout=10_000)
    yield simulator
    stopped = qloop.create_task(simulator.stop())
    qtbot.waitUntil(stopped.done, timeout=10_000)


@pytest.fixture
def app_window(qtbot, qloop, tmp_path):
    """An empty window with its account manager on a fresh accounts file; runners stopped afterwards."""
    window = MainWindow([])
    qtbot.addWidget(window)
    window.show()
    manager = AccountManager(window, tmp_path / "accounts.toml", timing=FAST)
    used: list[str] = []
    yield window, manager, used
    if manager.dialog is not None:
        manager.dialog.close()
    for controller in window.controllers:
        controller.stop()
    qtbot.waitUntil(lambda: not any(c.running for c in window.controllers), timeout=10_000)
    for account_id in used:
        credentials.delete_credentials(account_id)


def open_editor(qtbot, dialog: AccountsDialog) -> AccountEditor:
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    editor = dialog.editor
    assert editor is not None
    qtbot.waitUntil(editor.isVisible, timeout=5_000)
    return editor


def type_into(qtbot, edit, text: str) -> None:
    edit.clear()
    qtbot.keyClicks(edit, text)


def fill_editor(qtbot, editor: AccountEditor, sim, account_id: str, label: str, **secrets: str) -> None:
    type_into(qtbot, editor.id_edit, account_id)
    type_into(qtbot, editor.label_edit, label)
    values = {**sim.credentials, **secrets}
    for name, edit in editor.secret_edits.items():
        edit.clear()
        edit.insert(values[name])  # insert(), like a paste: keeps a trailing newline that typing cannot
    type_into(qtbot, editor.ws_edit, sim.ws_url)
    type_into(qtbot, editor.rest_edit, sim.rest_url)


def test_a_new_account_goes_live_in_its_own_tab_and_a_wrong_key_shows_the_answer(qtbot, sim, app_window):
    window, manager, used = app_window
    dialog = manager.open_dialog()
    qtbot.waitUntil(dialog.isVisible, timeout=5_000)
    editor = open_editor(qtbot, dialog)
    assert list(editor.secret_edits) == ["api_key", "api_secret", "email"]  # from SECRET_FIELDS
    assert editor.secret_edits["api_secret"].echoMode() == editor.secret_edits["api_secret"].EchoMode.Password

    fill_editor(qtbot, editor, sim, "sim-main", "Sim main", api_secret="not-the-secret")
    qtbot.mouseClick(editor.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: editor.test_result.text().startswith("✖"), timeout=15_000)
    assert editor.test_result.text() == "✖ BitoPro: HTTP 401: Invalid signature"  # the simulator's words

    editor.secret_edits["api_secret"].clear()
    editor.secret_edits["api_secret"].insert(sim.credentials["api_secret"] + "\n")  # pasted with a newline
    qtbot.mouseClick(editor.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: editor.test_result.text().startswith("✔"), timeout=15_000)
    assert editor.test_result.text().startswith("✔ BitoPro: connected: ")
    assert (
        editor.notes.isVisible() and editor.notes.text() == "API secret had a line break around it, removed."
    )
    assert (
        editor.rights_label.text() == "BitoPro does not report what a key may do; make sure it is read-only"
    )
    editor.resize(600, editor.sizeHint().height())
    save_screenshot(editor, "accounts-editor")

    used.append("sim-main")
    editor.buttons.button(editor.buttons.StandardButton.Save).click()
    assert not editor.isVisible()
    assert [a.id for a in load_config(manager.config_path)] == ["sim-main"]
    stored = json.loads(credentials.read_entry("sim-main"))
    assert stored == sim.credentials  # the newline was stripped before it reached the keyring
    assert dialog.list.count() == 1 and "Sim main" in dialog.list.item(0).text()

    qtbot.waitUntil(lambda: [c.account_id for c in window.controllers] == ["sim-main"], timeout=10_000)
    tab = window.account_tab("sim-main")
    qtbot.waitUntil(
        lambda: (
            tab.controller.last_status.state is State.LIVE
            and tab.balance_model.values() == sim.truth.balances
        ),
        timeout=15_000,
    )
    assert window.tabs.tabText(window.tabs.indexOf(tab)) == "Sim main"
    assert window.overview.accounts_model.rowCount() == 1
    qtbot.waitUntil(lambda: window.overview.totals_model.values() == sim.truth.balances, timeout=5_000)

    # a second account on the same exchange: its own tab beside the first
    editor = open_editor(qtbot, dialog)
    assert editor.id_edit.text() == "bitopro"  # a free id is suggested
    fill_editor(qtbot, editor, sim, "sim-second", "Sim second")
    used.append("sim-second")
    editor.buttons.button(editor.buttons.StandardButton.Save).click()
    qtbot.waitUntil(lambda: len(window.controllers) == 2, timeout=10_000)
    second = window.account_tab("sim-second")
    qtbot.waitUntil(lambda: second.controller.last_status.state is State.LIVE, timeout=15_000)
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == [
        "Overview",
        "Sim main",
        "Sim second",
    ]
    window.resize(1180, 760)
    save_screenshot(dialog, "accounts-dialog")

    # untick: stops and leaves; remove: gone from the file and the keyring
    dialog.list.item(1).setCheckState(Qt.CheckState.Unchecked)
    qtbot.waitUntil(lambda: [c.account_id for c in window.controllers] == ["sim-main"], timeout=10_000)
    assert load_config(manager.config_path)[1].enabled is False
    assert not second.controller.running
    dialog.list.setCurrentRow(0)
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    box = dialog.findChild(QMessageBox, "confirmRemove")
    qtbot.waitUntil(box.isVisible, timeout=5_000)
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: window.controllers == [], timeout=10_000)
    assert [a.id for a in load_config(manager.config_path)] == ["sim-second"]
    assert credentials.read_entry("sim-main") is None
    assert window.tabs.count() == 1 and window.overview.accounts_model.rowCount() == 0


def test_bad_input_is_shown_inline_and_nothing_is_saved(qtbot, app_window):
    _, manager, used = app_window
    path = manager.config_path
    save_config(path, [AccountConfig("taken", "bitopro", "Taken"), AccountConfig("zoom", "bitzoom", "Zoom")])
    before = path.read_text()
    dialog = manager.open_dialog()
    editor = open_editor(qtbot, dialog)
    type_into(qtbot, editor.id_edit, "taken")
    editor.secret_edits["api_key"].insert("   ")
    editor.secret_edits["api_secret"].insert("two words")
    editor.secret_edits["email"].insert("me@example.com")
    used.append("taken")
    editor.buttons.button(editor.buttons.StandardButton.Save).click()
    assert editor.isVisible()
    shown = {name: label.text() for name, label in editor.errors.items() if label.isVisible()}
    assert shown == {
        "api_key": "API key is missing or empty",
        "api_secret": "API secret contains a space or line break inside; paste it again",
    }
    editor.secret_edits["api_key"].insert("AK-ok-123456")
    editor.secret_edits["api_secret"].clear()
    editor.secret_edits["api_secret"].insert("SK-ok-123456")
    editor.buttons.button(editor.buttons.StandardButton.Save).click()
    shown = {name: label.text() for name, label in editor.errors.items() if label.isVisible()}
    assert shown == {"id": "Account id 'taken' exists already; pick another id"}
    assert path.read_text() == before and credentials.read_entry("taken") is None
    editor.reject()

    # a JWT field (Bitzoom's, from SECRET_FIELDS)
    dialog.list.setCurrentRow(1)
    qtbot.mouseClick(dialog.edit_button, Qt.MouseButton.LeftButton)
    editor = dialog.editor
    assert list(editor.secret_edits) == ["jwt"] and editor.test_button.isEnabled()
    assert editor.exchange.currentText() == "Bitzoom"
    editor.secret_edits["jwt"].insert("not.a.jwt")
    used.append("zoom")
    editor.buttons.button(editor.buttons.StandardButton.Save).click()
    assert editor.errors["jwt"].text() == "JWT is not a JWT: its first part is not a base64url JSON header"
    assert editor.errors["jwt"].isVisible()
    assert path.read_text() == before and credentials.read_entry("zoom") is None
    save_screenshot(editor, "accounts-editor-errors")
    editor.reject()


def test_the_window_without_accounts_opens_the_dialog(qapp, tmp_path):
    """`account-monitor` with an empty accounts file: the window opens, and the accounts dialog on it."""
    seen: dict = {}

    @contextlib.asynccontextmanager
    async def nothing():
        yield []

    def watch() -> None:
        dialogs = [
            w for w in QApplication.topLevelWidgets() if isinstance(w, AccountsDialog) and w.isVisible()
        ]
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        seen["polls"] = seen.get("polls", 0) + 1
        if dialogs and windows:
            seen["dialog"] = True
            seen["action"] = windows[0].manage_accounts_action.isEnabled()
            dialogs[0].close()
            windows[0].close()
        elif seen["polls"] > 200:
            for w in windows:
                w.close()
        else:
            QTimer.singleShot(50, watch)

    quit_on_close, style = qapp.quitOnLastWindowClosed(), qapp.style().name()
    QTimer.singleShot(50, watch)
    try:
        assert run_gui(nothing, config_path=tmp_path / "accounts.toml") == 0
    finally:
        qapp.setQuitOnLastWindowClosed(quit_on_close)
        qapp.setStyle(style)
    assert seen.get("dialog") and seen.get("action")


def test_privacy_mode_hides_every_amount_and_persists(qtbot):
    controllers = [AccountController(entry("main", "Main")), AccountController(entry("savings", "Savings"))]
    window = MainWindow(controllers)
    qtbot.addWidget(window)
    window.show()
    main = window.account_tab("main")
    main.controller.sink(Status(State.LIVE, "streaming", now_ms()))
    main.controller.sink(balances(bal("BTC", "1.5", "1", "0.5")))
    main.controller.sink(Changes(orders={"1": order("1", "2000000", "0.5")}, fills=[fill("t1", T0)]))
    qtbot.waitUntil(lambda: main.balance_model.rowCount() and main.fills_model.rowCount(), timeout=2_000)
    models = [main.balance_model, main.orders_model, main.fills_model, window.overview.totals_model]

    def shown(model) -> list[list[str]]:
        return [
            [model.index(r, c).data() for c in range(model.columnCount())] for r in range(model.rowCount())
        ]

    before = [shown(m) for m in models]
    try:
        window.raise_()
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
        qtbot.keyClick(
            window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        )
        qtbot.keyClick(window, Qt.Key.Key_Shift)  # QTest leaves Ctrl+Shift "held" for later tests otherwise
        assert window.privacy_action.isChecked() and amounts_hidden()
        assert window.windowTitle() == "Account Monitor — amounts hidden"
        for model, rows in zip(models, before, strict=True):
            for row, old in zip(shown(model), rows, strict=True):
                for column, (now, was) in enumerate(zip(row, old, strict=True)):
                    expected = HIDDEN if model.columns[column].numeric else was
                    assert now == expected, (type(model).__name__, column, now)
        assert shown(main.balance_model)[0] == ["BTC", HIDDEN, HIDDEN, HIDDEN]
        assert amount_text("1.5") == HIDDEN  # what notifications format amounts with
        main.controller.sink(balances(bal("ETH", "3")))  # new rows arrive hidden too
        qtbot.waitUntil(lambda: main.balance_model.rowCount() == 2, timeout=2_000)
        assert all(row[1] == HIDDEN for row in shown(main.balance_model))
        window.tabs.setCurrentWidget(main)
        save_screenshot(window, "privacy-mode")
        assert QSettings("account-monitor", "account-monitor").value(SETTINGS_KEY, type=bool) is True

        window.close()
        again = MainWindow([AccountController(entry("main", "Main"))])
        qtbot.addWidget(again)
        assert again.privacy_action.isChecked() and amounts_hidden()  # restored from the settings
        again.privacy_action.trigger()
        assert not amounts_hidden() and amount_text("1.5") == "1.5"
        assert QSettings("account-monitor", "account-monitor").value(SETTINGS_KEY, type=bool) is False
    finally:
        privacy().set_hidden(False)
    assert shown(main.balance_model)[0] == ["BTC", "1.5", "1", "0.5"]
