"""CoinW spot request signing: upper-case hex MD5 over the sorted parameters and the secret.

The rule (protocol notes, section 2): every parameter except `command`, plus `api_key`, sorted by name
in byte order and joined as `name=value` with `&` (values not URL-encoded), then `&secret_key=<secret>`.
No timestamp and no nonce exist, so the signature of a request never changes. Pure functions.

`string_to_sign` contains the secret itself: it is built, hashed and dropped, never logged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

_UNSIGNED = frozenset({"command", "sign"})


def string_to_sign(params: Mapping[str, str], api_key: str, api_secret: str) -> str:
    """`api_key=..&<name>=<value>..&secret_key=<secret>`, the names in byte order."""
    items = {name: value for name, value in params.items() if name not in _UNSIGNED}
    items["api_key"] = api_key
    joined = "&".join(f"{name}={items[name]}" for name in sorted(items, key=lambda n: n.encode()))
    return f"{joined}&secret_key={api_secret}"


def sign(params: Mapping[str, str], api_key: str, api_secret: str) -> str:
    """The `sign` parameter: MD5 of `string_to_sign`, upper-case hex."""
    return hashlib.md5(string_to_sign(params, api_key, api_secret).encode()).hexdigest().upper()


def signed_query(
    command: str, params: Mapping[str, str], api_key: str, api_secret: str
) -> list[tuple[str, str]]:
    """The whole query string of a private call, in CoinW's own order: `command`, the sorted
    parameters with `api_key`, then `sign` (everything rides in the query string of a POST)."""
    items = {**params, "api_key": api_key}
    ordered = [(name, items[name]) for name in sorted(items, key=lambda n: n.encode())]
    return [("command", command), *ordered, ("sign", sign(params, api_key, api_secret))]
