"""Adding, changing and removing accounts, for the `accounts` command and the GUI's accounts dialog alike.

Input is checked field by field (`AccountInputError.errors`: field -> short message, shown beside the
field in the dialog, joined into one line by the CLI). Writes never leave half a change: the keyring is
written first, then the config file; if the config write fails, the keyring entry is put back as it was.
Removal goes the other way (config first), so a failure can leave an unused keyring entry but never an
account without its keys.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from streams import credentials
from streams.config import KNOWN_EXCHANGES, SECRET_FIELDS, AccountConfig, load_config, save_config
from streams.exchanges import EXCHANGES

FIELD_LABELS = {"api_key": "API key", "api_secret": "API secret", "email": "Account e-mail", "jwt": "JWT"}
JWT_FIELDS = frozenset({"jwt"})
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")
_MARKET = re.compile(r"^[A-Z0-9]+/[A-Z0-9]+$")


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name, name.replace("_", " ").capitalize())


class AccountInputError(Exception):
    """Bad input, field by field: `errors` maps a field name ("id", "api_secret", ...) to a message that
    reads after the field's name ("is empty"); the empty name holds an error about no one field."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{name} {message}".strip() for name, message in self.errors.items()))


@dataclass(frozen=True, slots=True)
class CleanSecrets:
    """Secrets ready to store, and what was changed on the way (shown to the user, never the values)."""

    values: dict[str, str]
    notes: dict[str, str] = field(default_factory=dict)


def clean_secrets(exchange: str, raw: dict[str, object]) -> CleanSecrets:
    """The exchange's secret fields, stripped of surrounding spaces and line breaks (pasted secrets often
    end in a newline: removed, and said so). Empty, inner whitespace, a JWT that is not one: errors."""
    values: dict[str, str] = {}
    notes: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name in SECRET_FIELDS[exchange]:
        text = raw.get(name)
        value = text.strip() if isinstance(text, str) else ""
        if not value:
            errors[name] = "is missing or empty"
            continue
        assert isinstance(text, str)
        if value != text:
            removed = text[: len(text) - len(text.lstrip())] + text[len(text.rstrip()) :]
            kind = "a line break" if any(c in removed for c in "\r\n") else "spaces"
            notes[name] = f"had {kind} around it, removed"
        problem = _problem(name, value)
        if problem:
            errors[name] = problem
        values[name] = value
    if errors:
        raise AccountInputError(errors)
    return CleanSecrets(values, notes)


def _problem(name: str, value: str) -> str | None:
    if any(c.isspace() for c in value):
        return "contains a space or line break inside; paste it again"
    if name in JWT_FIELDS:
        return jwt_problem(value)
    if name == "email" and not re.fullmatch(r"[^@]+@[^@]+\.[^@]+", value):
        return "is not an e-mail address"
    return None


def jwt_problem(value: str) -> str | None:
    """Why `value` is not a JWT (three base64url parts, the first a JSON header with "alg"), or None."""
    parts = value.split(".")
    if len(parts) != 3 or not all(parts):
        return "is not a JWT: a JWT is three base64url parts separated by dots"
    if not all(_BASE64URL.match(p) for p in parts):
        return "is not a JWT: it has characters that base64url does not use"
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except (binascii.Error, ValueError):
        return "is not a JWT: its first part is not a base64url JSON header"
    if not isinstance(header, dict) or "alg" not in header:
        return "is not a JWT: its header has no 'alg'"
    return None


def check_account(account: AccountConfig, others: list[AccountConfig]) -> AccountConfig:
    """The account as it will be saved (id stripped, markets upper-case); raises AccountInputError.
    `others` are the accounts it must not clash with (all others when editing)."""
    errors: dict[str, str] = {}
    account_id = account.id.strip()
    if not account_id:
        errors["id"] = "is empty"
    elif any(c.isspace() for c in account_id):
        errors["id"] = "must not contain spaces (it is also the keyring user name)"
    elif any(a.id == account_id for a in others):
        errors["id"] = f"{account_id!r} exists already; pick another id"
    if account.exchange not in KNOWN_EXCHANGES:
        errors["exchange"] = f"{account.exchange!r} is not one of {', '.join(KNOWN_EXCHANGES)}"
    if account.ws_url and not account.ws_url.startswith(("ws://", "wss://")):
        errors["ws_url"] = "must start with ws:// or wss://"
    if account.rest_url and not account.rest_url.startswith(("http://", "https://")):
        errors["rest_url"] = "must start with http:// or https://"
    markets = tuple(m.strip().upper() for m in account.markets if m.strip())
    bad = [m for m in markets if not _MARKET.match(m)]
    if bad:
        errors["markets"] = f"must be written BASE/QUOTE, such as BTC/USDT (not {', '.join(bad)})"
    if errors:
        raise AccountInputError(errors)
    return replace(
        account,
        id=account_id,
        label=account.label.strip(),
        ws_url=account.ws_url or None,
        rest_url=account.rest_url or None,
        markets=markets,
    )


def add_account(path: Path, account: AccountConfig, secrets: dict[str, str]) -> AccountConfig:
    """Store the secrets, then append the account to the config; nothing is left if either fails."""
    accounts = load_config(path)
    account = check_account(account, accounts)
    previous = credentials.read_entry(account.id)  # a leftover entry of an account removed by hand
    credentials.store_credentials(account.id, secrets)
    try:
        save_config(path, [*accounts, account])
    except BaseException:
        credentials.write_entry(account.id, previous)
        raise
    return account


def update_account(
    path: Path, old_id: str, account: AccountConfig, secrets: dict[str, str] | None
) -> AccountConfig:
    """Change an account (its id too); `secrets` None keeps the stored ones. Keyring first, config second,
    the keyring restored if the config cannot be written; the old id's entry goes last."""
    accounts = load_config(path)
    index = _index(path, accounts, old_id)
    account = check_account(account, accounts[:index] + accounts[index + 1 :])
    moved = account.id != old_id
    previous = credentials.read_entry(account.id) if secrets is not None or moved else None
    if secrets is not None:
        credentials.store_credentials(account.id, secrets)
    elif moved:
        credentials.write_entry(account.id, credentials.read_entry(old_id))
    try:
        save_config(path, [*accounts[:index], account, *accounts[index + 1 :]])
    except BaseException:
        if secrets is not None or moved:
            credentials.write_entry(account.id, previous)
        raise
    if moved:
        credentials.delete_credentials(old_id)
    return account


def remove_account(path: Path, account_id: str) -> None:
    accounts = load_config(path)
    index = _index(path, accounts, account_id)
    save_config(path, [a for a in accounts if a.id != account_id])
    credentials.delete_credentials(account_id)
    spec = EXCHANGES.get(accounts[index].exchange)
    for kind in spec.token_kinds if spec else ():
        credentials.delete_token(account_id, kind)


def set_enabled(path: Path, account_id: str, enabled: bool) -> AccountConfig:
    accounts = load_config(path)
    index = _index(path, accounts, account_id)
    accounts[index] = replace(accounts[index], enabled=enabled)
    save_config(path, accounts)
    return accounts[index]


def _index(path: Path, accounts: list[AccountConfig], account_id: str) -> int:
    for index, account in enumerate(accounts):
        if account.id == account_id:
            return index
    raise AccountInputError(
        {"": f"{path}: no account {account_id!r}; 'account-monitor accounts list' shows them"}
    )
