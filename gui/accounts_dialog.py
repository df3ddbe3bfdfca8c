"""Accounts > Manage accounts: add, edit, remove, enable and disable accounts, and test their keys.

`AccountsDialog` lists the accounts (a check box per account enables or disables it); `AccountEditor`
edits one: exchange, id, label, the exchange's secret fields (from `streams.config.SECRET_FIELDS`, so a new
exchange needs no code here), optional endpoints and markets, and "Test connection", which runs the
account through the real engine (`streams.probe`) and shows the exchange's own answer and the key's
rights. Every write goes through `streams.accounts` (checked field by field, keyring first, rolled back
if the config cannot be written); errors appear beside their field and nothing is saved.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.style import ERROR_COLOUR
from streams import accounts, credentials
from streams.accounts import AccountInputError, field_label
from streams.config import SECRET_FIELDS, AccountConfig, ConfigError, load_config
from streams.exchange import Credentials
from streams.exchanges import EXCHANGES
from streams.probe import ProbeResult, probe_account, rights_text

OK_COLOUR = "#1b7f3b"
WARN_COLOUR = "#8a5300"
_ID_ROLE = Qt.ItemDataRole.UserRole
_HINTS = {
    "email": "the e-mail you log in to the exchange with (part of BitoPro's signature)",
    "jwt": "the token the exchange issued: three parts separated by dots",
}


def exchange_title(name: str) -> str:
    spec = EXCHANGES.get(name)
    return spec.title if spec is not None else f"{name} (not supported yet)"


def _error_label() -> QLabel:
    label = QLabel()
    label.setObjectName("fieldError")
    label.setStyleSheet(f"color: {ERROR_COLOUR};")
    label.setWordWrap(True)
    label.hide()
    return label


class AccountEditor(QDialog):
    """Add an account (`account` None) or edit one. Emits `saved(id)` once the change is written."""

    saved = Signal(str)

    def __init__(
        self, config_path: Path, account: AccountConfig | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.config_path = config_path
        self.original = account
        self.setWindowTitle("Edit account" if account else "Add account")
        self.setMinimumWidth(560)
        self.probe_task: asyncio.Task[ProbeResult] | None = None
        self.secret_edits: dict[str, QLineEdit] = {}
        self.errors: dict[str, QLabel] = {}
        self._id_touched = account is not None

        self.exchange = QComboBox()
        names = list(EXCHANGES)
        if account is not None and account.exchange not in names:
            names.append(account.exchange)
        for name in names:
            self.exchange.addItem(exchange_title(name), name)
        self.id_edit = QLineEdit()
        self.id_edit.textEdited.connect(self._id_edited)
        self.label_edit = QLineEdit()
        self.label_edit.setPlaceholderText("shown on the tab; the id when empty")
        self.enabled_box = QCheckBox("Monitor this account")
        self.enabled_box.setChecked(True)
        general = QFormLayout()
        general.addRow("Exchange", self.exchange)
        general.addRow("Account id", self._with_error("id", self.id_edit))
        general.addRow("Label", self.label_edit)
        general.addRow("", self.enabled_box)

        self.keys_box = QGroupBox("Keys (kept in the system keyring, never in a file)")
        self.keys_form = QFormLayout()
        self.show_keys = QCheckBox("Show keys")
        self.show_keys.toggled.connect(self._show_keys)
        keys_layout = QVBoxLayout(self.keys_box)
        keys_layout.addLayout(self.keys_form)
        keys_layout.addWidget(self.show_keys, 0, Qt.AlignmentFlag.AlignRight)

        self.ws_edit, self.rest_edit, self.markets_edit = QLineEdit(), QLineEdit(), QLineEdit()
        self.ws_edit.setPlaceholderText("the exchange's own (wss://…)")
        self.rest_edit.setPlaceholderText("the exchange's own (https://…)")
        self.markets_edit.setPlaceholderText("e.g. BTC/USDT ETH/USDT (optional)")
        endpoints = QGroupBox("Endpoints and markets (optional: test hosts, proxies, simulators)")
        endpoint_form = QFormLayout(endpoints)
        endpoint_form.addRow("WebSocket URL", self._with_error("ws_url", self.ws_edit))
        endpoint_form.addRow("REST URL", self._with_error("rest_url", self.rest_edit))
        endpoint_form.addRow("Markets", self._with_error("markets", self.markets_edit))

        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel()
        self.test_result.setObjectName("testResult")
        self.test_result.setWordWrap(True)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.rights_label = QLabel()
        self.rights_label.setObjectName("keyRights")
        self.rights_label.setWordWrap(True)
        self.rights_label.hide()
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button, 0, Qt.AlignmentFlag.AlignTop)
        test_row.addWidget(self.test_result, 1)

        self.notes = QLabel()
        self.notes.setObjectName("notes")
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet(f"color: {WARN_COLOUR};")
        self.notes.hide()
        self.general_error = _error_label()
        self.general_error.setObjectName("generalError")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(general)
        layout.addWidget(self.keys_box)
        layout.addWidget(endpoints)
        layout.addLayout(test_row)
        layout.addWidget(self.rights_label)
        layout.addWidget(self.notes)
        layout.addWidget(self.general_error)
        layout.addWidget(self.buttons)

        self.exchange.currentIndexChanged.connect(self._exchange_changed)
        if account is not None:
            self.exchange.setCurrentIndex(names.index(account.exchange))
            self.exchange.setEnabled(False)  # other exchange, other keys: add a new account instead
            self.id_edit.setText(account.id)
            self.label_edit.setText(account.label)
            self.enabled_box.setChecked(account.enabled)
            self.ws_edit.setText(account.ws_url or "")
            self.rest_edit.setText(account.rest_url or "")
            self.markets_edit.setText(" ".join(account.markets))
        self._exchange_changed()

    # ------------------------------------------------------------------ building

    def _with_error(self, name: str, edit: QWidget) -> QWidget:
        """The field with its inline error label underneath."""
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(edit)
        self.errors[name] = _error_label()
        column.addWidget(self.errors[name])
        return box

    @property
    def exchange_name(self) -> str:
        return str(self.exchange.currentData())

    def _exchange_changed(self) -> None:
        """The secret fields of the chosen exchange, from SECRET_FIELDS."""
        while self.keys_form.rowCount():
            self.keys_form.removeRow(0)
        for name in list(self.errors):
            if name in self.secret_edits:
                del self.errors[name]
        self.secret_edits = {}
        for name in SECRET_FIELDS.get(self.exchange_name, ()):
            edit = QLineEdit()
            edit.setObjectName(f"secret_{name}")
            edit.setEchoMode(
                QLineEdit.EchoMode.Normal if self.show_keys.isChecked() else QLineEdit.EchoMode.Password
            )
            edit.setPlaceholderText(
                "stored in the keyring; type to replace" if self.original else _HINTS.get(name, "")
            )
            if name in _HINTS:
                edit.setToolTip(_HINTS[name])
            self.secret_edits[name] = edit
            self.keys_form.addRow(field_label(name), self._with_error(name, edit))
        self.test_button.setEnabled(self.exchange_name in EXCHANGES)
        if not self._id_touched:
            self.id_edit.setText(self._free_id(self.exchange_name))

    def _free_id(self, exchange: str) -> str:
        with contextlib.suppress(ConfigError):
            taken = {a.id for a in load_config(self.config_path)}
            number = 1
            while (candidate := exchange if number == 1 else f"{exchange}-{number}") in taken:
                number += 1
            return candidate
        return exchange

    def _id_edited(self) -> None:
        self._id_touched = True

    def _show_keys(self, shown: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        for edit in self.secret_edits.values():
            edit.setEchoMode(mode)

    # ------------------------------------------------------------------ reading the form

    def form_account(self) -> AccountConfig:
        return AccountConfig(
            id=self.id_edit.text(),
            exchange=self.exchange_name,
            label=self.label_edit.text(),
            ws_url=self.ws_edit.text().strip() or None,
            rest_url=self.rest_edit.text().strip() or None,
            markets=tuple(self.markets_edit.text().replace(",", " ").split()),
            enabled=self.enabled_box.isChecked(),
        )

    def _typed_secrets(self) -> dict[str, str]:
        return {name: edit.text() for name, edit in self.secret_edits.items()}

    def form_secrets(self) -> tuple[dict[str, str] | None, dict[str, str]]:
        """(secrets to store, notes). Editing: an empty field keeps its stored value, and all empty keeps
        the entry as it is (None). Raises AccountInputError, CredentialsError."""
        typed = self._typed_secrets()
        if self.original is not None:
            if not any(v.strip() for v in typed.values()):
                return None, {}
            stored = self._stored_secrets()
            typed = {name: value if value.strip() else stored.get(name, "") for name, value in typed.items()}
        cleaned = accounts.clean_secrets(self.exchange_name, typed)
        return cleaned.values, cleaned.notes

    def _stored_secrets(self) -> dict[str, str]:
        assert self.original is not None
        fields = SECRET_FIELDS.get(self.original.exchange, ())
        try:
            return dict(credentials.load_credentials(self.original.id, fields).values)
        except (credentials.InsecureKeyring, credentials.KeyringLocked):
            raise
        except credentials.CredentialsError:
            return {}  # nothing usable stored: the form must then have every field

    # ------------------------------------------------------------------ showing problems

    def _clear_messages(self) -> None:
        for label in self.errors.values():
            label.hide()
        self.general_error.hide()
        self.notes.hide()

    def show_errors(self, errors: dict[str, str]) -> None:
        for name, message in errors.items():
            label = self.errors.get(name)
            if label is None:  # no field of its own (e.g. "the account is gone")
                self.general_error.setText(message if not name else f"{name} {message}")
                self.general_error.show()
                continue
            title = "Account id" if name == "id" else field_label(name)
            label.setText(f"{title} {message}")
            label.show()

    def _show_notes(self, notes: dict[str, str]) -> None:
        if notes:
            self.notes.setText("\n".join(f"{field_label(name)} {note}." for name, note in notes.items()))
            self.notes.show()

    def _show_general(self, message: str) -> None:
        self.general_error.setText(message)
        self.general_error.show()

    # ------------------------------------------------------------------ actions

    def save(self) -> None:
        """Check everything, then write (keyring first, config second); on any error nothing is saved."""
        self._clear_messages()
        try:
            secrets, notes = self.form_secrets()
            self._show_notes(notes)
            account = self.form_account()
            if self.original is None:
                assert secrets is not None
                saved = accounts.add_account(self.config_path, account, secrets)
            else:
                saved = accounts.update_account(self.config_path, self.original.id, account, secrets)
        except AccountInputError as exc:
            self.show_errors(exc.errors)
            return
        except (credentials.CredentialsError, ConfigError) as exc:
            self._show_general(str(exc))
            return
        except OSError as exc:
            self._show_general(f"Nothing was saved: the accounts file could not be written ({exc}).")
            return
        self.saved.emit(saved.id)
        self.accept()

    def test_connection(self) -> None:
        """Run the form's account through the engine until live or refused; show the exchange's answer."""
        self._clear_messages()
        spec = EXCHANGES.get(self.exchange_name)
        if spec is None:
            return
        try:
            secrets, notes = self.form_secrets()
            if secrets is None:
                secrets = self._stored_secrets()
            self._show_notes(notes)
            account = accounts.check_account(self.form_account(), [])
        except AccountInputError as exc:
            self.show_errors(exc.errors)
            return
        except credentials.CredentialsError as exc:
            self._show_general(str(exc))
            return
        self.test_button.setEnabled(False)
        self.rights_label.hide()
        self._show_result(None, f"Connecting to {spec.title}…")
        self.probe_task = asyncio.get_running_loop().create_task(
            probe_account(account, spec, Credentials(secrets))
        )
        self.probe_task.add_done_callback(lambda task: self._tested(spec.title, task))

    def _tested(self, title: str, task: asyncio.Task[ProbeResult]) -> None:
        self.test_button.setEnabled(True)
        if task.cancelled():
            return
        if task.exception() is not None:
            self._show_result(False, f"The test failed: {task.exception()}")
            return
        result = task.result()
        self._show_result(result.ok, f"{title}: {result.answer}")
        rights = rights_text(title, result)
        warning = result.rights.warning() if result.rights else None
        if rights:
            self.rights_label.setText(f"⚠ {warning}\n{rights}" if warning else rights)
            self.rights_label.setStyleSheet(
                f"color: {WARN_COLOUR if warning or not result.rights else '#444'};"
            )
            self.rights_label.show()

    def _show_result(self, ok: bool | None, text: str) -> None:
        mark = "" if ok is None else "✔ " if ok else "✖ "
        colour = "palette(text)" if ok is None else OK_COLOUR if ok else ERROR_COLOUR
        self.test_result.setText(mark + text)
        self.test_result.setStyleSheet(f"color: {colour}; font-weight: {'600' if ok is not None else '400'};")

    def done(self, result: int) -> None:
        if self.probe_task is not None and not self.probe_task.done():
            self.probe_task.cancel()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.probe_task is not None and not self.probe_task.done():
            self.probe_task.cancel()
        super().closeEvent(event)


class AccountsDialog(QDialog):
    """The accounts in the config file. Each change is written at once and announced with
    `accounts_changed`; the window then brings its tabs in step (`gui.account_manager`)."""

    accounts_changed = Signal()

    def __init__(self, config_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.config_path = config_path
        self.setWindowTitle("Accounts")
        self.resize(620, 380)
        self.editor: AccountEditor | None = None
        self.list = QListWidget()
        self.list.itemChanged.connect(self._item_changed)
        self.list.itemDoubleClicked.connect(lambda _: self.edit())
        self.list.currentRowChanged.connect(self._selection_changed)
        intro = QLabel(
            "Each account gets its own tab. Untick an account to stop monitoring it without deleting it. "
            "Keys are kept in the system keyring."
        )
        intro.setWordWrap(True)
        self.add_button = QPushButton("Add…")
        self.edit_button = QPushButton("Edit…")
        self.remove_button = QPushButton("Remove")
        self.add_button.clicked.connect(self.add)
        self.edit_button.clicked.connect(self.edit)
        self.remove_button.clicked.connect(self.remove)
        side = QVBoxLayout()
        for button in (self.add_button, self.edit_button, self.remove_button):
            side.addWidget(button)
        side.addStretch(1)
        middle = QHBoxLayout()
        middle.addWidget(self.list, 1)
        middle.addLayout(side)
        self.error = _error_label()
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(middle, 1)
        layout.addWidget(self.error)
        layout.addWidget(close)
        self.reload()

    def accounts(self) -> list[AccountConfig]:
        try:
            return load_config(self.config_path)
        except ConfigError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return []

    def reload(self, select: str | None = None) -> None:
        self.error.hide()
        current = select or self.selected_id()
        self.list.blockSignals(True)
        self.list.clear()
        for account in self.accounts():
            item = QListWidgetItem(f"{account.title}  —  {exchange_title(account.exchange)}  ({account.id})")
            item.setData(_ID_ROLE, account.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if account.enabled else Qt.CheckState.Unchecked)
            item.setToolTip("Ticked: monitored. Double-click to edit.")
            self.list.addItem(item)
            if account.id == current:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        if self.list.currentRow() < 0 and self.list.count():
            self.list.setCurrentRow(0)
        self._selection_changed()

    def selected_id(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None else str(item.data(_ID_ROLE))

    def _selection_changed(self) -> None:
        chosen = self.selected_id() is not None
        self.edit_button.setEnabled(chosen)
        self.remove_button.setEnabled(chosen)

    def add(self) -> None:
        self._open_editor(None)

    def edit(self) -> None:
        account_id = self.selected_id()
        account = next((a for a in self.accounts() if a.id == account_id), None)
        if account is not None:
            self._open_editor(account)

    def _open_editor(self, account: AccountConfig | None) -> None:
        self.editor = AccountEditor(self.config_path, account, self)
        self.editor.saved.connect(self._saved)
        self.editor.open()  # window-modal, without a nested event loop: the engine keeps running

    def _saved(self, account_id: str) -> None:
        self.reload(select=account_id)
        self.accounts_changed.emit()

    def remove(self) -> None:
        account_id = self.selected_id()
        if account_id is None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Remove account",
            f"Remove account {account_id!r} and delete its keys from the keyring?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("confirmRemove")
        box.finished.connect(lambda answer: self._confirmed_remove(account_id, answer))
        box.open()

    def _confirmed_remove(self, account_id: str, answer: int) -> None:
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            accounts.remove_account(self.config_path, account_id)
        except (AccountInputError, ConfigError, credentials.CredentialsError, OSError) as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.reload()
        self.accounts_changed.emit()

    def _item_changed(self, item: QListWidgetItem) -> None:
        enabled = item.checkState() == Qt.CheckState.Checked
        try:
            accounts.set_enabled(self.config_path, str(item.data(_ID_ROLE)), enabled)
        except (AccountInputError, ConfigError, OSError) as exc:
            self.error.setText(str(exc))
            self.error.show()
            self.reload()
            return
        self.accounts_changed.emit()
