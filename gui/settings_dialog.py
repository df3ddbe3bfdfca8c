"""The 'Notification settings' dialog: one row per account, plus 'close to tray'."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from gui.notify_settings import NotificationSettings, parse_notional
from streams.alerts import AlertSettings, NotifyOn

NOTIFY_ON_TEXT = {
    NotifyOn.ALL: "Full and partial fills",
    NotifyOn.FULL: "Full fills only",
    NotifyOn.OFF: "Off",
}


@dataclass
class _Row:
    account: str
    notify_on: QComboBox
    min_notional: QLineEdit
    sound: QCheckBox
    dnd: QCheckBox


class NotificationSettingsDialog(QDialog):
    """Edits `NotificationSettings` for `accounts` ((id, display name) pairs); OK saves."""

    def __init__(
        self,
        store: NotificationSettings,
        accounts: Sequence[tuple[str, str]],
        *,
        tray_available: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Notification settings")
        self.store = store
        self.rows: list[_Row] = []
        grid = QGridLayout()
        for column, title in enumerate(
            ("Account", "Notify on", "Minimum notional", "Sound", "Do not disturb")
        ):
            grid.addWidget(QLabel(f"<b>{title}</b>"), 0, column)
        for line, (account, name) in enumerate(accounts, start=1):
            current = store.load(account)
            combo = QComboBox()
            for value, text in NOTIFY_ON_TEXT.items():
                combo.addItem(text, value.value)
            combo.setCurrentIndex(list(NOTIFY_ON_TEXT).index(current.notify_on))
            notional = QLineEdit(format(current.min_notional, "f") if current.min_notional else "")
            notional.setPlaceholderText("0 (any size)")
            notional.setToolTip(
                "Price x amount in the market's quote currency; smaller fills are only recorded"
            )
            notional.textChanged.connect(self._validate)
            sound = QCheckBox()
            sound.setChecked(current.sound)
            dnd = QCheckBox()
            dnd.setChecked(current.do_not_disturb)
            dnd.setToolTip("Record this account's fills without notifications")
            for column, widget in enumerate((QLabel(name), combo, notional, sound, dnd)):
                grid.addWidget(widget, line, column)
            self.rows.append(_Row(account, combo, notional, sound, dnd))
        self.close_to_tray = QCheckBox("Closing the window keeps the app running in the tray")
        self.close_to_tray.setChecked(store.close_to_tray and tray_available)
        self.close_to_tray.setEnabled(tray_available)
        if not tray_available:
            self.close_to_tray.setToolTip("This desktop has no system tray")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(self.close_to_tray)
        layout.addWidget(self.buttons)

    def _validate(self) -> None:
        ok = all(parse_notional(row.min_notional.text()) is not None for row in self.rows)
        for row in self.rows:
            bad = parse_notional(row.min_notional.text()) is None
            row.min_notional.setStyleSheet("color: #d0342c;" if bad else "")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def accept(self) -> None:
        for row in self.rows:
            notional = parse_notional(row.min_notional.text())
            if notional is None:
                return
            chosen = AlertSettings(
                notify_on=NotifyOn(row.notify_on.currentData()),
                min_notional=notional,
                sound=row.sound.isChecked(),
                do_not_disturb=row.dnd.isChecked(),
            )
            self.store.save(row.account, chosen)
        if self.close_to_tray.isEnabled():
            self.store.close_to_tray = self.close_to_tray.isChecked()
        super().accept()
