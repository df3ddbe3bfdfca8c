"""BitoPro: three header-authenticated websockets (balances, active orders, own trades) plus REST."""

from streams.config import SECRET_FIELDS
from streams.exchange import ExchangeSpec
from streams.exchanges.bitopro.rest import REST_URL, make_rest
from streams.exchanges.bitopro.session import WS_URL, make_session


def _make_simulator(**options: object):  # noqa: ANN202 - the simulator module is imported lazily
    from streams.exchanges.bitopro.simulator import BitoProSimulator

    return BitoProSimulator(**options)  # type: ignore[arg-type]


SPEC = ExchangeSpec(
    name="bitopro",
    title="BitoPro",
    secret_fields=SECRET_FIELDS["bitopro"],
    ws_url=WS_URL,
    rest_url=REST_URL,
    make_session=make_session,
    make_rest=make_rest,
    make_simulator=_make_simulator,
    silence_s=25.0,  # the server pings every 20 s and wants a pong within 5 s
    ws_ping_interval_s=20.0,
    match_fills_across_sources=True,  # stream matchID (UUID) vs REST tradeId (number)
)
