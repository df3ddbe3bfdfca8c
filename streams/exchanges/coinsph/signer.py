"""Coins.ph request signing: hex HMAC-SHA256 over `totalParams`, the query string followed directly by
the form body (no separator between them), appended as the last parameter `signature`.

Pure functions: the clock is an argument (`timestamp`), so the three examples printed in the exchange's
docs pin the rule exactly (tests/data/vectors.json "coinsph").

One popular library signs `...&timestamp=...&` (a trailing `&`) and then sends `&&signature=`. The server
happens to accept that, but it is not the documented rule and is not copied here: parameters are joined
by single `&`, nothing trails, and `signature` is appended with exactly one `&`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from urllib.parse import quote, urlencode

Params = Sequence[tuple[str, str]]


def encode(params: Params) -> str:
    """`a=1&b=2`, percent-encoded, in the given order (the server signs what it receives, in order)."""
    return urlencode(list(params), quote_via=quote, safe="")


def total_params(query: str, body: str) -> str:
    """What is signed: the query string, then the body, with nothing in between (docs example 3)."""
    return query + body


def sign(api_secret: str, query: str = "", body: str = "") -> str:
    """Lower-case hex HMAC-SHA256 of `totalParams`, keyed with the secret (the server ignores case)."""
    message = total_params(query, body).encode()
    return hmac.new(api_secret.encode(), message, hashlib.sha256).hexdigest()


def with_signature(api_secret: str, query: str = "", body: str = "") -> tuple[str, str]:
    """(query, body) with `signature` appended as the last parameter of the part sent last: the body
    when there is one, else the query string."""
    signature = sign(api_secret, query, body)
    if body:
        return query, f"{body}&signature={signature}"
    return (f"{query}&signature={signature}" if query else f"signature={signature}"), body


def timed(params: Params, timestamp_ms: int, recv_window_ms: int) -> list[tuple[str, str]]:
    """The parameters of a SIGNED call: the call's own, then `timestamp` and `recvWindow`."""
    return [*params, ("timestamp", str(timestamp_ms)), ("recvWindow", str(recv_window_ms))]
