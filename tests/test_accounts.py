"""Adding, changing and removing accounts: input checked field by field, and never half a change saved
(the real gnome-keyring and real files; a config write is made to fail by a directory in its way)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest

from streams import accounts, credentials
from streams.accounts import AccountInputError, add_account, clean_secrets, jwt_problem, update_account
from streams.app import configured_accounts
from streams.config import AccountConfig, ConfigError, load_config, save_config
from streams.model import now_ms

SECRETS = {"api_key": "AK-accounts-test-1", "api_secret": "SK-accounts-test-2", "email": "me@example.com"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


GOOD_JWT = ".".join([b64url(b'{"alg":"HS256","typ":"JWT"}'), b64url(b'{"sub":"42"}'), b64url(b"sig-bytes")])


def entry(account_id: str) -> dict | None:
    raw = credentials.read_entry(account_id)
    return None if raw is None else json.loads(raw)


@pytest.fixture
def cleanup():
    ids: list[str] = []
    yield ids
    for account_id in ids:
        credentials.delete_credentials(account_id)


# ---------------------------------------------------------------------------- input


def test_a_trailing_newline_is_stripped_and_said():
    cleaned = clean_secrets(
        "bitopro", {**SECRETS, "api_secret": SECRETS["api_secret"] + "\r\n", "api_key": " k-123456 "}
    )
    assert cleaned.values == {**SECRETS, "api_key": "k-123456"}
    assert cleaned.notes == {
        "api_secret": "had a line break around it, removed",
        "api_key": "had spaces around it, removed",
    }


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        (
            {"api_key": "", "api_secret": "  \n", "email": "a@b.c"},
            {"api_key": "is missing or empty", "api_secret": "is missing or empty"},
        ),
        (
            {"api_key": "two words", "api_secret": "s", "email": "not-an-email"},
            {
                "api_key": "contains a space or line break inside; paste it again",
                "email": "is not an e-mail address",
            },
        ),
        ({"api_key": 5, "api_secret": "s", "email": "a@b.c"}, {"api_key": "is missing or empty"}),
    ],
)
def test_bad_secrets_are_named_field_by_field(values, errors):
    with pytest.raises(AccountInputError) as error:
        clean_secrets("bitopro", values)
    assert error.value.errors == errors


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (GOOD_JWT, None),
        ("abc.def", "three base64url parts"),
        ("a..c", "three base64url parts"),
        ("ab+c.def.ghi", "characters that base64url does not use"),
        (f"{b64url(b'not json')}.{b64url(b'{}')}.c2ln", "not a base64url JSON header"),
        (f"{b64url(b'[1]')}.{b64url(b'{}')}.c2ln", "no 'alg'"),
    ],
)
def test_a_jwt_must_look_like_one(value, problem):
    found = jwt_problem(value)
    assert found is None if problem is None else problem in found
    if problem is None:
        assert clean_secrets("bitzoom", {"jwt": value + "\n"}).values == {"jwt": value}
    else:
        with pytest.raises(AccountInputError) as error:
            clean_secrets("bitzoom", {"jwt": value})
        assert problem in error.value.errors["jwt"]


def test_account_fields_are_checked(tmp_path):
    others = [AccountConfig("main", "bitopro")]
    bad = AccountConfig(
        " main ", "kraken", ws_url="http://x", rest_url="ws://x", markets=("btc-usdt", "eth/usdt")
    )
    with pytest.raises(AccountInputError) as error:
        accounts.check_account(bad, others)
    assert error.value.errors == {
        "id": "'main' exists already; pick another id",
        "exchange": "'kraken' is not one of bitopro, coinw, coinsph, bitstamp, bitzoom",
        "ws_url": "must start with ws:// or wss://",
        "rest_url": "must start with http:// or https://",
        "markets": "must be written BASE/QUOTE, such as BTC/USDT (not BTC-USDT)",
    }
    good = accounts.check_account(
        AccountConfig(" second ", "bitopro", " Two ", markets=("eth/usdt",)), others
    )
    assert (good.id, good.label, good.markets) == ("second", "Two", ("ETH/USDT",))


# ---------------------------------------------------------------------------- writes


def block_config_writes(path):
    """The config's temporary file is a directory: save_config fails with an OSError, as a full disk would."""
    (path.parent / (path.name + ".tmp")).mkdir()


def test_add_puts_the_keyring_back_when_the_config_cannot_be_written(tmp_path, cleanup):
    path = tmp_path / "accounts.toml"
    cleanup.append("acc-rollback")
    credentials.store_credentials("acc-rollback", {"api_key": "leftover-from-before"})
    block_config_writes(path)
    with pytest.raises(OSError):
        add_account(path, AccountConfig("acc-rollback", "bitopro"), SECRETS)
    assert entry("acc-rollback") == {"api_key": "leftover-from-before"}  # as it was
    assert not path.exists()
    cleanup.append("acc-new")
    with pytest.raises(OSError):
        add_account(path, AccountConfig("acc-new", "bitopro"), SECRETS)
    assert entry("acc-new") is None


