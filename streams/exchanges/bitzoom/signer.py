"""Bitzoom authentication: a JWT the user pastes, sent as a bearer token (REST) and in the `logon`
frame (websocket). Nothing is signed here.

Bitzoom's optional `Timestamp`/`Signature` HMAC scheme is unpublished (no string-to-sign, no key, no
vectors: protocol notes section 2), so it is not sent. What this module does instead is check that a
pasted token has the shape of a JWT (three base64url parts, a JSON object as header) before it goes
to the keyring, and read its `exp` claim, without verifying the signature, to tell the user how long
it lasts. Pure functions: the clock is an argument.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

_PART = re.compile(r"[A-Za-z0-9_-]+={0,2}")  # base64url; a copy-pasted token may keep its padding
_BEARER = re.compile(r"(?i)^bearer(?:\s+|$)")  # a leading "Bearer " only


class InvalidToken(ValueError):
    """The text is not a JWT; the message says what is wrong, never the token itself."""


def clean(text: str) -> str:
    """The token as the user pasted it, with surrounding whitespace and a leading 'Bearer ' removed,
    after checking its shape (raises `InvalidToken` with the reason)."""
    token = _BEARER.sub("", text.strip(), count=1).strip()
    if not token:
        raise InvalidToken("the token is empty")
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken(f"a JWT has three parts separated by dots; this has {len(parts)}")
    for name, part in zip(("header", "payload", "signature"), parts, strict=True):
        if not _PART.fullmatch(part):
            raise InvalidToken(f"the {name} is not base64url text")
    try:
        header = json.loads(_b64decode(parts[0]))
    except (ValueError, binascii.Error):
        raise InvalidToken("the header is not base64url-encoded JSON") from None
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        raise InvalidToken("the header is not a JSON object with an 'alg'")
    return token


def claims(token: str) -> dict[str, Any]:
    """The payload's claims, decoded but NOT verified (only the exchange can verify its tokens).
    An empty dict when the payload is not a JSON object."""
    try:
        value = json.loads(_b64decode(token.split(".")[1]))
    except (IndexError, ValueError, binascii.Error):
        return {}
    return value if isinstance(value, dict) else {}


def expires_ms(token: str) -> int | None:
    """The token's `exp` (seconds since the epoch, RFC 7519) in milliseconds; None without one."""
    exp = claims(token).get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    return int(exp * 1000)


def expiry_text(token: str, now_ms: int) -> str | None:
    """'token expires in 42 min', 'token expired 3 min ago'; None when the token has no `exp`."""
    exp = expires_ms(token)
    if exp is None:
        return None
    left_s = (exp - now_ms) // 1000
    if left_s <= 0:
        return f"token expired {_span(-left_s)} ago"
    return f"token expires in {_span(left_s)}"


def bearer(token: str) -> dict[str, str]:
    """The REST authentication header."""
    return {"Authorization": f"Bearer {token}"}


def logon_frame(token: str) -> str:
    """The websocket `logon` request. It carries the token: never log it."""
    return json.dumps({"channel": "logon", "event": "sub", "data": {"token": token}}, separators=(",", ":"))


def _span(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        hours, rest = divmod(seconds, 3600)
        return f"{hours} h {rest // 60} min" if rest >= 60 else f"{hours} h"
    return f"{seconds // 86400} days"


def _b64decode(part: str) -> bytes:
    part = part.rstrip("=")
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
