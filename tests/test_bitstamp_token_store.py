"""The websocket token in the real Secret Service (gnome-keyring on the test session bus, see
.ci/test), and the memory fallback when there is no usable keyring."""

import json
import logging
import subprocess
import uuid

import keyring
import keyring.backends.fail
import pytest

from streams.credentials import TOKEN_SERVICE, secure_backend
from streams.exchanges.bitstamp.token_store import TokenStore, WsToken, username


@pytest.fixture
def account_id():
    name = f"tok-{uuid.uuid4().hex[:8]}"
    yield name
    subprocess.run(
        ["secret-tool", "clear", "service", TOKEN_SERVICE, "username", username(name)], check=False
    )


def secret_tool_lookup(account_id):
    done = subprocess.run(
        ["secret-tool", "lookup", "service", TOKEN_SERVICE, "username", username(account_id)],
        capture_output=True,
        text=True,
    )
    return done.stdout


@pytest.fixture
def real_secret_service():
    backend = secure_backend()
    assert type(backend).__module__ == "keyring.backends.SecretService", (
        f"these tests need a running Secret Service (run them with .ci/test); got {backend!r}"
    )


@pytest.fixture
def no_keyring():
    before = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(before)


async def test_round_trip_through_gnome_keyring(real_secret_service, account_id):
    store = TokenStore(account_id)
    assert await store.load() is None
    token = WsToken("siPaT4m6VGQCdsDCVbLBemiphHQs552e", "4848701", 1_700_000_060_000)
    await store.save(token)
    assert json.loads(secret_tool_lookup(account_id)) == {
        "token": "siPaT4m6VGQCdsDCVbLBemiphHQs552e",
        "user_id": "4848701",
        "expires_ms": 1_700_000_060_000,
    }
    assert await TokenStore(account_id).load() == token  # a new store (a restart) reads it back
    await store.discard()
    assert secret_tool_lookup(account_id) == ""
    await store.discard()  # nothing stored: no error
    assert store.in_keyring


async def test_an_unreadable_entry_is_no_token(real_secret_service, account_id):
    for junk in ("not json", "[]", '{"token": 5, "user_id": 1, "expires_ms": 1}', '{"token": "t"}'):
        secure_backend().set_password(TOKEN_SERVICE, username(account_id), junk)
        assert await TokenStore(account_id).load() is None


def test_the_token_is_not_in_its_repr():
    token = WsToken("siPaT4m6VGQCdsDCVbLBemiphHQs552e", "1", 2)
    assert "siPaT4m6" not in repr(token) and "siPaT4m6" not in str(token)
    assert token.valid_for_ms(1) == 1


async def test_without_a_keyring_the_token_lives_in_memory_and_that_is_logged_once(no_keyring, caplog):
    caplog.set_level(logging.WARNING)
    store = TokenStore("nokeyring")
    token = WsToken("secret-token-value", "7", 99)
    await store.save(token)
    assert await store.load() == token
    await store.discard()
    assert await store.load() is None
    await store.save(token)
    warnings = [r for r in caplog.records if "no usable keyring" in r.getMessage()]
    assert len(warnings) == 1 and not store.in_keyring
    assert "InsecureKeyring" in warnings[0].getMessage()  # the fail backend is refused as insecure
    assert "secret-token-value" not in caplog.text
