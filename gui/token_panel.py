"""Paste a new token: shown in the tab of an account whose exchange logs on with a JWT the user
supplies (Bitzoom publishes no way to get one from API keys), while that account is in auth_error.

The text is checked for the shape of a JWT first (a typo never reaches the keyring or the exchange),
then stored in the keyring like every other secret, and the account restarts with it at once instead
of waiting out the slow retry after a refusal. The token is never shown: the field echoes dots.
"""

from __future__ import annotations

import asyncio

import keyring.errors
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from gui.controller import AccountController
from gui.style import ERROR_COLOUR
from streams.credentials import store_credentials
from streams.exchange import Credentials
from streams.exchanges.bitzoom.signer import InvalidToken, clean
from streams.model import State, Status

TOKEN_FIELD = "jwt"  # the keyring member of exchanges that log on with a pasted token


def uses_pasted_token(controller: AccountController) -> bool:
    """True for a runnable account whose exchange's secret is a JWT the user pastes."""
    spec = controller.entry.spec
    return controller.runner is not None and spec is not None and TOKEN_FIELD in spec.secret_fields


class TokenPanel(QFrame):
    def __init__(self, controller: AccountController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.restarting: asyncio.Task[None] | None = None
        self.setObjectName("tokenPanel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        title = QLabel(f"{controller.exchange_title} refused the token. Paste a new one to reconnect:")
        title.setStyleSheet("font-weight: 600;")
        self.input = QLineEdit()
        self.input.setObjectName("tokenInput")
        self.input.setEchoMode(QLineEdit.EchoMode.Password)
        self.input.setPlaceholderText("eyJhbGciOi…  (a JWT: three base64url parts separated by dots)")
        self.input.returnPressed.connect(self.submit)
        self.button = QPushButton("Use this token")
        self.button.setObjectName("useToken")
        self.button.clicked.connect(self.submit)
        self.message = QLabel()
        self.message.setObjectName("tokenMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.message.hide()
        row = QHBoxLayout()
        row.addWidget(self.input, 1)
        row.addWidget(self.button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(title)
        layout.addLayout(row)
        layout.addWidget(self.message)
        controller.status.connect(self.show_status)
        self.show_status(controller.last_status)

    def show_status(self, status: Status) -> None:
        self.setVisible(status.state is State.AUTH_ERROR)

    def submit(self) -> None:
        """Check the pasted text, store it, restart the account with it."""
        try:
            token = clean(self.input.text())
        except InvalidToken as exc:
            self._say(f"That is not a token: {exc}.")
            return
        values = dict(self.controller.entry.credentials.values) if self.controller.entry.credentials else {}
        values[TOKEN_FIELD] = token
        try:
            store_credentials(self.controller.account_id, values)
        except keyring.errors.KeyringError as exc:
            self._say(f"Could not save the token in the keyring ({exc}); it is used until the app closes.")
        else:
            self.message.hide()
        self.input.clear()
        self.restarting = asyncio.get_running_loop().create_task(self.controller.restart(Credentials(values)))

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()
