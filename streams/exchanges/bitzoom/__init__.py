"""Bitzoom (futures): one websocket with a JWT `logon`, subId-routed pushes of balances and open
orders (fields unpublished: a tolerant mapper plus the raw payloads), REST for the snapshot and, with
no fill channel, the trade history."""

from streams.config import SECRET_FIELDS
from streams.exchange import ExchangeSpec
from streams.exchanges.bitzoom.rest import make_rest
from streams.exchanges.bitzoom.session import REST_URL, WS_URL, make_session


def _make_simulator(**options: object):  # noqa: ANN202 - the simulator module is imported lazily
    from streams.exchanges.bitzoom.simulator import BitzoomSimulator

    return BitzoomSimulator(**options)  # type: ignore[arg-type]


SPEC = ExchangeSpec(
    name="bitzoom",
    title="Bitzoom",
    secret_fields=SECRET_FIELDS["bitzoom"],  # ("jwt",): the token the user pastes
    ws_url=WS_URL,
    rest_url=REST_URL,
    make_session=make_session,
    make_rest=make_rest,
    make_simulator=_make_simulator,
    first_backoff_s=2.0,  # the docs: reconnect after about 2 s
    silence_s=20.0,  # a ping unanswered this long is a dead link
    ws_ping_interval_s=25.0,  # no keepalive documented: websocket pings every 20-30 s
    resync_s=60.0,  # pushes may be deltas or full lists (unpublished): re-read REST every minute
)
