"""The REST snapshot belongs to its connection: found by the chaos scenario (tests/chaos.py), where a
snapshot that outlived a dropped connection raced the next one's requests (BitoPro refused the older
nonce as an authentication error) and hid the gap from fill recovery."""

import asyncio
from decimal import Decimal

from streams.config import AccountConfig
from streams.engine import AccountRunner
from streams.exchange import Credentials
from streams.exchanges import EXCHANGES
from streams.exchanges.bitopro.simulator import BitoProSimulator
from streams.model import Side, State
from tests.engine_helpers import FAST, Recorder, converged_on_truth, fill_shapes, wait_for


def syncs_running() -> list[asyncio.Task]:
    return [t for t in asyncio.all_tasks() if t.get_coro().__qualname__ == "AccountRunner._sync"]


async def test_a_connection_lost_during_its_snapshot_leaves_no_snapshot_behind():
    async with BitoProSimulator(seed=31) as sim:
        recorder = Recorder()
        account = AccountConfig("s1", "bitopro", "Sync", sim.ws_url, sim.rest_url)
        runner = AccountRunner(
            account, EXCHANGES["bitopro"], Credentials(sim.credentials), recorder, timing=FAST
        )
        sim.slow_rest(1.0)
        task = asyncio.create_task(runner.run())
        try:
            await wait_for(lambda: recorder.state is State.SYNCING, what="syncing")
            await wait_for(lambda: sum(sim.rest_calls.values()) >= 1, what="the snapshot requested")
            sim.refuse_connections(True)  # the next connection cannot start
            await sim.drop_connections()
            await wait_for(lambda: recorder.state is State.RECONNECTING, what="reconnecting")
            assert syncs_running() == []
            calls = sum(sim.rest_calls.values())
            await asyncio.sleep(1.5)  # the slow answer arrives; an orphaned snapshot would ask on
            assert sum(sim.rest_calls.values()) == calls  # reconnects are refused at the upgrade
            sim.slow_rest(0.0)
            sim.refuse_connections(False)
            await wait_for(lambda: converged_on_truth(runner.store, sim.truth), what="the truth")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_an_order_placed_and_filled_in_the_gap_is_recovered_despite_early_pushes():
    """BitoPro opens three sockets one after the other; the balance socket's first push used to be
    applied before the snapshot, so the snapshot saw no balance move, and fill recovery skipped the
    market of an order placed and filled entirely while disconnected (found by the soak's chaos)."""
    async with BitoProSimulator(seed=33) as sim:
        recorder = Recorder()
        account = AccountConfig("s2", "bitopro", "Gap", sim.ws_url, sim.rest_url)
        runner = AccountRunner(
            account, EXCHANGES["bitopro"], Credentials(sim.credentials), recorder, timing=FAST
        )
        task = asyncio.create_task(runner.run())
        try:
            await wait_for(lambda: recorder.state is State.LIVE, what="live")
            sim.refuse_connections(True)
            await sim.drop_connections()
            unseen = sim.truth.place_order("ETH/USDT", Side.SELL, Decimal("3300"), Decimal("0.5"))
            sim.truth.fill_order(unseen.order_id)
            sim.refuse_connections(False)
            await wait_for(lambda: converged_on_truth(runner.store, sim.truth), what="the truth")
            await wait_for(lambda: len(recorder.fills) >= 1, what="the fill")
            assert fill_shapes(recorder.fills) == fill_shapes(sim.truth.fills)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
