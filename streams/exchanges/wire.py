"""Limits every exchange parser puts on what a wire number may be, so hostile input ends as a typed
parse error instead of an exception nobody catches, or a stall.

Why: `Decimal("1e999999999")` is a valid, finite Decimal, but `int()` of it builds a billion-digit
integer (the stream stalls) and arithmetic on it raises `decimal.Overflow`, which is no ValueError.
No amount, price, id or timestamp of any exchange comes near 10**40, nor needs 40 decimal places.
And json's decoder raises RecursionError (not ValueError) on deeply nested input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import msgspec

from streams.events import MalformedFrame

T = TypeVar("T")

JSON_ERRORS = (ValueError, RecursionError)  # what decode_json (and json.loads) raise on unusable text
# `json.loads(text, parse_float=Decimal)`, 2.4 to 3 times faster: msgspec hands each JSON float's own
# text to Decimal and keeps integers of any size exact, as json does (tests/test_wire.py compares
# them). Its errors are ValueErrors (msgspec.DecodeError, UnicodeEncodeError) or RecursionError.
decode_json = msgspec.json.Decoder(float_hook=Decimal).decode


def load_object(text: str) -> dict[str, Any]:
    """A frame or REST body that must be one JSON object, or MalformedFrame saying why it is not."""
    try:
        msg = decode_json(text)
    except JSON_ERRORS as exc:
        raise MalformedFrame(f"not JSON ({exc.args[0][:80]})") from None
    if type(msg) is not dict:
        raise MalformedFrame("not a JSON object")
    return msg


# What reading a decoded frame's members raises when they are missing, of the wrong type or bad numbers:
# every parser turns these into MalformedFrame (bad_fields), so hostile input never escapes untyped.
BAD_FIELDS = (KeyError, TypeError, ValueError, InvalidOperation, AttributeError, IndexError)


def bad_fields(what: str, exc: BaseException) -> MalformedFrame:
    """The MalformedFrame for a BAD_FIELDS error met while reading `what`, in one wording for all."""
    return MalformedFrame(f"{what}: {type(exc).__name__}: {exc}")


def each_item(items: Iterable[Any], make: Callable[[Any], T], what: str) -> tuple[T, ...]:
    """Each item through `make`; any bad item fails the whole answer (a snapshot is all or nothing)."""
    try:
        return tuple(make(item) for item in items)
    except BAD_FIELDS as exc:
        raise bad_fields(what, exc) from None


MAX_EXPONENT = 40  # |adjusted exponent| of a wire number: 10**40 and 10**-40 are out of range


def bounded(number: Decimal, raw: object = None) -> Decimal:
    """`number` if it is finite and within 10**±MAX_EXPONENT (zero always is), else ValueError."""
    if not number.is_finite():
        raise ValueError(f"not a finite amount: {number if raw is None else raw!r}")
    if number and not -MAX_EXPONENT <= number.adjusted() <= MAX_EXPONENT:
        raise ValueError(f"a number out of range: {number if raw is None else raw!r}"[:120])
    return number


# Wire strings already read, and their Decimals (immutable, so shared). A stream repeats the same
# prices, sizes and unchanged balances frame after frame: a dict lookup costs a fifth of building and
# checking the Decimal again. Emptied when full, so it holds at most this many.
_DECIMALS_KEPT = 2_048
_decimals: dict[str, Decimal] = {}


def decimal(value: object) -> Decimal:
    """A finite, bounded Decimal from a wire string or integer. Floats never reach here: the JSON
    decoders hand every fractional number over as its own text, as a Decimal."""
    if type(value) is str:  # the usual case first: every amount of every frame comes through here
        number = _decimals.get(value)
        if number is None:
            number = bounded(Decimal(value), value)
            if len(_decimals) >= _DECIMALS_KEPT:
                _decimals.clear()
            _decimals[value] = number
        return number
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return bounded(Decimal(value), value)
    raise ValueError(f"not a decimal: {value!r}")


def integer(number: Decimal, raw: object = None) -> int:
    """A bounded Decimal as an int (truncated toward zero)."""
    return int(bounded(number, raw))
