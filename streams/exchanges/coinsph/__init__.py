"""Coins.ph: one listenKey user data stream (balances, order events, fills) plus signed REST."""

from dataclasses import replace
from functools import partial

from streams.config import SECRET_FIELDS
from streams.exchange import ExchangeSpec
from streams.exchanges.coinsph.rest import REST_URL, make_rest
from streams.exchanges.coinsph.session import WS_URL, CoinsphTiming, make_session


def _make_simulator(**options: object):  # noqa: ANN202 - the simulator module is imported lazily
    from streams.exchanges.coinsph.simulator import CoinsphSimulator

    return CoinsphSimulator(**options)  # type: ignore[arg-type]


SPEC = ExchangeSpec(
    name="coinsph",
    title="Coins.ph",
    secret_fields=SECRET_FIELDS["coinsph"],
    ws_url=WS_URL,
    rest_url=REST_URL,
    make_session=make_session,
    make_rest=make_rest,
    make_simulator=_make_simulator,
    silence_s=150.0,  # the app ping goes every 60 s (CoinsphTiming.ping_s) and is answered at once
    ws_ping_interval_s=None,  # the app-level ping is the keepalive; the server's websocket pings are answered
)


def spec_with(timing: CoinsphTiming) -> ExchangeSpec:
    """SPEC with other protocol intervals (tests pair `CoinsphTiming().faster(k)` with the simulator's
    `time_scale=k`). Keep `timing.ping_s` well inside the engine's silence window."""
    return replace(SPEC, make_session=partial(make_session, timing=timing))
