"""`decode_json` must read every JSON text exactly as `json.loads(text, parse_float=Decimal)` does (the
parsers were written against that), and fail only with the errors the parsers catch."""

import contextlib
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.events import MalformedFrame
from streams.exchanges import wire
from streams.exchanges.wire import JSON_ERRORS, decimal, decode_json

NUMBER_TEXTS = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=None).map(lambda d: format(d, "f")),
    st.from_regex(r"-?(0|[1-9][0-9]{0,30})(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
)

JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.text(max_size=20)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.lists(NUMBER_TEXTS, min_size=1, max_size=5))
def test_reads_what_json_reads_with_decimal_floats(value, numbers):
    text = json.dumps({"v": value, "n": []})[:-2] + ", ".join(numbers) + "]}"
    expected = json.loads(text, parse_float=Decimal)
    got = decode_json(text)
    assert got == expected
    for ours, theirs in zip(got["n"], expected["n"], strict=True):
        assert type(ours) is type(theirs)  # int stays int, a float's text becomes that exact Decimal
        assert str(ours) == str(theirs)  # Decimal("1.10") keeps its trailing zero


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_anything_else_fails_with_an_error_the_parsers_catch(text):
    with contextlib.suppress(JSON_ERRORS):
        decode_json(text)


def test_deep_nesting_and_huge_numbers():
    for text in ("[" * 100_000 + "]" * 100_000, "NaN", '{"a": 1} x'):
        try:
            decode_json(text)
        except JSON_ERRORS:
            continue
        raise AssertionError(f"{text[:12]!r} was accepted")
    assert decode_json('{"a": 123456789012345678901234567890, "b": 1e400}') == {
        "a": 123456789012345678901234567890,
        "b": Decimal("1E+400"),
    }


@settings(max_examples=300, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False).map(str) | st.integers(-(10**30), 10**30))
def test_decimal_reads_strings_and_integers_exactly_the_second_time_too(value):
    expected = Decimal(value)
    if expected and not -wire.MAX_EXPONENT <= expected.adjusted() <= wire.MAX_EXPONENT:
        with pytest.raises(ValueError):
            decimal(value)
        return
    assert decimal(value) == expected and str(decimal(value)) == str(expected)  # remembered: the same
    assert type(decimal(value)) is Decimal


@pytest.mark.parametrize("value", [True, 1.5, None, "NaN", "-Infinity", "1e41", "1e-41", "junk", [1], "sNaN"])
def test_decimal_refuses_what_is_not_a_finite_bounded_number_every_time(value):
    for _ in range(2):  # a refusal is not remembered as a number
        with pytest.raises((ValueError, ArithmeticError)):
            decimal(value)


def test_decimal_remembers_a_bounded_number_of_strings():
    for i in range(3 * wire._DECIMALS_KEPT):
        assert decimal(f"{i}.5") == Decimal(i) + Decimal("0.5")
    assert 0 < len(wire._decimals) <= wire._DECIMALS_KEPT


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ({}, "KeyError"),
        ([], "IndexError"),
        ("x", "InvalidOperation"),
        (None, "AttributeError"),
        ("1e999999", "ValueError"),
        (True, "ValueError"),
    ],
)
def test_each_item_fails_the_whole_answer_naming_what_and_the_error(bad, error):
    def price(item: object) -> Decimal:
        if isinstance(item, dict):
            return decimal(item["price"])
        if isinstance(item, list):
            return decimal(item[0])
        if item is None:
            return item.get("price")  # AttributeError, as on a null where an object belongs
        return decimal(item)

    assert wire.each_item([{"price": "1"}, ["2.5"]], price, "open orders") == (Decimal(1), Decimal("2.5"))
    with pytest.raises(MalformedFrame) as raised:
        wire.each_item([{"price": "1"}, bad], price, "open orders")
    assert str(raised.value).startswith(f"open orders: {error}: "), raised.value


def test_each_item_lets_our_own_bugs_through():
    with pytest.raises(ZeroDivisionError):  # a mistake in `make` is not bad input: it stays loud
        wire.each_item([1], lambda item: item / 0, "open orders")
