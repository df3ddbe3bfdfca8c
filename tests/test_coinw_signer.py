"""CoinW spot signing. CoinW prints the rule but no example output (vectors.json has an empty `coinw`
list), so the vectors here were derived by hand from the protocol text: the string to sign written
out, and its MD5 computed independently with coreutils (`printf '%s' '<string>' | md5sum`), then
upper-cased. The test recomputes each with hashlib as well."""

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.exchanges.coinw import signer
from streams.exchanges.coinw.simulator import expected_sign

VECTORS = [
    # (params, api_key, api_secret, string to sign, md5sum output)
    (
        {"currencyPair": "BTC_USDT"},
        "demo-key",
        "demo-secret",
        "api_key=demo-key&currencyPair=BTC_USDT&secret_key=demo-secret",
        "77cf3acb0b4518cf1ff5b0b04089a6d7",
    ),
    ({}, "k1", "s1", "api_key=k1&secret_key=s1", "78d4c1c287a90caa7fa624c10eec779f"),
    (
        {"symbol": "BTC_USDT", "startAt": "1743669325942", "limit": "100", "endAt": "1743669400000"},
        "AK",
        "SK",
        "api_key=AK&endAt=1743669400000&limit=100&startAt=1743669325942&symbol=BTC_USDT&secret_key=SK",
        "68dce83c2dc581b1159176134e1122f4",
    ),
    (  # byte order: "Zeta" (0x5A) sorts before "api_key" (0x61), unlike a case-blind sort
        {"orderNumber": "4624530513294751114", "Zeta": "1"},
        "AK",
        "SK",
        "Zeta=1&api_key=AK&orderNumber=4624530513294751114&secret_key=SK",
        "bfab8b00ce804a95aed98c1b69506e83",
    ),
]


def test_no_published_vector_exists():
    # If CoinW ever prints one, it belongs in vectors.json and must be tested here.
    published = json.loads((Path(__file__).parent / "data" / "vectors.json").read_text())
    assert published["coinw"] == []


@pytest.mark.parametrize(("params", "key", "secret", "text", "digest"), VECTORS)
def test_hand_derived_vectors(params, key, secret, text, digest):
    assert signer.string_to_sign(params, key, secret) == text
    assert hashlib.md5(text.encode()).hexdigest() == digest  # the independent computation agrees
    assert signer.sign(params, key, secret) == digest.upper()


def test_command_and_sign_are_not_signed():
    plain = signer.sign({"currencyPair": "BTC_USDT"}, "demo-key", "demo-secret")
    extra = {"currencyPair": "BTC_USDT", "command": "returnOpenOrders", "sign": "X"}
    assert signer.sign(extra, "demo-key", "demo-secret") == plain == VECTORS[0][4].upper()


def test_signed_query_is_command_then_sorted_params_then_sign():
    query = signer.signed_query("returnOpenOrders", {"currencyPair": "BTC_USDT"}, "demo-key", "demo-secret")
    assert query == [
        ("command", "returnOpenOrders"),
        ("api_key", "demo-key"),
        ("currencyPair", "BTC_USDT"),
        ("sign", VECTORS[0][4].upper()),
    ]
    assert all("demo-secret" not in value for _, value in query)


names = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="&="), min_size=1
)
values = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="&"))


@given(params=st.dictionaries(names, values, max_size=6), key=values, secret=values)
def test_client_signer_and_simulator_check_agree(params, key, secret):
    """Two implementations of the rule (the client's and the simulator's, written apart)."""
    query = dict(signer.signed_query("returnOpenOrders", params, key, secret))
    if "api_key" in params or "command" in params or "sign" in params:
        return  # reserved names
    assert expected_sign(query, secret) == query["sign"]
