"""Bitstamp: one websocket with per-market private channels (token from REST), HTTP API v2 for the
snapshot, fill recovery and the balances, which Bitstamp only gives by polling."""

from streams.config import SECRET_FIELDS
from streams.exchange import ExchangeSpec
from streams.exchanges.bitstamp.rest import REST_URL, make_rest
from streams.exchanges.bitstamp.session import HEARTBEAT_S, WS_URL, make_session
from streams.exchanges.bitstamp.token_store import TOKEN_KIND

BALANCES_POLLED_S = 30.0  # plus a poll shortly after every order or trade event


def _make_simulator(**options: object):  # noqa: ANN202 - the simulator module is imported lazily
    from streams.exchanges.bitstamp.simulator import BitstampSimulator

    return BitstampSimulator(**options)  # type: ignore[arg-type]


SPEC = ExchangeSpec(
    name="bitstamp",
    title="Bitstamp",
    secret_fields=SECRET_FIELDS["bitstamp"],
    ws_url=WS_URL,
    rest_url=REST_URL,
    make_session=make_session,
    make_rest=make_rest,
    make_simulator=_make_simulator,
    silence_s=HEARTBEAT_S + 10.0,  # bts:heartbeat every 30 s; no reply within ~10 s: a dead link
    ws_ping_interval_s=None,  # the application-level heartbeat keeps the link instead
    resync_s=BALANCES_POLLED_S,  # the full snapshot doubles as the slow balance poll
    balances_polled_s=BALANCES_POLLED_S,
    token_kinds=(TOKEN_KIND,),
)
