"""The version lives in one place (streams.__version__); the installed metadata and --version agree."""

import importlib.metadata
import subprocess
import sys

import streams


def test_version_comes_from_one_place():
    assert importlib.metadata.version("account-monitor") == streams.__version__


def test_version_flag_prints_it():
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"account-monitor {streams.__version__}\n"
