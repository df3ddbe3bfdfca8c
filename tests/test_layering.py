"""streams/ is pure asyncio: importing all of it (simulators included) must not load Qt."""

import subprocess
import sys

CHECK = """
import pkgutil, importlib, sys, streams
for module in pkgutil.walk_packages(streams.__path__, "streams."):
    importlib.import_module(module.name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {"PySide6", "shiboken6", "qasync", "gui"})
print(",".join(loaded))
"""


def test_streams_never_imports_qt():
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == ""


def test_the_check_would_notice_qt():
    # Guard against a check that cannot fail: importing the GUI does load Qt.
    code = CHECK.replace("import pkgutil", "import gui.main_window, pkgutil")
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "PySide6" in done.stdout
