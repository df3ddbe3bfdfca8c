"""The registry: exchange name (as written in the config) -> its spec. Adding an exchange is one line."""

from __future__ import annotations

from streams.exchange import ExchangeSpec
from streams.exchanges import bitopro, bitstamp, bitzoom, coinsph, coinw

EXCHANGES: dict[str, ExchangeSpec] = {
    spec.name: spec for spec in (bitopro.SPEC, coinw.SPEC, coinsph.SPEC, bitstamp.SPEC, bitzoom.SPEC)
}
