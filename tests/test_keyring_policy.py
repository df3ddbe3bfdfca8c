"""Only a secure keyring is used: real insecure backends (fail, null, keyrings.alt's plain and encrypted
files) are refused in a real process, unless the user opts in loudly; a chain keeps its secure members
only; a locked gnome-keyring gives a clear error and works once unlocked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keyring
import pytest
from keyring.backends.chainer import ChainerBackend

from streams.credentials import (
    SERVICE,
    InsecureKeyring,
    backend_name,
    delete_credentials,
    secure_backend,
    store_credentials,
)

SECRETS = {"api_key": "AK-policy-test-1234", "api_secret": "SK-policy-test-5678", "email": "p@example.com"}


def cli(*args, env_changes=None, drop=(), stdin=""):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_changes or {})
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def add(config, *flags, **kwargs):
    return cli(
        "--config", str(config), *flags, "accounts", "add", "policy-1", "--exchange", "bitopro",
        stdin=json.dumps(SECRETS), **kwargs,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("backend", "why"),
    [
        ("keyring.backends.fail.Keyring", "finds no keyring to use"),
        ("keyring.backends.null.Keyring", "stores nothing"),
        ("keyrings.alt.file.PlaintextKeyring", "keeps secrets in a file"),
    ],
)
def test_an_insecure_backend_is_refused_naming_it_and_the_fix(tmp_path, backend, why):
    config = tmp_path / "accounts.toml"
    done = add(config, env_changes={"PYTHON_KEYRING_BACKEND": backend, "XDG_DATA_HOME": str(tmp_path)})
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert f"refusing an insecure keyring: {backend} {why}" in line
    assert "start a Secret Service" in line and "gnome-keyring or KWallet" in line
    assert "--allow-insecure-keyring" in line
    assert not config.exists()  # nothing saved half-way
    assert not list(tmp_path.rglob("*.cfg"))  # and no keyring file written


def test_the_opt_in_flag_uses_a_plain_file_loudly_and_fail_stays_refused(tmp_path):
    config = tmp_path / "accounts.toml"
    plain = {"PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring", "XDG_DATA_HOME": str(tmp_path)}
    done = add(config, "--allow-insecure-keyring", env_changes=plain)
    assert done.returncode == 0, done.stderr
    assert "WARNING" in done.stderr and "INSECURE KEYRING" in done.stderr
    assert "keyrings.alt.file.PlaintextKeyring keeps secrets in a file" in done.stderr
    stored = list(tmp_path.rglob("keyring_pass.cfg"))
    assert len(stored) == 1 and "policy_2d1" in stored[0].read_text()  # keyrings.alt escapes the id
    listed = cli("--config", str(config), "--allow-insecure-keyring", "accounts", "list", env_changes=plain)
    assert listed.returncode == 0 and "keys stored" in listed.stdout
    refused = cli("--config", str(config), "accounts", "list", env_changes=plain)
    assert refused.returncode == 2 and "refusing an insecure keyring" in refused.stderr

    nothing = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    failed = add(tmp_path / "other.toml", "--allow-insecure-keyring", env_changes=nothing)
    assert failed.returncode == 2
    assert "no keyring to store secrets in: keyring.backends.fail.Keyring" in failed.stderr


def test_an_encrypted_file_backend_is_refused_too():
    from keyrings.alt.file import EncryptedKeyring

    before = keyring.get_keyring()
    keyring.set_keyring(EncryptedKeyring.__new__(EncryptedKeyring))  # its __init__ needs pycryptodome
    try:
        with pytest.raises(
            InsecureKeyring, match=r"refusing an insecure keyring: keyrings\.alt\.file\.EncryptedKeyring"
        ):
            store_credentials("policy-enc", SECRETS)
    finally:
        keyring.set_keyring(before)


def test_a_backend_that_cannot_load_is_one_clear_line(tmp_path):
    """EncryptedKeyring without pycryptodome raises on load: a line, not a traceback."""
    done = add(
        tmp_path / "a.toml", env_changes={"PYTHON_KEYRING_BACKEND": "keyrings.alt.file.EncryptedKeyring"}
    )
    assert done.returncode == 2
    assert done.stderr.startswith("account-monitor: the keyring backend cannot be loaded (")
    assert "start a Secret Service" in done.stderr and "Traceback" not in done.stderr


def test_no_session_bus_names_the_backend_and_the_reason(tmp_path):
    config = tmp_path / "accounts.toml"
    config.write_text('[[account]]\nid = "a"\nexchange = "bitopro"\n')
    done = cli(
        "--config", str(config), "--headless", "--for", "1",
        drop=("DBUS_SESSION_BUS_ADDRESS",), env_changes={"XDG_DATA_HOME": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert "refusing an insecure keyring" in done.stderr
    assert "DBUS_SESSION_BUS_ADDRESS is unset" in done.stderr and "start a Secret Service" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_chain_with_a_plain_file_uses_only_the_secret_service(tmp_path):
    """keyrings.alt installed beside gnome-keyring: keyring chains both; we use the Secret Service."""
    chain = keyring.get_keyring()
    assert isinstance(chain, ChainerBackend), (
        f"expected a chain (keyrings.alt is a test extra); got {chain!r}"
    )
    assert {backend_name(b) for b in chain.backends} >= {
        "keyring.backends.SecretService.Keyring",
        "keyrings.alt.file.PlaintextKeyring",
    }
    assert backend_name(secure_backend()) == "keyring.backends.SecretService.Keyring"
    store_credentials("policy-chain", SECRETS)
    try:
        found = subprocess.run(
            ["secret-tool", "lookup", "service", SERVICE, "username", "policy-chain"],
            capture_output=True,
            text=True,
        )
        assert json.loads(found.stdout) == SECRETS
        plain = next(b for b in chain.backends if "PlaintextKeyring" in backend_name(b))
        assert (
            not os.path.exists(plain.file_path) or "policy_2dchain" not in Path(plain.file_path).read_text()
        )
    finally:
        delete_credentials("policy-chain")


LOCKED_SCENARIO = textwrap.dedent(
    """
    import json, os, subprocess
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection
    import secretstorage
    from streams import credentials

    started = subprocess.run(["gnome-keyring-daemon", "--unlock", "--components=secrets"],
                             input=b"lock-test-pass", capture_output=True, check=True)
    for line in started.stdout.decode().splitlines():
        name, _, value = line.partition("=")
        os.environ[name] = value
    result = {}
    credentials.store_credentials("locked-1", {"api_key": "AK-locked-123456"})
    connection = secretstorage.dbus_init()
    collection = secretstorage.get_default_collection(connection)
    collection.lock()  # what the desktop does on screen lock or after a timeout
    result["locked"] = collection.is_locked()
    try:
        credentials.load_credentials("locked-1", ("api_key",))
        result["error"] = None
    except credentials.CredentialsError as exc:
        result["error"] = [type(exc).__name__, str(exc)]
    # The user types the keyring password (what the unlock prompt would do with it):
    bus = open_dbus_connection(bus="SESSION")
    service = DBusAddress("/org/freedesktop/secrets", bus_name="org.freedesktop.secrets",
                          interface="org.freedesktop.Secret.Service")
    _, session = bus.send_and_get_reply(new_method_call(service, "OpenSession", "sv", ("plain", ("s", "")))).body
    internal = DBusAddress("/org/freedesktop/secrets", bus_name="org.freedesktop.secrets",
                           interface="org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface")
    bus.send_and_get_reply(new_method_call(internal, "UnlockWithMasterPassword", "o(oayays)",
        (collection.collection_path, (session, b"", b"lock-test-pass", "text/plain"))))
    result["after_unlock"] = credentials.load_credentials("locked-1", ("api_key",))["api_key"]
    print(json.dumps(result))
    """
)


def test_a_locked_gnome_keyring_gives_a_clear_error_and_works_once_unlocked(tmp_path):
    """A private session bus with its own gnome-keyring, and no display: the daemon's unlock prompt
    cannot be shown (on a desktop the user would see it), which is a dismissed prompt to the app."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DISPLAY", "WAYLAND_DISPLAY", "GNOME_KEYRING_CONTROL"}
    }
    for name in ("XDG_RUNTIME_DIR", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        (tmp_path / name).mkdir(mode=0o700)
        env[name] = str(tmp_path / name)
    done = subprocess.run(
        ["dbus-run-session", "--", sys.executable, "-c", LOCKED_SCENARIO],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["locked"] is True
    kind, message = result["error"]
    assert kind == "KeyringLocked"
    assert message.startswith("account 'locked-1': the keyring is locked and was not unlocked; unlock it")
    assert result["after_unlock"] == "AK-locked-123456"
