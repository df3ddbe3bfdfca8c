"""Secrets in the real Secret Service (gnome-keyring on the test session bus), and the `accounts`
command that stores them, run as a user would: a real process, real stdin, real keyring."""

import json
import subprocess
import sys

import keyring
import pytest

from streams.credentials import (
    SERVICE,
    CredentialsError,
    delete_credentials,
    delete_token,
    load_credentials,
    load_token,
    secure_backend,
    store_credentials,
    store_token,
)

SECRETS = {"api_key": "AK-recognisable-1234", "api_secret": "SK-recognisable-5678", "email": "me@example.com"}


@pytest.fixture(autouse=True)
def real_secret_service():
    backend = secure_backend()
    assert type(backend).__module__ == "keyring.backends.SecretService", (
        f"these tests need a running Secret Service (run them with .ci/test); got {keyring.get_keyring()!r}"
    )


def cli(*args, stdin=""):
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def secret_tool_lookup(account_id):
    done = subprocess.run(
        ["secret-tool", "lookup", "service", SERVICE, "username", account_id], capture_output=True, text=True
    )
    return done.stdout


def test_round_trip_through_gnome_keyring():
    store_credentials("rt-1", SECRETS)
    try:
        assert json.loads(secret_tool_lookup("rt-1")) == SECRETS  # really in the keyring, not in memory
        loaded = load_credentials("rt-1", ("api_key", "api_secret", "email"))
        assert loaded["api_secret"] == SECRETS["api_secret"]
        assert SECRETS["api_secret"] not in repr(loaded) and SECRETS["api_key"] not in str(loaded)
    finally:
        delete_credentials("rt-1")
    assert secret_tool_lookup("rt-1") == ""
    with pytest.raises(
        CredentialsError, match="no keys in the keyring; run 'account-monitor accounts add rt-1"
    ):
        load_credentials("rt-1", ("api_key",))


def test_entry_missing_a_field_is_a_clear_error():
    store_credentials("rt-2", {"api_key": "k"})
    try:
        with pytest.raises(CredentialsError, match="lacks api_secret, email"):
            load_credentials("rt-2", ("api_key", "api_secret", "email"))
    finally:
        delete_credentials("rt-2")


def test_accounts_add_list_remove(tmp_path):
    config = str(tmp_path / "accounts.toml")
    added = cli(
        "--config",
        config,
        "accounts",
        "add",
        "cli-1",
        "--exchange",
        "bitopro",
        "--label",
        "Main",
        stdin=json.dumps({**SECRETS, "api_secret": SECRETS["api_secret"] + "\n"}),
    )
    assert added.returncode == 0, added.stderr
    try:
        assert (
            json.loads(secret_tool_lookup("cli-1"))["api_secret"] == SECRETS["api_secret"]
        )  # newline stripped
        text = (tmp_path / "accounts.toml").read_text()
        assert 'id = "cli-1"' in text and 'exchange = "bitopro"' in text
        listed = cli("--config", config, "accounts", "list", "--json")
        assert json.loads(listed.stdout) == {
            "id": "cli-1",
            "exchange": "bitopro",
            "label": "Main",
            "keys": "stored",
            "enabled": True,
        }
        for output in (added.stdout, added.stderr, listed.stdout, listed.stderr, text):
            assert all(secret not in output for secret in SECRETS.values() if secret != "me@example.com")

        duplicate = cli(
            "--config", config, "accounts", "add", "cli-1", "--exchange", "coinw", stdin=json.dumps(SECRETS)
        )
        assert duplicate.returncode == 2 and "exists already" in duplicate.stderr
    finally:
        removed = cli("--config", config, "accounts", "remove", "cli-1")
    assert removed.returncode == 0, removed.stderr
    assert secret_tool_lookup("cli-1") == ""
    assert cli("--config", config, "accounts", "list").stdout == ""
    gone = cli("--config", config, "accounts", "remove", "cli-1")
    assert gone.returncode == 2 and "no account 'cli-1'" in gone.stderr


def test_accounts_add_with_missing_secret_saves_nothing(tmp_path):
    config = tmp_path / "accounts.toml"
    done = cli(
        "--config",
        str(config),
        "accounts",
        "add",
        "cli-2",
        "--exchange",
        "bitopro",
        stdin=json.dumps({"api_key": "k", "api_secret": "  "}),
    )
    assert done.returncode == 2
    assert "api_secret is missing or empty; email is missing or empty" in done.stderr
    assert not config.exists() and secret_tool_lookup("cli-2") == ""


def test_headless_with_a_missing_keyring_entry_exits_2_naming_the_account(tmp_path):
    config = tmp_path / "accounts.toml"
    config.write_text('[[account]]\nid = "nokeys"\nexchange = "bitopro"\n')
    done = cli("--config", str(config), "--headless", "--for", "1")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "account 'nokeys': no keys in the keyring; run 'account-monitor accounts add nokeys" in done.stderr


def test_tokens_live_in_the_keyring_with_their_expiry():
    token = "bitstamp-ws-token-abcdef123456"
    store_token("tok-1", "ws", token, expires_ms=2_000)
    try:
        stored = json.loads(
            subprocess.run(
                ["secret-tool", "lookup", "service", "account-monitor-token", "username", "tok-1/ws"],
                capture_output=True,
                text=True,
            ).stdout
        )
        assert stored == {"token": token, "expires_ms": 2_000}
        assert load_token("tok-1", "ws", now_ms=1_999) == token
        assert load_token("tok-1", "ws", now_ms=2_000) is None  # expired
        assert load_token("tok-1", "other", now_ms=0) is None
    finally:
        delete_token("tok-1", "ws")
    assert load_token("tok-1", "ws", now_ms=0) is None
