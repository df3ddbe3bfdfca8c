"""Strategies and checks for tests/test_fuzz_parsers.py: hostile JSON, mutated real frames, and the one
property every parser promises (typed events or a typed error; exact, finite, non-negative money).

Kept apart from the test module so the targets table there stays readable.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import Any

import msgspec
from hypothesis import strategies as st

from streams.events import MalformedFrame
from streams.model import Balance, Fill, Order


class Raw(str):
    """A JSON token written verbatim by `dumps`: bare NaN/Infinity (json.loads accepts them, strict
    decoders do not), numbers with exponents or more digits than a float holds."""


BARE_TOKENS = ["NaN", "Infinity", "-Infinity", "1e400", "1E+308", "-0", "1e-400", "-1e400", "1e999999999"]
BARE_TOKENS += ["-0.0", "123456789012345678901234567890.123456789012345678901", "-1", "-0.00000001"]
BARE_TOKENS += ["1E+1000000", "9" * 400, "-" + "9" * 30]
NASTY_STRINGS = ["NaN", "nan", "Infinity", "-Infinity", "inf", "sNaN", "1e400", "1E+308", "-0", "1e-400"]
NASTY_STRINGS += ["1e999999999", "-1", "-0.00000001", "1e+2147483647", "", " ", "0x10", "1_000", "١٢٣"]
NASTY_STRINGS += ["\ud800", "\udfff", "\x00", "\ufffd", "9" * 5000, "1" + "0" * 400, "true", "null", "[]"]

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**64, max_value=2**200),
    st.integers(min_value=-(2**200), max_value=-1),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.sampled_from(BARE_TOKENS).map(Raw),
    st.sampled_from(NASTY_STRINGS),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
# What a field is replaced with: another type, a huge or exponent number, a negative, a NaN.
replacements = st.one_of(
    json_leaves,
    st.just([]),
    st.just({}),
    st.lists(json_leaves, max_size=3),
    st.dictionaries(st.text(max_size=4), json_leaves, max_size=3),
)


def dumps(value: Any) -> str:
    """JSON text of `value`, with Decimals and `Raw` tokens written as they are (json.dumps would
    refuse Decimal and quote `Raw`)."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else json.dumps(str(value))
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return json.dumps(value)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every position in a decoded JSON tree (the root is `()`)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


def replaced(tree: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A copy of `tree` with the node at `path` replaced (or, for `DELETE`, removed)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(tree, dict):
        copy = dict(tree)
        if not rest and new is DELETE:
            copy.pop(head, None)
        else:
            copy[head] = replaced(tree[head], rest, new)
        return copy
    copy = list(tree)
    if not rest and new is DELETE:
        del copy[head]
    else:
        copy[head] = replaced(tree[head], rest, new)
    return copy


DELETE = object()


# What a number (or a numeric string) is replaced with: NaN, infinities, exponents, huge, negative.
hostile_numbers = st.one_of(
    st.sampled_from(BARE_TOKENS).map(Raw),
    st.sampled_from(NASTY_STRINGS[:14]),
    st.integers(min_value=2**64, max_value=2**300),
    st.decimals(max_value=Decimal("-0.00000001"), allow_nan=False, allow_infinity=False, places=8),
    st.decimals(max_value=Decimal("-0.00000001"), allow_nan=False, allow_infinity=False, places=8).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)


def _numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | Decimal):
        return True
    try:
        return isinstance(value, str) and Decimal(value).is_finite()
    except ArithmeticError:
        return False


@st.composite
def mutated(draw: st.DrawFn, frames: list[str]) -> str:
    """A real frame with one to three fields replaced by hostile values or removed. Half the time a
    number of the frame (an amount, a time, an id) is the one replaced, by a hostile number: the
    fields a parser does arithmetic on are where NaN, exponents and signs do harm."""
    tree = json.loads(draw(st.sampled_from(frames)), parse_float=Decimal)
    for _ in range(draw(st.integers(1, 3))):
        every = paths(tree)
        numbers = [p for p in every if _numeric(_at(tree, p))]
        if numbers and draw(st.booleans()):
            tree = replaced(tree, draw(st.sampled_from(numbers)), draw(hostile_numbers))
            continue
        path = draw(st.sampled_from(every))
        new = draw(replacements | st.just(DELETE)) if path else draw(replacements)
        tree = replaced(tree, path, new)
    return dumps(tree)


