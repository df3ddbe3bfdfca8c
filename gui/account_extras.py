"""What an account tab shows only for some exchanges, in a strip under its header (hidden when none
of it applies, so other accounts' tabs look as before):

- for an account whose exchange logs on with a pasted JWT: how long the token lasts ("token expires
  in 42 min", read from its `exp`), and, while the account is in auth_error, the field to paste a new
  one (`TokenPanel`);
- for an account whose exchange sends payloads with unpublished fields (its store keeps raw
  payloads): a "Raw data" button that opens the last payload per channel, updated live.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from gui.raw_view import RawDataWindow
from gui.style import ERROR_COLOUR
from gui.token_panel import TOKEN_FIELD, TokenPanel, uses_pasted_token
from streams.exchanges.bitzoom.signer import expires_ms, expiry_text
from streams.model import State, now_ms
from streams.store import Changes

if TYPE_CHECKING:
    from gui.account_tab import AccountTab

_SOON_MS = 15 * 60_000  # a token expiring within this shows in the warning colour


class AccountExtras(QWidget):
    def __init__(self, tab: AccountTab) -> None:
        super().__init__(tab)
        self.controller = tab.controller
        self.raw_window: RawDataWindow | None = None
        self.expiry_label = QLabel()
        self.expiry_label.setObjectName("tokenExpiry")
        self.raw_button = QPushButton("Raw data")
        self.raw_button.setObjectName("rawData")
        self.raw_button.setToolTip("The last payload of each channel, exactly as the exchange sent it")
        self.raw_button.clicked.connect(self.open_raw)
        self.raw_button.hide()
        row = QHBoxLayout()
        row.setContentsMargins(2, 0, 2, 0)
        row.addWidget(self.expiry_label)
        row.addStretch(1)
        row.addWidget(self.raw_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(row)
        self.token_panel: TokenPanel | None = None
        if uses_pasted_token(self.controller):
            self.token_panel = TokenPanel(self.controller)
            layout.addWidget(self.token_panel)
            self._clock = QTimer(self)
            self._clock.setInterval(1000)
            self._clock.timeout.connect(self.tick)
            self._clock.start()
        else:
            self.expiry_label.hide()
        tab.coalescer.flushed.connect(self.apply)
        self.tick()
        self._update_visibility()

    @property
    def raw(self) -> dict[str, str]:
        runner = self.controller.runner
        return runner.store.raw if runner is not None else {}

    def apply(self, changes: Changes) -> None:
        """A coalesced diff: new raw payloads show the button and reach an open raw window."""
        if not changes.raw:
            return
        self._update_visibility()
        if self.raw_window is not None and self.raw_window.isVisible():
            self.raw_window.show_payloads(changes.raw)

    def open_raw(self) -> RawDataWindow:
        if self.raw_window is None:
            self.raw_window = RawDataWindow(self.controller.title, self)
        self.raw_window.show_payloads(self.raw)
        self.raw_window.show()
        self.raw_window.raise_()
        self.raw_window.activateWindow()
        return self.raw_window

    def tick(self) -> None:
        """The token's remaining life, in the warning colour when it is short or over."""
        credentials = self.controller.entry.credentials
        token = credentials.values.get(TOKEN_FIELD) if credentials is not None else None
        if not token or self.token_panel is None:
            return
        now = now_ms()
        text = expiry_text(token, now) or "the token does not say when it expires"
        exp = expires_ms(token)
        soon = exp is not None and exp - now < _SOON_MS
        if self.controller.last_status.state is State.AUTH_ERROR and not (exp is not None and exp <= now):
            text = f"{text} by its own claim, but it was refused"
        self.expiry_label.setText(text)
        self.expiry_label.setStyleSheet(
            f"color: {ERROR_COLOUR};" if soon else "color: palette(placeholder-text);"
        )

    def _update_visibility(self) -> None:
        self.raw_button.setVisible(bool(self.raw))
        self.setVisible(self.token_panel is not None or bool(self.raw))
