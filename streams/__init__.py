"""Account Monitor's core: exchange streams, the account store and the session engine.

Pure asyncio; nothing here imports Qt (tests/test_layering.py checks it), so the headless mode and the
simulators run without a display.
"""

# The one place the version lives: pyproject.toml reads it (dynamic version), `--version` prints it.
__version__ = "0.1.0"