def _at(tree: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        tree = tree[step]
    return tree


@st.composite
def corrupted(draw: st.DrawFn, frames: list[str]) -> str:
    """A real (or mutated) frame damaged as text: truncated, bytes flipped and decoded with
    errors="replace" or "surrogateescape", a lone surrogate inserted, or wrapped in deep nesting."""
    text = draw(st.sampled_from(frames) | mutated(frames))
    how = draw(st.sampled_from(["truncate", "replace", "surrogate", "insert", "wrap"]))
    at = draw(st.integers(0, len(text)))
    if how == "truncate":
        return text[:at]
    if how == "wrap":
        depth = draw(st.integers(1, 3000))
        return "[" * depth + text + "]" * depth
    if how == "insert":
        return (
            text[:at] + draw(st.sampled_from(["\ud800", "\udcff", "\x00", "\\ud800", "\\u0000"])) + text[at:]
        )
    raw = bytearray(text.encode("utf-8", "surrogatepass"))
    for _ in range(draw(st.integers(1, 4))):
        raw.insert(draw(st.integers(0, len(raw))), draw(st.sampled_from([0x80, 0xC3, 0xFF, 0xED, 0xF0])))
    return raw.decode("utf-8", "replace" if how == "replace" else "surrogateescape")


# ---- the property --------------------------------------------------------------------------------

# Money that cannot be negative: a balance, an order's size, price and fill, a fill's size and price.
# A fee may be (a maker rebate), so it is only required to be a finite Decimal.
NON_NEGATIVE = {
    Balance: ("total", "available", "locked"),
    Order: ("price", "amount", "filled"),
    Fill: ("price", "amount"),
}
_HINTS: dict[type, dict[str, Any]] = {}


def _field_names(value: object) -> tuple[str, ...] | None:
    """The fields of a model value (msgspec Struct) or an event (dataclass); None for anything else."""
    if isinstance(value, msgspec.Struct):
        return value.__struct_fields__
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tuple(f.name for f in dataclasses.fields(value))
    return None


def check_result(result: object, where: str = "result") -> None:
    """Walk what a parser returned: no float anywhere, every Decimal finite, every dataclass field of
    its declared type, the money of NON_NEGATIVE never below zero."""
    if isinstance(result, float):
        raise AssertionError(f"{where} is a float: {result!r}")
    if isinstance(result, Decimal):
        assert result.is_finite(), f"{where} is not finite: {result!r}"
        return
    if isinstance(result, str | int | bool | Enum | None):
        return
    names = _field_names(result)
    if names is not None:
        cls = type(result)
        hints = _HINTS.get(cls)
        if hints is None:
            hints = _HINTS[cls] = typing.get_type_hints(cls)
        for name in names:
            value = getattr(result, name)
            expected = hints[name]
            if expected in (Decimal, str, int, bool):
                ok = isinstance(value, expected) and (expected is bool or not isinstance(value, bool))
                assert ok, f"{where}.{name} is {type(value).__name__}, not {expected.__name__}"
            check_result(value, f"{where}.{name}")
        for name in NON_NEGATIVE.get(cls, ()):
            assert getattr(result, name) >= 0, f"{where}.{name} is negative: {result!r}"
        return
    if isinstance(result, dict):
        for key, value in result.items():
            check_result(key, f"{where} key")
            check_result(value, f"{where}[{key!r}]")
        return
    if isinstance(result, list | tuple | frozenset | set):
        for index, value in enumerate(result):
            check_result(value, f"{where}[{index}]")
        return
    # Anything else (a parser's own table such as coinsph Symbols) is checked by its own tests.


def holds(call: Callable[[str], object], text: str, errors: tuple[type[BaseException], ...] = ()) -> None:
    """The property: `call(text)` returns typed, exact values or raises a typed parse error."""
    try:
        result = call(text)
    except (MalformedFrame, *errors):
        return
    check_result(result)
