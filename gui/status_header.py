"""The line on top of an account tab: state light, state, the detail text, a stale badge and
'updated N s ago'."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from gui.style import STATE_COLOURS, STATE_ICON_SIZE, state_icon
from gui.text import STATE_TEXT, updated_ago
from streams.model import State, Status

_BADGE = (
    "QLabel { background: #fbe9c6; color: #7a4b00; border: 1px solid #e6b450;"
    " border-radius: 4px; padding: 1px 6px; font-weight: 600; }"
)


class StatusHeader(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.light = QLabel()
        self.state_label = QLabel()
        self.detail_label = QLabel()
        self.detail_label.setWordWrap(True)
        self.detail_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.stale_badge = QLabel("stale: showing the last known data")
        self.stale_badge.setStyleSheet(_BADGE)
        self.stale_badge.setToolTip("The connection is not live; these values may be out of date")
        self.stale_badge.hide()
        self.updated_label = QLabel("no data yet")
        self.updated_label.setStyleSheet("color: palette(placeholder-text);")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 0, 2, 0)
        layout.setSpacing(8)
        layout.addWidget(self.light)
        layout.addWidget(self.state_label)
        layout.addWidget(self.detail_label, 1)
        layout.addWidget(self.stale_badge)
        layout.addWidget(self.updated_label)

    def show_status(self, status: Status) -> None:
        colour = STATE_COLOURS[status.state]
        self.light.setPixmap(state_icon(status.state).pixmap(STATE_ICON_SIZE, STATE_ICON_SIZE))
        self.state_label.setText(STATE_TEXT[status.state])
        self.state_label.setStyleSheet(f"color: {colour}; font-weight: 700;")
        self.detail_label.setText(status.detail)
        error = status.state is State.AUTH_ERROR
        self.detail_label.setStyleSheet(f"color: {colour};" if error else "")

    def show_stale(self, stale: bool) -> None:
        self.stale_badge.setVisible(stale)

    def tick(self, last_data_ms: int, now_ms: int) -> None:
        self.updated_label.setText(updated_ago(last_data_ms, now_ms))
