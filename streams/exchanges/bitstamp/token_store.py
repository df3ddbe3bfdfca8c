"""The websocket token in the OS keyring, with its expiry, as the user asked.

Bitstamp's token (`POST /api/v2/websockets_token/`) authorises private subscribes for `valid_sec`
(60 s). It is kept with the other exchange-issued tokens: service `account-monitor-token`, user name
`<account id>/bitstamp-ws-token`, value JSON `{"token", "user_id", "expires_ms"}`, so a restart within
its validity reuses it. Only a secure backend is used (`secure_backend`), and the token is registered
with the log redactor. Keyring calls block (D-Bus round trips), so they run in a worker thread.

A demo account (`AccountConfig.simulated`) keeps its token in memory only: a demo writes nothing to
the keyring (on a session whose Secret Service has no keyring yet, a write would make it ask the user
to choose a password for a new one). Without a usable keyring the token lives in memory too; that is
logged once, without the token.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field

import keyring.errors

from streams.credentials import TOKEN_SERVICE, secure_backend
from streams.redaction import register_secret

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WsToken:
    """One websocket token. `repr` leaves the token out: it is a short-lived secret."""

    token: str = field(repr=False)
    user_id: str
    expires_ms: int

    def valid_for_ms(self, now_ms: int) -> int:
        return self.expires_ms - now_ms

    def to_json(self) -> str:
        return json.dumps({"token": self.token, "user_id": self.user_id, "expires_ms": self.expires_ms})

    @classmethod
    def from_json(cls, text: str) -> WsToken | None:
        """The token stored as JSON, or None for anything else (an entry written by another version)."""
        try:
            data = json.loads(text)
            token, user_id, expires = data["token"], data["user_id"], data["expires_ms"]
        except (ValueError, TypeError, KeyError):
            return None
        if (
            not isinstance(token, str)
            or not token
            or not isinstance(expires, int)
            or isinstance(expires, bool)
        ):
            return None
        return cls(token, str(user_id), expires)


TOKEN_KIND = "bitstamp-ws-token"


def username(account_id: str) -> str:
    """The keyring user name, as `streams.credentials` names every token: `<account id>/<kind>`."""
    return f"{account_id}/{TOKEN_KIND}"


class TokenStore:
    """Load, save and forget one account's token; falls back to memory if the keyring fails."""

    def __init__(self, account_id: str, *, in_keyring: bool = True) -> None:
        self.account_id = account_id
        self.username = username(account_id)
        self.in_keyring = in_keyring  # False for a demo, or once the keyring failed: memory only
        self._memory: WsToken | None = None

    async def load(self) -> WsToken | None:
        if self.in_keyring:
            try:
                raw = await asyncio.to_thread(_get, self.username)
            except Exception as exc:  # any backend failure: the token is a cache, not a credential
                self._fall_back(exc)
            else:
                self._memory = WsToken.from_json(raw) if raw else None
                if self._memory is not None:
                    register_secret(self._memory.token)
        return self._memory

    async def save(self, token: WsToken) -> None:
        self._memory = token
        register_secret(token.token)
        if self.in_keyring:
            try:
                await asyncio.to_thread(_set, self.username, token.to_json())
            except Exception as exc:
                self._fall_back(exc)

    async def discard(self) -> None:
        self._memory = None
        if self.in_keyring:
            try:
                await asyncio.to_thread(_delete, self.username)
            except keyring.errors.PasswordDeleteError:
                pass  # nothing stored
            except Exception as exc:
                self._fall_back(exc)

    def _fall_back(self, exc: Exception) -> None:
        self.in_keyring = False
        # The exception's type only: some backends put the value they were given in the message.
        log.warning(
            "%s: no usable keyring (%s); keeping the Bitstamp websocket token in memory",
            self.account_id,
            type(exc).__name__,
        )


def _get(user: str) -> str | None:
    return secure_backend().get_password(TOKEN_SERVICE, user)


def _set(user: str, value: str) -> None:
    secure_backend().set_password(TOKEN_SERVICE, user, value)


def _delete(user: str) -> None:
    secure_backend().delete_password(TOKEN_SERVICE, user)
