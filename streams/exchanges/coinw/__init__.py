"""CoinW spot: one websocket with a `login` frame and the `assets`/`order` channels, plus REST for
the snapshot, the open orders per pair and the trades the order channel never carries."""

from streams.config import SECRET_FIELDS
from streams.exchange import ExchangeSpec
from streams.exchanges.coinw.rest import REST_URL, make_rest
from streams.exchanges.coinw.session import WS_URL, make_session


def _make_simulator(**options: object):  # noqa: ANN202 - the simulator module is imported lazily
    from streams.exchanges.coinw.simulator import CoinWSimulator

    return CoinWSimulator(**options)  # type: ignore[arg-type]


SPEC = ExchangeSpec(
    name="coinw",
    title="CoinW",
    secret_fields=SECRET_FIELDS["coinw"],
    ws_url=WS_URL,
    rest_url=REST_URL,
    make_session=make_session,
    make_rest=make_rest,
    make_simulator=_make_simulator,
    # A JSON ping every 10 s (the plan's); the pong is due within the next 10 s (protocol notes, 3.6).
    silence_s=20.0,
    ws_ping_interval_s=None,  # CoinW documents JSON pings only, and sends no websocket pings itself
    resync_s=60.0,  # deposits, withdrawals and transfers are not pushed on `assets`
)
