"""Secrets live in the OS keyring only: service `account-monitor`, user name = account id, value = a
JSON object whose members the exchange's spec names (`secret_fields`)."""

from __future__ import annotations

import contextlib
import json

from streams.exchange import Credentials

# keyring is imported where it is used: it takes ~0.15 s to import, and `--demo` never needs it.

SERVICE = "account-monitor"


class CredentialsError(Exception):
    """The keyring has no usable entry for an account; the message says what to run."""


def load_credentials(account_id: str, fields: tuple[str, ...]) -> Credentials:
    import keyring
    import keyring.errors

    try:
        raw = keyring.get_password(SERVICE, account_id)
    except keyring.errors.KeyringError as exc:
        raise CredentialsError(f"account {account_id!r}: the keyring cannot be read ({exc})") from None
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
    missing = [f for f in fields if not isinstance(values.get(f), str) or not values[f]]
    if missing:
        raise CredentialsError(
            f"account {account_id!r}: the keyring entry lacks {', '.join(missing)}; add it again"
        )
    return Credentials({f: values[f] for f in fields})


def store_credentials(account_id: str, values: dict[str, str]) -> None:
    import keyring

    keyring.set_password(SERVICE, account_id, json.dumps(values))


def delete_credentials(account_id: str) -> None:
    import keyring
    import keyring.errors

    with contextlib.suppress(keyring.errors.PasswordDeleteError):  # nothing stored: not an error
        keyring.delete_password(SERVICE, account_id)
