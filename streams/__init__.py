"""Account Monitor's core: exchange streams, the account store and the session engine.

Pure asyncio; nothing here imports Qt (tests/test_layering.py checks it), so the headless mode and the
simulators run without a display.
"""
