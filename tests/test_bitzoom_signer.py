"""Bitzoom's "signer" is JWT handling: Bitzoom prints no signing vectors (tests/data/vectors.json has
none) and its optional HMAC scheme is unpublished, so nothing is signed. Tested here: the bearer header
and logon frame, the shape check of a pasted token, and the expiry read from `exp` without
verification, on hand-made tokens built independently in this file, and on the JWTs printed in
RFC 7519 section 3.1 and on jwt.io (not Bitzoom's: any JWT must pass the shape check)."""

import base64
import json
from pathlib import Path

import pytest

from streams.exchanges.bitzoom import signer

# RFC 7519 section 3.1 (= RFC 7515 appendix A.1): header {"typ":"JWT",\r\n "alg":"HS256"},
# claims {"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}.
RFC_7519 = (
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
# jwt.io's example (HS256, no exp).
JWT_IO = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def hand_made(claims: object, header: object = None, signature: bytes = b"\x01\x02\x03") -> str:
    """A JWT assembled by hand (the signature is junk: nothing here verifies it)."""
    head = header if header is not None else {"alg": "HS256", "typ": "JWT"}
    return ".".join(b64url(json.dumps(part).encode()) for part in (head, claims)) + "." + b64url(signature)


def test_bitzoom_publishes_no_signing_vectors():
    vectors = json.loads((Path(__file__).parent / "data" / "vectors.json").read_text())
    assert vectors["bitzoom"] == []  # if some appear one day, they must be tested here
    assert "bitzoom" in vectors["_about"]["not_available"]


def test_published_jwts_pass_the_shape_check_and_the_rfc_one_reads_its_exp():
    assert signer.clean(RFC_7519) == RFC_7519
    assert signer.clean(JWT_IO) == JWT_IO
    assert signer.expires_ms(RFC_7519) == 1_300_819_380_000
    assert signer.claims(RFC_7519)["iss"] == "joe"
    assert signer.expires_ms(JWT_IO) is None and signer.expiry_text(JWT_IO, 0) is None


def test_pasting_noise_around_the_token_is_forgiven():
    assert signer.clean(f"  Bearer {JWT_IO}\n") == JWT_IO
    assert signer.clean(f"bearer\t{JWT_IO}") == JWT_IO
    ends_in_bearer = JWT_IO + "bearer"  # only a leading "Bearer " is dropped
    assert signer.clean(ends_in_bearer) == ends_in_bearer
    padded = hand_made({"exp": 1}).split(".")
    padded[0] += "=="  # some tools keep base64 padding
    assert signer.clean(".".join(padded)) == ".".join(padded)
    assert signer.expires_ms(".".join(padded)) == 1000


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("Bearer ", "empty"),
        ("abc.def", "three parts"),
        ("a.b.c.d", "three parts"),
        (JWT_IO.replace(".", "..", 1), "three parts"),
        ("eyJhbGciOiJIUzI1NiJ9.e30.", "signature is not base64url"),
        ("eyJhbGciOiJIUzI1NiJ9.e+30.c2ln", "payload is not base64url"),
        ("bm90IGpzb24.e30.c2ln", "header is not base64url-encoded JSON"),  # "not json"
        ("WzFd.e30.c2ln", "header is not a JSON object"),  # "[1]"
        ("e30.e30.c2ln", "'alg'"),  # "{}"
        ("A.e30.c2ln", "header is not base64url-encoded JSON"),  # impossible length
    ],
)
def test_shape_check_says_what_is_wrong(text, reason):
    with pytest.raises(signer.InvalidToken, match=reason):
        signer.clean(text)


def test_the_reason_never_repeats_the_token():
    token = hand_made({"exp": 1}, header=["not", "an", "object"])
    with pytest.raises(signer.InvalidToken) as info:
        signer.clean(token)
    assert token.split(".")[0] not in str(info.value)


def test_expiry_text():
    now = 1_700_000_000_000
    exp_s = now // 1000 + 42 * 60 + 30
    token = hand_made({"sub": "1", "exp": exp_s})
    assert signer.expires_ms(token) == exp_s * 1000
    assert signer.expiry_text(token, now) == "token expires in 42 min"
    assert signer.expiry_text(token, now + 42 * 60_000 + 15_000) == "token expires in 15 s"
    assert signer.expiry_text(token, now + 45 * 60_000 + 30_000) == "token expired 3 min ago"
    assert (
        signer.expiry_text(hand_made({"exp": now // 1000 + 5 * 3600 + 120}), now)
        == "token expires in 5 h 2 min"
    )
    assert signer.expiry_text(hand_made({"exp": now // 1000 + 3 * 86400}), now) == "token expires in 3 days"
    for claims in ({}, {"exp": "soon"}, {"exp": True}, [1, 2]):
        assert signer.expires_ms(hand_made(claims)) is None
    assert signer.claims("no.t a.jwt") == {}


def test_bearer_header_and_logon_frame():
    assert signer.bearer(JWT_IO) == {"Authorization": f"Bearer {JWT_IO}"}
    assert json.loads(signer.logon_frame(JWT_IO)) == {
        "channel": "logon",
        "event": "sub",
        "data": {"token": JWT_IO},
    }
