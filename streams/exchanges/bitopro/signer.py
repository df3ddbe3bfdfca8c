"""BitoPro request signing: HMAC-SHA384 over the base64 payload header (not over the JSON).

Pure functions; the clock and nonce are arguments so the published vectors pin them exactly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json


def payload(identity: str, nonce: int) -> str:
    """The X-BITOPRO-PAYLOAD of a GET, DELETE or websocket upgrade: base64 of compact JSON."""
    text = json.dumps({"identity": identity, "nonce": nonce}, separators=(",", ":"))
    return base64.b64encode(text.encode()).decode()


def sign(api_secret: str, payload_header: str) -> str:
    """X-BITOPRO-SIGNATURE: lower-case hex HMAC-SHA384 keyed with the secret."""
    return hmac.new(api_secret.encode(), payload_header.encode(), hashlib.sha384).hexdigest()


def headers(api_key: str, api_secret: str, identity: str, nonce: int) -> dict[str, str]:
    """The three authentication headers, for REST and for the websocket upgrade alike."""
    body = payload(identity, nonce)
    return {
        "X-BITOPRO-APIKEY": api_key,
        "X-BITOPRO-PAYLOAD": body,
        "X-BITOPRO-SIGNATURE": sign(api_secret, body),
    }


class NonceClock:
    """Millisecond nonces, strictly increasing per key even when requests share a millisecond."""

    def __init__(self) -> None:
        self._last = 0

    def next(self, now_ms: int) -> int:
        self._last = max(now_ms, self._last + 1)
        return self._last


_clocks: dict[str, NonceClock] = {}


def nonce_clock(api_key: str) -> NonceClock:
    """One nonce sequence per key, shared by its REST calls and its websocket upgrades."""
    return _clocks.setdefault(api_key, NonceClock())
