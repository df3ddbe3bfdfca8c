"""`python -m build` (isolated, as a release would run it) makes a wheel and an sdist that install
into fresh venvs and run there, away from the checkout: headless on the demo, and the wheel's
install also in a window (which needs the icon from the package data).

Each fresh venv downloads the dependencies from PyPI (~90 MB; pip keeps no cache here).
"""

import subprocess
import sys
import time

import pytest
from app_checks import ROOT, check_headless_output, check_window, clean_env, report, time_to_first_line

import streams

VERSION = streams.__version__


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    out = tmp_path_factory.mktemp("dists")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report(f"python -m build (sdist, then wheel from it): {time.monotonic() - started:.0f} s")
    return out


def fresh_install(dists, tmp_path, pattern):
    """A new venv from the base interpreter, with only the one file installed into it."""
    (target,) = dists.glob(pattern)
    venv = tmp_path / "venv"
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", str(venv)], check=True, timeout=120)
    started = time.monotonic()
    done = subprocess.run(
        [venv / "bin/python", "-m", "pip", "install", "-q", "--disable-pip-version-check", target],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report(f"fresh venv: pip install {target.name}: {time.monotonic() - started:.0f} s")
    return venv


def run_headless(venv, tmp_path):
    env = clean_env(tmp_path / "home", (str(venv / "bin"),))
    done = subprocess.run(
        ["account-monitor", "--headless", "--demo", "--for", "5"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return check_headless_output(done.stdout), env


def test_wheel_installs_and_runs_headless_and_in_a_window(dists, tmp_path):
    venv = fresh_install(dists, tmp_path, f"account_monitor-{VERSION}-py3-none-any.whl")
    version = subprocess.run(
        [venv / "bin/account-monitor", "--version"], capture_output=True, text=True, timeout=60
    )
    assert version.stdout == f"account-monitor {VERSION}\n", version.stderr
    counts, env = run_headless(venv, tmp_path)
    report(f"wheel venv: --headless --demo --for 5 printed {counts}")
    times = [time_to_first_line(["account-monitor"], env, tmp_path) for _ in range(3)]
    report("wheel venv: start to first JSON line, 3 runs: " + ", ".join(f"{t:.2f} s" for t in times))
    seen = check_window(["account-monitor"], env, tmp_path, ROOT / "dist" / "screenshot-wheel.png")
    report(f"wheel venv: window {seen['width']}x{seen['height']}, {seen['notifications']} notification(s)")


def test_sdist_installs_and_runs_headless(dists, tmp_path):
    venv = fresh_install(dists, tmp_path, f"account_monitor-{VERSION}.tar.gz")
    counts, _ = run_headless(venv, tmp_path)
    report(f"sdist venv: --headless --demo --for 5 printed {counts}")
