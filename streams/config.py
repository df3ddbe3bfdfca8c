"""The accounts file: TOML in the platform's config dir, one `[[account]]` table per account.

Secrets never go here (they live in the keyring, see `streams.credentials`). Errors name the file and
the account and say what to do, because users edit this file by hand.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import tomli_w

APP_NAME = "account-monitor"
# The keyring JSON members of each exchange: part of the documented contract (README, `accounts add`).
SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "bitopro": ("api_key", "api_secret", "email"),
    "coinw": ("api_key", "api_secret"),
    "coinsph": ("api_key", "api_secret"),
    "bitstamp": ("api_key", "api_secret"),
    "bitzoom": ("jwt",),
}
KNOWN_EXCHANGES = tuple(SECRET_FIELDS)
_KEYS = {"id", "exchange", "label", "ws_url", "rest_url", "markets", "enabled"}


class ConfigError(Exception):
    """The config file cannot be used as it is; the message says where and what to do."""


@dataclass(frozen=True, slots=True)
class AccountConfig:
    id: str
    exchange: str
    label: str = ""
    ws_url: str | None = None
    rest_url: str | None = None
    markets: tuple[str, ...] = ()
    enabled: bool = True  # a disabled account stays in the file but is not run (no tab, no JSON lines)
    # A demo account on a local simulator (never read from nor written to the file): nothing of it is
    # kept after the run, neither a token in the keyring nor a fill in the user's ledger.
    simulated: bool = False

    @property
    def title(self) -> str:
        return self.label or self.id


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "accounts.toml"


def load_config(path: Path) -> list[AccountConfig]:
    """Accounts from `path`; a missing file is no accounts."""
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file or move it away") from exc
    tables = data.get("account", [])
    if not isinstance(tables, list):
        raise ConfigError(f"{path}: 'account' must be an array of tables: write each as [[account]]")
    accounts: list[AccountConfig] = []
    for number, table in enumerate(tables, start=1):
        accounts.append(_account(path, number, table))
    seen: set[str] = set()
    for account in accounts:
        if account.id in seen:
            raise ConfigError(f"{path}: account id {account.id!r} is used twice; ids must be unique")
        seen.add(account.id)
    return accounts


def _account(path: Path, number: int, table: object) -> AccountConfig:
    where = f"{path}: account #{number}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table ([[account]])")
    account_id = table.get("id")
    if not isinstance(account_id, str) or not account_id.strip():
        raise ConfigError(f"{where}: needs an 'id' (a non-empty string)")
    where = f"{path}: account {account_id!r}"
    exchange = table.get("exchange")
    if exchange not in KNOWN_EXCHANGES:
        raise ConfigError(f"{where}: unknown exchange {exchange!r}; use one of {', '.join(KNOWN_EXCHANGES)}")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_KEYS))}"
        )
    for key in ("label", "ws_url", "rest_url"):
        if key in table and not isinstance(table[key], str):
            raise ConfigError(f"{where}: {key!r} must be a string")
    if not isinstance(table.get("enabled", True), bool):
        raise ConfigError(f"{where}: 'enabled' must be true or false")
    markets = table.get("markets", [])
    if not isinstance(markets, list) or not all(isinstance(m, str) for m in markets):
        raise ConfigError(f"{where}: 'markets' must be a list of strings such as [\"BTC/USDT\"]")
    return AccountConfig(
        id=account_id,
        exchange=exchange,
        label=table.get("label", ""),
        ws_url=table.get("ws_url"),
        rest_url=table.get("rest_url"),
        markets=tuple(m.upper() for m in markets),
        enabled=table.get("enabled", True),
    )


def save_config(path: Path, accounts: list[AccountConfig]) -> None:
    """Write `accounts` back, atomically (a crash mid-write leaves the old file)."""
    tables = []
    for account in accounts:
        table: dict[str, object] = {"id": account.id, "exchange": account.exchange, "label": account.label}
        if account.ws_url:
            table["ws_url"] = account.ws_url
        if account.rest_url:
            table["rest_url"] = account.rest_url
        if account.markets:
            table["markets"] = list(account.markets)
        if not account.enabled:
            table["enabled"] = False  # written only when false: files of older versions stay as they were
        tables.append(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(tomli_w.dumps({"account": tables}), encoding="utf-8")
    tmp.replace(path)
