"""Secrets live in the OS keyring only: service `account-monitor`, user name = account id, value = a
JSON object whose members the exchange's spec names (`secret_fields`).

Only a secure keyring will do. `keyring` picks a backend by itself and may pick one that keeps secrets
in a plain file (keyrings.alt), keeps nothing (null) or has none (fail): those are refused with a message
that names the backend and says how to get a real one, unless the user opted in with
`--allow-insecure-keyring` (`allow_insecure_keyring(True)`). From a chain of backends only the secure
members are used. A locked keyring makes the Secret Service prompt the user to unlock it; if the prompt is
dismissed or cannot be shown, the error says so. Nothing secret is cached on disk by this module.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend

from streams.exchange import Credentials
from streams.redaction import register_secret

SERVICE = "account-monitor"
INSECURE_FLAG = "--allow-insecure-keyring"
_INSECURE = {  # module prefix -> why
    "keyring.backends.fail": "finds no keyring to use",
    "keyring.backends.null": "stores nothing",
    "keyrings.alt.file": "keeps secrets in a file in your home directory",
    "keyrings.alt": "is not an OS keyring",
}
_FIX = (
    "start a Secret Service in your desktop session (gnome-keyring or KWallet; on a server: "
    "'gnome-keyring-daemon --unlock --components=secrets' in a D-Bus session), or choose a secure "
    "backend with PYTHON_KEYRING_BACKEND"
)
log = logging.getLogger(__name__)
_allow_insecure = False
_warned: set[str] = set()


class CredentialsError(Exception):
    """The keyring has no usable entry for an account; the message says what to run."""


class InsecureKeyring(CredentialsError):
    """The keyring backend would not keep secrets safe (and the user did not opt in)."""


class KeyringLocked(CredentialsError):
    """The keyring is locked and was not unlocked (prompt dismissed or impossible)."""


def allow_insecure_keyring(allow: bool) -> None:
    """The user's explicit opt-in (`--allow-insecure-keyring`): use an insecure backend, loudly."""
    global _allow_insecure
    _allow_insecure = allow


def backend_name(backend: KeyringBackend) -> str:
    return f"{type(backend).__module__}.{type(backend).__name__}"


def _why_insecure(backend: KeyringBackend) -> str | None:
    module = type(backend).__module__
    for prefix, why in _INSECURE.items():
        if module == prefix or module.startswith(prefix + "."):
            return why
    return None


def _secret_service_problem() -> str:
    """Why the Secret Service backend is not usable here ('' where it is, or on other systems)."""
    if not sys.platform.startswith("linux"):
        return ""
    try:
        from keyring.backends import SecretService

        SecretService.Keyring.priority  # noqa: B018 - raises the reason when unusable
    except Exception as exc:
        return f" (Secret Service: {exc})"
    return ""


def secure_backend() -> KeyringBackend:
    """The backend to read and write secrets with; raises `InsecureKeyring` when there is no secure one."""
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # PYTHON_KEYRING_BACKEND or keyringrc names one that cannot load
        raise InsecureKeyring(f"the keyring backend cannot be loaded ({exc}); {_FIX}") from None
    members = list(backend.backends) if isinstance(backend, ChainerBackend) else [backend]
    secure = [b for b in members if _why_insecure(b) is None]
    if secure:
        return backend if len(secure) == len(members) else secure[0]
    insecure = members or [backend]
    reasons = "; ".join(f"{backend_name(b)} {_why_insecure(b) or 'is empty'}" for b in insecure)
    if _allow_insecure and any(_why_insecure(b) != _INSECURE["keyring.backends.fail"] for b in insecure):
        if reasons not in _warned:
            _warned.add(reasons)
            log.warning("INSECURE KEYRING, allowed by %s: %s", INSECURE_FLAG, reasons)
        return backend
    if _allow_insecure:  # the fail backend: nothing to opt into
        raise InsecureKeyring(f"no keyring to store secrets in: {reasons}{_secret_service_problem()}; {_FIX}")
    raise InsecureKeyring(
        f"refusing an insecure keyring: {reasons}{_secret_service_problem()}; {_FIX}; "
        f"or, to keep secrets there anyway, pass {INSECURE_FLAG}"
    )


