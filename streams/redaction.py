"""Keeps secrets out of every log line, crash message and status text.

One `RedactingFilter` does the masking. It is installed so that nothing goes round it:

- as the log record factory (`logging.setLogRecordFactory`): every record any logger makes (ours,
  websockets', aiohttp's, asyncio's) is redacted the moment it is created, before any handler sees it,
  including handlers added later (pytest's caplog, a library's own StreamHandler) and `logging.lastResort`.
  A filter on a logger would miss records propagated from its children; a filter on handlers would miss
  handlers added after installation. Only enabled levels create records, so a quiet logger costs nothing.
- as a filter on the root logger's handlers, for records that were not made by the factory
  (`logging.makeLogRecord` from a queue or socket fills an empty record afterwards).
- as `sys.excepthook`, `threading.excepthook` and `sys.unraisablehook`: a crash prints a redacted
  traceback.

A record's message is formatted once (`msg % args`), redacted and stored with the arguments cleared. An
exception is formatted to text and redacted into `exc_text`, and `exc_info` is dropped: no formatter can
render the raw exception again, whose text may hold a header, a URL with a listenKey or a login frame.

What is masked: every registered secret (loaded credentials register themselves, see
`streams.exchange.Credentials`; sessions register tokens they obtain at run time with `register_secret`),
also JSON- and URL-escaped; and by pattern, whatever looks like a secret although nobody registered it:
hex digests (HMAC signatures), JWTs, bearer tokens, the value after a sensitive name (`X-...-SIGNATURE:`,
`"listenKey":`, `token=`) and long random-looking tokens (listenKeys, base64 payloads).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "[redacted]"
MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words; no real key or secret is this short

_SENSITIVE_NAME = (
    r"[\w-]*(?:api[-_]?key|apikey|secret|signature|payload|token|listen[-_]?key|jwt|password|passphrase"
    r"|x-auth|access[-_]?key|private[-_]?key)[\w-]*"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer <token> (and Basic)
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]+"), rf"\1\2{MASK}"),
    # a JWT anywhere: base64url JSON header ('{"' encodes as 'eyJ'), payload, signature
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), MASK),
    # the value after a sensitive name: header lines, JSON members, query parameters
    (
        re.compile(
            rf"""(?i)(["']?\b{_SENSITIVE_NAME}["']?\s*[:=]\s*["']?)(?!\[redacted\])([^\s"'&,;}}\]]+)"""
        ),
        rf"\1{MASK}",
    ),
    # hex digests: HMAC signatures (SHA-256: 64, SHA-384: 96 characters)
    (re.compile(r"\b[0-9a-fA-F]{32,}\b"), MASK),
    # long random-looking tokens (listenKeys, base64 payloads): upper, lower case and a digit, 32+ long;
    # '/' splits them, so URL paths stay readable
    (
        re.compile(
            r"(?<![A-Za-z0-9+=_-])(?=[A-Za-z0-9+_-]*[0-9])(?=[A-Za-z0-9+_-]*[a-z])"
            r"(?=[A-Za-z0-9+_-]*[A-Z])[A-Za-z0-9+_-]{32,}={0,2}"
        ),
        MASK,
    ),
)


class Redactor:
    """Masks registered secrets and secret-looking patterns in text. Thread-safe: the registered set is
    replaced, never changed in place, so a log call on another thread sees either the old or the new."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: frozenset[str] = frozenset()
        # Longest first, so a secret containing another is masked whole. Plain substring replacement,
        # not one regex of all of them: every new token would compile a bigger regex, and the `re`
        # module keeps the last 512 compiled (memory that grew through a long session's tokens).
        self._ordered: tuple[str, ...] = ()

    def register(self, values: Iterable[str]) -> None:
        """Mask these values (and their escaped forms) from now on. Values shorter than
        `MIN_SECRET_LENGTH` are ignored."""
        forms = set()
        for value in values:
            if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH:
                continue
            forms |= {
                value,
                json.dumps(value)[1:-1],
                repr(value)[1:-1],
                quote(value, safe=""),
                quote_plus(value),
            }
        with self._lock:
            if forms <= self._values:
                return
            self._values = self._values | forms
            self._ordered = tuple(sorted(self._values, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for value in self._ordered:
            if value in text:
                text = text.replace(value, MASK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def contains_secret(self, text: str) -> bool:
        """Whether `text` holds a registered secret (for tests and assertions)."""
        return any(value in text for value in self._ordered)


REDACTOR = Redactor()


def register_secret(*values: str) -> None:
    """Mask these values in every log record, crash message and status text from now on."""
    REDACTOR.register(values)


def redact(text: str) -> str:
    return REDACTOR.redact(text)


class RedactingFilter(logging.Filter):
    """Redacts a record in place (message, arguments, exception, stack) and lets it through."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.__dict__.get("_redacted_msg", None) is record.msg
            and not record.args
            and not record.exc_info
        ):
            return True  # already done (by the factory, then again by a handler's filter)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging would print msg and args raw in handleError
            message = f"{record.msg} [arguments: {record.args!r}]"
        record.msg = redact(message)
        record.args = ()
        if record.exc_info:
            record.exc_text = redact(self._formatter.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record._redacted_msg = record.msg
        return True


FILTER = RedactingFilter()
_installed = False


def install() -> None:
    """Install the filter for every logger and the crash hooks. Idempotent; call it again after adding
    root handlers (e.g. after `logging.basicConfig`) to put the filter on those too."""
    global _installed
    for handler in logging.getLogger().handlers:
        if FILTER not in handler.filters:
            handler.addFilter(FILTER)
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        FILTER.filter(record)
        return record

    logging.setLogRecordFactory(redacting_factory)
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
    sys.unraisablehook = _unraisablehook


def _print_exception(
    kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None, header: str = ""
) -> None:
    text = "".join(traceback.format_exception(kind, value, tb)) if kind is not None else ""
    if sys.stderr is not None:
        sys.stderr.write(redact(header + text))
        sys.stderr.flush()


def _excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    _print_exception(kind, value, tb)


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "unknown"
    _print_exception(args.exc_type, args.exc_value, args.exc_traceback, f"Exception in thread {name}:\n")


def _unraisablehook(unraisable: Any) -> None:
    where = f"{unraisable.err_msg or 'Exception ignored in'}: {unraisable.object!r}\n"
    _print_exception(unraisable.exc_type, unraisable.exc_value, unraisable.exc_traceback, where)