def test_update_renames_moves_the_keys_and_rolls_back(tmp_path, cleanup):
    path = tmp_path / "accounts.toml"
    cleanup += ["acc-a", "acc-b", "acc-c"]
    add_account(path, AccountConfig("acc-a", "bitopro", "A"), SECRETS)
    add_account(path, AccountConfig("acc-b", "bitopro", "B"), SECRETS)
    with pytest.raises(AccountInputError) as error:
        update_account(path, "acc-a", AccountConfig("acc-b", "bitopro"), None)
    assert error.value.errors == {"id": "'acc-b' exists already; pick another id"}

    update_account(path, "acc-a", AccountConfig("acc-c", "bitopro", "C", markets=("BTC/USDT",)), None)
    assert [(a.id, a.label) for a in load_config(path)] == [("acc-c", "C"), ("acc-b", "B")]
    assert entry("acc-c") == SECRETS and entry("acc-a") is None

    block_config_writes(path)
    new = {**SECRETS, "api_secret": "SK-changed-123"}
    with pytest.raises(OSError):
        update_account(path, "acc-c", AccountConfig("acc-c", "bitopro", "C2"), new)
    assert entry("acc-c") == SECRETS and load_config(path)[0].label == "C"
    with pytest.raises(OSError):
        update_account(path, "acc-c", AccountConfig("acc-d", "bitopro"), None)
    cleanup.append("acc-d")
    assert entry("acc-d") is None and entry("acc-c") == SECRETS


def test_enabled_flag_round_trips_and_disabled_accounts_do_not_run(tmp_path, cleanup):
    path = tmp_path / "accounts.toml"
    cleanup += ["acc-on", "acc-off"]
    add_account(path, AccountConfig("acc-on", "bitopro"), SECRETS)
    add_account(path, AccountConfig("acc-off", "bitopro"), SECRETS)
    accounts.set_enabled(path, "acc-off", False)
    text = path.read_text()
    assert text.count("enabled") == 1 and "enabled = false" in text  # older files stay as they were
    assert [a.enabled for a in load_config(path)] == [True, False]
    assert [e.config.id for e in configured_accounts(path)] == ["acc-on"]
    save_config(path, load_config(path))
    assert path.read_text() == text
    path.write_text('[[account]]\nid = "x"\nexchange = "bitopro"\nenabled = "no"\n')
    with pytest.raises(ConfigError, match="'enabled' must be true or false"):
        load_config(path)


def test_cli_enable_disable_and_list(tmp_path, cleanup):
    path = str(tmp_path / "accounts.toml")
    cleanup.append("acc-cli")

    def cli(*args, stdin=""):
        return subprocess.run([sys.executable, "-m", "streams.cli", "--config", path, *args],
                              input=stdin, capture_output=True, text=True, timeout=60)  # fmt: skip

    added = cli(
        "accounts",
        "add",
        "acc-cli",
        "--exchange",
        "bitopro",
        stdin=json.dumps({**SECRETS, "email": "me@example.com\n"}),
    )
    assert added.returncode == 0, added.stderr
    assert added.stderr == "account-monitor: note: email had a line break around it, removed\n"
    assert cli("accounts", "disable", "acc-cli").stdout == "disabled acc-cli\n"
    assert cli("accounts", "list").stdout == "acc-cli\tbitopro\t-\tkeys stored\tdisabled\n"
    assert json.loads(cli("accounts", "list", "--json").stdout)["enabled"] is False
    headless = cli("--headless", "--for", "1")
    assert (
        headless.returncode == 2
        and "every account in" in headless.stderr
        and "is disabled" in headless.stderr
    )
    assert cli("accounts", "enable", "acc-cli").stdout == "enabled acc-cli\n"
    assert json.loads(cli("accounts", "list", "--json").stdout)["enabled"] is True
    missing = cli("accounts", "disable", "nope")
    assert missing.returncode == 2 and "no account 'nope'" in missing.stderr


def test_remove_also_forgets_the_exchange_tokens_kept_for_the_account(tmp_path, cleanup):
    """Bitstamp's websocket token lives in the keyring beside the keys; removing the account takes both."""
    path = tmp_path / "accounts.toml"
    add_account(path, AccountConfig("stamp-gone", "bitstamp"), {"api_key": "k" * 16, "api_secret": "s" * 16})
    credentials.store_token("stamp-gone", "bitstamp-ws-token", "tok-to-forget", now_ms() + 60_000)
    assert credentials.load_token("stamp-gone", "bitstamp-ws-token", now_ms()) == "tok-to-forget"
    accounts.remove_account(path, "stamp-gone")
    assert credentials.load_token("stamp-gone", "bitstamp-ws-token", now_ms()) is None
    assert entry("stamp-gone") is None
