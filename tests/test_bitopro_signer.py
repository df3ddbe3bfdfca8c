"""BitoPro signing, pinned by the examples printed in BitoPro's own README (tests/data/vectors.json,
a copy of ../shared/protocols/vectors.json)."""

import base64
import json
from pathlib import Path

import pytest

from streams.exchanges.bitopro import signer

VECTORS = json.loads((Path(__file__).parent / "data" / "vectors.json").read_text())["bitopro"]


def test_vectors_are_present():
    # A loop over an empty list cannot fail: make sure the published vectors are really there.
    assert {v["name"] for v in VECTORS} == {
        "readme_signature_example",
        "readme_payload_example_get",
        "readme_payload_example_post",
    }


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS if "api_secret" in v["inputs"]], ids=lambda v: v["name"]
)
def test_signature_matches_published_vector(vector):
    inputs = vector["inputs"]
    assert (
        signer.sign(inputs["api_secret"], inputs["payload_header"])
        == vector["expected"]["X-BITOPRO-SIGNATURE"]
    )


def test_payload_matches_published_get_example():
    vector = next(v for v in VECTORS if v["name"] == "readme_payload_example_get")
    assert signer.payload("support@bitoex.com", 1554380909131) == vector["expected"]["X-BITOPRO-PAYLOAD"]


def test_signature_vector_payload_is_what_payload_builds():
    vector = next(v for v in VECTORS if v["name"] == "readme_signature_example")
    built = signer.payload("hcmlinj@gmail.com", 1554380909131)
    assert built == vector["inputs"]["payload_header"]
    assert base64.b64decode(built).decode() == vector["inputs"]["payload_decoded"]


def test_headers_sign_the_payload_they_send():
    headers = signer.headers("key", "bitopro", "hcmlinj@gmail.com", 1554380909131)
    assert headers["X-BITOPRO-APIKEY"] == "key"
    assert headers["X-BITOPRO-SIGNATURE"] == (
        "01a85a9083db47c20da7196380598f3feacd3c76a9077aaf7ffaf08ce0091abf65b61778792607b010921adfe1c2941a"
    )


def test_nonces_strictly_increase_within_one_millisecond():
    clock = signer.NonceClock()
    assert [clock.next(1000), clock.next(1000), clock.next(999), clock.next(2000)] == [1000, 1001, 1002, 2000]
