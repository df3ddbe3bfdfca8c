"""The PyInstaller app, as a user gets it: the tarball unpacked somewhere else, started with a clean
environment (no venv, no checkout), headless and in a window, with the real Secret Service.

Needs `bash packaging/build` first; `bash packaging/test` does both.
"""

import configparser
import shutil
import struct
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
from app_checks import ROOT, check_headless_output, check_window, clean_env, report, time_to_first_line

import streams

VERSION = streams.__version__
DIST = ROOT / "dist"


@pytest.fixture(scope="module")
def appdir(tmp_path_factory):
    tarballs = sorted(DIST.glob(f"account-monitor-{VERSION}-linux-*.tar.gz"))
    assert tarballs, f"no app tarball in {DIST}: run 'bash packaging/build' first"
    target = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(tarballs[-1]) as archive:
        archive.extractall(target, filter="tar")
    return target / "AccountMonitor.AppDir"


@pytest.fixture
def env(tmp_path):
    return clean_env(tmp_path / "home")


def test_version(appdir, env, tmp_path):
    done = subprocess.run(
        [appdir / "AppRun", "--version"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"account-monitor {VERSION}\n"


def test_headless_demo_keeps_the_json_contract(appdir, env, tmp_path):
    started = time.monotonic()
    done = subprocess.run(
        [appdir / "AppRun", "--headless", "--demo", "--for", "5"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    counts = check_headless_output(done.stdout)
    report(f"bundle: --headless --demo --for 5 ran {elapsed:.1f} s, printed {counts}")


def test_startup_time_to_first_json_line(appdir, env, tmp_path):
    """A figure for the report, not an assertion (the machine is shared)."""
    times = [time_to_first_line([str(appdir / "AppRun")], env, tmp_path) for _ in range(3)]
    report("bundle: start to first JSON line, 3 runs: " + ", ".join(f"{t:.2f} s" for t in times))


def test_window_opens_with_icon_and_closes_on_sigterm(appdir, env, tmp_path):
    shot = DIST / "screenshot-bundle.png"
    seen = check_window([str(appdir / "AppRun")], env, tmp_path, shot)
    report(
        f"bundle: window {seen['width']}x{seen['height']}, {seen['notifications']} notification(s), screenshot in {shot}"
    )


def test_keys_go_to_the_secret_service(appdir, env, tmp_path):
    """keyring finds its backends through package metadata: a bundle without it would fail here
    (or worse, fall back to no keyring). secret-tool reads the entry back from gnome-keyring."""
    app = [appdir / "AppRun"]  # the default config path: $XDG_CONFIG_HOME/account-monitor/accounts.toml
    account = f"bundle-{time.monotonic_ns()}"
    secret = '{"api_key": "k-bundle", "api_secret": "s-bundle", "email": "user@example.com"}'

    def run(*args, stdin=""):
        return subprocess.run(
            [*app, *args], input=stdin, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
        )

    added = run("accounts", "add", account, "--exchange", "bitopro", stdin=secret)
    assert added.returncode == 0, added.stderr
    try:
        listed = run("accounts", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert f'"id": "{account}"' in listed.stdout and '"keys": "stored"' in listed.stdout
        config = Path(env["XDG_CONFIG_HOME"]) / "account-monitor" / "accounts.toml"
        assert f'id = "{account}"' in config.read_text()
        stored = subprocess.run(
            ["secret-tool", "lookup", "service", "account-monitor", "username", account],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert '"api_key": "k-bundle"' in stored.stdout
    finally:
        removed = run("accounts", "remove", account)
    assert removed.returncode == 0, removed.stderr


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", header[16:24])


def test_desktop_file_and_icons(appdir):
    desktop = appdir / "usr/share/applications/account-monitor.desktop"
    assert shutil.which("desktop-file-validate"), "packaging/test installs desktop-file-utils"
    checked = subprocess.run(["desktop-file-validate", desktop], capture_output=True, text=True)
    assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout + checked.stderr
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(desktop)
    section = entry["Desktop Entry"]
    assert (appdir / "usr/bin" / section["Exec"].split()[0]).resolve().is_file()
    assert section["StartupWMClass"] == "account-monitor"  # what Qt sets as WM_CLASS (checked above)
    icons = appdir / "usr/share/icons/hicolor"
    for size in (16, 32, 48, 64, 128, 256, 512):
        assert png_size(icons / f"{size}x{size}/apps/{section['Icon']}.png") == (size, size)
    assert (icons / f"scalable/apps/{section['Icon']}.svg").is_file()
    assert (appdir / ".DirIcon").resolve() == (icons / "256x256/apps/account-monitor.png").resolve()
    assert (appdir / "account-monitor.desktop").resolve() == desktop.resolve()
