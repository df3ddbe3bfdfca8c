"""The wheel and sdist that `python -m build` makes hold every module, the icon and the entry point.

A package directory that setuptools does not find (a new exchange without `__init__.py`, say) or a
resource left out of the package data would only show up for users installing from the wheel; this
builds both from a copy of the checkout (so nothing is written into it) and compares their contents
with the source tree. Without build isolation, so no download: ~5 s. The full check (fresh venv from
the wheel, the app started from it) is in packaging/tests, run by `bash packaging/test`.
"""

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import streams

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("streams", "gui", "resources")
IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "__pycache__", "*.egg-info", ".hypothesis", "screenshots"
)


def source_files() -> set[str]:
    """Every file in the package directories: modules and package data alike, so a data file added
    without a package-data entry fails here. Only the README's screenshots stay out of the wheel."""
    found = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*"):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            if package == "resources" and path.name.startswith("screenshot-"):
                continue
            found.add(path.relative_to(ROOT).as_posix())
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("dist")
    tree = base / "src"
    shutil.copytree(ROOT, tree, ignore=IGNORED)
    out = base / "out"
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(tree)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return wheel, sdist


def test_wheel_holds_every_module_the_icon_and_the_entry_point(built):
    wheel, _ = built
    version = streams.__version__
    assert wheel.name == f"account_monitor-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = f"account_monitor-{version}.dist-info"
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        metadata = archive.read(f"{info}/METADATA").decode()
    assert source_files() - names == set()
    assert {"resources/__init__.py", "resources/account-monitor.svg"} <= names
    assert "[console_scripts]\naccount-monitor = streams.cli:main" in entry_points
    assert f"\nVersion: {version}\n" in metadata
    assert not any(n.startswith("tests/") for n in names)


def test_sdist_holds_the_sources_tests_and_changelog(built):
    _, sdist = built
    top = f"account_monitor-{streams.__version__}"
    with tarfile.open(sdist) as archive:
        names = {n.removeprefix(f"{top}/") for n in archive.getnames()}
    assert source_files() - names == set()
    assert {
        "pyproject.toml",
        "README.md",
        "CHANGELOG.md",
        "tests/conftest.py",
        "tests/data/vectors.json",
    } <= names
