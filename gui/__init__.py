"""Account Monitor's Qt front end: binds the asyncio engine (`streams`) to widgets.

`streams` never imports Qt; everything Qt lives here. One thread, one qasync loop: the engine's
updates arrive as Qt signals on the GUI thread, are coalesced per account and applied to the models as
row diffs.
"""
