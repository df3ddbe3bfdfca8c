"""CoinW's REST client against the simulator, without the engine: the snapshot's pairs, refusals in
CoinW's own words, a pair CoinW does not list, the refresh of one order, and the client's throttle."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest

from streams.config import AccountConfig
from streams.events import FillEvent, OrdersEvent, Refresh
from streams.exchange import AuthFailed, Credentials, ExchangeUnavailable
from streams.exchanges.coinw.rest import CoinWRest
from streams.exchanges.coinw.simulator import BAD_SIGNATURE, RATE_LIMITED, CoinWSimulator
from streams.exchanges.coinw.throttle import Throttle
from streams.model import OrderStatus, Side

D = Decimal


@pytest.fixture
async def sim() -> AsyncIterator[CoinWSimulator]:
    async with CoinWSimulator(seed=5) as simulator:
        yield simulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def client(sim, http, markets=(), **creds) -> CoinWRest:
    account = AccountConfig("c1", "coinw", "", sim.ws_url, sim.rest_url, markets=tuple(markets))
    return CoinWRest(account, Credentials({**sim.credentials, **creds}), http)


async def test_snapshot_asks_the_pairs_of_held_assets(sim, http) -> None:
    snapshot = await client(sim, http).snapshot()
    assert {b.asset: b for b in snapshot.balances.balances} == sim.truth.balances
    assert snapshot.balances.complete and snapshot.orders.complete
    assert {o.order_id for o in snapshot.orders.orders} == set(sim.truth.open_orders)
    # Every demo pair has both assets held: all five are asked, each once.
    assert len(sim.calls["returnOpenOrders"]) == 5 and sim.rest_calls["/api/v1/public"] == 1


async def test_wrong_secret_is_auth_failed_in_coinws_words(sim, http) -> None:
    with pytest.raises(AuthFailed) as refused:
        await client(sim, http, api_secret="wrong").snapshot()
    assert refused.value.text == f"{BAD_SIGNATURE} (code 1003)"
    assert "wrong" not in str(refused.value)


async def test_rate_limit_refusal_is_transient(sim, http) -> None:
    """Each client keeps CoinW's limits; six clients on one key together do not."""
    results = await asyncio.gather(*(client(sim, http).snapshot() for _ in range(6)), return_exceptions=True)
    [refused] = [r for r in results if isinstance(r, BaseException)]
    assert isinstance(refused, ExchangeUnavailable) and f"{RATE_LIMITED} (code 29001)" in str(refused)
    assert sim.rate_limited == 1


async def test_a_pair_coinw_does_not_list_is_skipped_once(sim, http, caplog) -> None:
    rest = client(sim, http, markets=["NOPE/USDT"])
    for _ in range(2):
        snapshot = await rest.snapshot()
        assert {o.order_id for o in snapshot.orders.orders} == set(sim.truth.open_orders)
    assert caplog.text.count("CoinW refused market NOPE/USDT") == 1


async def test_refresh_of_a_closed_order_gives_its_state_and_trades(sim, http) -> None:
    rest = client(sim, http)
    await rest.snapshot()
    order = next(o for o in sim.truth.open_orders.values() if o.market == "SOL/USDT")
    first = sim.truth.fill_order(order.order_id, D("0.5"))
    second = sim.truth.fill_order(order.order_id)
    events = await rest.refresh(Refresh(orders=frozenset({(order.order_id, "SOL/USDT")})))
    [orders] = [e for e in events if isinstance(e, OrdersEvent)]
    [closed] = orders.orders
    assert (closed.order_id, closed.status, closed.filled, closed.price) == (
        order.order_id,
        OrderStatus.FILLED,
        D("2"),
        D("160"),
    )
    fills = [e.fill for e in events if isinstance(e, FillEvent)]
    assert [f.trade_id for f in fills] == [second.trade_id, first.trade_id]
    assert {(f.side, f.fee_asset) for f in fills} == {(Side.SELL, "USDT")}
    again = await rest.refresh(Refresh(markets=frozenset({"SOL/USDT"})))
    # The cursor keeps only a margin of overlap: the same trades may come again (the store drops
    # them by id), never older ones.
    assert {e.fill.trade_id for e in again if isinstance(e, FillEvent)} <= {first.trade_id, second.trade_id}


async def test_locked_funds_without_a_known_order_are_noted(sim, http, caplog) -> None:
    caplog.set_level(logging.INFO, logger="streams")
    sim.truth.set_balance("USDC", D("50"))
    sim.truth.place_order("DOGE/USDC", Side.BUY, D("0.1"), D("100"))  # DOGE not held: pair not guessed
    await client(sim, http).snapshot()
    assert "CoinW: 10 USDC is on orders in a market not watched" in caplog.text


async def test_throttle_never_lets_more_than_the_limit_into_a_window() -> None:
    throttle = Throttle(2, 0.2)
    loop = asyncio.get_running_loop()
    entered: list[float] = []
    finished: list[float] = []

    async def one_call() -> None:
        async with throttle.slot():
            entered.append(loop.time())
            await asyncio.sleep(0.01)
        finished.append(loop.time())

    await asyncio.gather(*(one_call() for _ in range(7)))
    assert len(entered) == 7
    # A call enters only once the call two before it finished a full period ago.
    entered.sort()
    finished.sort()
    for k in range(2, 7):
        assert entered[k] >= finished[k - 2] + 0.2