@contextlib.contextmanager
def _keyring_errors(account_id: str, doing: str):  # noqa: ANN202 - a plain context manager
    try:
        yield
    except keyring.errors.KeyringLocked:
        raise KeyringLocked(
            f"account {account_id!r}: the keyring is locked and was not unlocked; unlock it when your "
            "desktop asks for the keyring password (or in Passwords and Keys / KWalletManager), then try again"
        ) from None
    except keyring.errors.InitError as exc:
        raise KeyringLocked(
            f"account {account_id!r}: the keyring could not be opened ({exc}); unlock or create it when your "
            "desktop asks, then try again"
        ) from None
    except keyring.errors.KeyringError as exc:
        raise CredentialsError(f"account {account_id!r}: the keyring cannot be {doing} ({exc})") from None


def load_credentials(account_id: str, fields: tuple[str, ...]) -> Credentials:
    with _keyring_errors(account_id, "read"):
        raw = secure_backend().get_password(SERVICE, account_id)
    if raw is None:
        raise CredentialsError(
            f"account {account_id!r}: no keys in the keyring; run "
            f"'account-monitor accounts add {account_id} --exchange ...' to store them"
        )
    try:
        values = json.loads(raw)
    except ValueError:
        values = None
    if not isinstance(values, dict):
        raise CredentialsError(
            f"account {account_id!r}: the keyring entry is not a JSON object; add it again"
        )
    register_secret(*(v for v in values.values() if isinstance(v, str)))
    missing = [f for f in fields if not isinstance(values.get(f), str) or not values[f]]
    if missing:
        raise CredentialsError(
            f"account {account_id!r}: the keyring entry lacks {', '.join(missing)}; add it again"
        )
    return Credentials({f: values[f] for f in fields})


def read_entry(account_id: str) -> str | None:
    """The raw keyring entry (for a rollback), or None."""
    with _keyring_errors(account_id, "read"):
        return secure_backend().get_password(SERVICE, account_id)


def write_entry(account_id: str, raw: str | None) -> None:
    """Put a raw entry back (None: delete), as it was before a failed change."""
    if raw is None:
        delete_credentials(account_id)
    else:
        with _keyring_errors(account_id, "written"):
            secure_backend().set_password(SERVICE, account_id, raw)


def store_credentials(account_id: str, values: dict[str, str]) -> None:
    register_secret(*values.values())
    with _keyring_errors(account_id, "written"):
        secure_backend().set_password(SERVICE, account_id, json.dumps(values))


def delete_credentials(account_id: str) -> None:
    with _keyring_errors(account_id, "changed"), contextlib.suppress(keyring.errors.PasswordDeleteError):
        secure_backend().delete_password(SERVICE, account_id)


# ---------------------------------------------------------------------- short-lived tokens

TOKEN_SERVICE = "account-monitor-token"


def store_token(account_id: str, kind: str, token: str, expires_ms: int) -> None:
    """Keep a token an exchange issued (Bitstamp's WebSocket token, a listenKey) in the keyring with its
    expiry, like the account's secrets: never in a file. It is registered with the redactor too."""
    register_secret(token)
    raw = json.dumps({"token": token, "expires_ms": expires_ms})
    with _keyring_errors(account_id, "written"):
        secure_backend().set_password(TOKEN_SERVICE, f"{account_id}/{kind}", raw)


def load_token(account_id: str, kind: str, now_ms: int) -> str | None:
    """The stored token while it is valid at `now_ms`; None when there is none or it expired."""
    with _keyring_errors(account_id, "read"):
        raw = secure_backend().get_password(TOKEN_SERVICE, f"{account_id}/{kind}")
    try:
        entry = json.loads(raw) if raw else None
    except ValueError:
        entry = None
    if not isinstance(entry, dict) or not isinstance(entry.get("token"), str):
        return None
    register_secret(entry["token"])
    expires = entry.get("expires_ms")
    return entry["token"] if isinstance(expires, int) and now_ms < expires else None


def delete_token(account_id: str, kind: str) -> None:
    with _keyring_errors(account_id, "changed"), contextlib.suppress(keyring.errors.PasswordDeleteError):
        secure_backend().delete_password(TOKEN_SERVICE, f"{account_id}/{kind}")
