"""'Test connection': run an account through the real engine until it is live or refused, and report the
exchange's own answer. Generic over the registry: a new exchange is tested the way it will run."""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass

import aiohttp

from streams.config import AccountConfig
from streams.engine import AccountRunner, Timing, Update
from streams.exchange import Credentials, ExchangeSpec
from streams.key_rights import KeyRights, key_rights_of
from streams.model import State, Status

_RETRY_NOTE = re.compile(r" \(retrying in [^)]*\)$")


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    answer: str  # "connected: ..." or the exchange's own words (e.g. "HTTP 401: Invalid signature")
    rights: KeyRights | None = None
    rights_known: bool = False  # False: the exchange does not report a key's rights (or the probe failed)


async def probe_account(
    account: AccountConfig, spec: ExchangeSpec, credentials: Credentials, *, timeout_s: float = 20.0
) -> ProbeResult:
    """Connect, authenticate, subscribe and load the snapshot once; stop at `live` or `auth_error`."""
    statuses: list[Status] = []
    settled = asyncio.Event()

    def sink(update: Update) -> None:
        if isinstance(update, Status):
            statuses.append(update)
            if update.state in (State.LIVE, State.AUTH_ERROR):
                settled.set()

    timing = Timing(
        auth_retry_s=3600.0,
        auth_retry_cap_s=3600.0,
        open_timeout_s=timeout_s / 2,
        rest_timeout_s=timeout_s / 2,
    )
    runner = AccountRunner(account, spec, credentials, sink, timing=timing)
    task = asyncio.create_task(runner.run(), name=f"probe:{account.id}")
    try:
        async with asyncio.timeout(timeout_s):
            await settled.wait()
    except TimeoutError:
        last = statuses[-1].detail if statuses else "nothing happened"
        return ProbeResult(False, f"no answer within {timeout_s:g} s; last: {last}")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    status = next(s for s in reversed(statuses) if s.state in (State.LIVE, State.AUTH_ERROR))
    if status.state is State.AUTH_ERROR:
        return ProbeResult(False, _RETRY_NOTE.sub("", status.detail))
    store = runner.store
    answer = f"connected: {len(store.balances)} balances, {len(store.orders)} open orders"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s / 2)) as http:
        rest = spec.make_rest(account, credentials, http)
        known = hasattr(rest, "key_rights")
        try:
            rights = await key_rights_of(rest)
        except Exception as exc:  # the connection works; only the rights call failed: say so, not fail
            return ProbeResult(True, f"{answer}; the key's rights could not be read ({exc})")
    return ProbeResult(True, answer, rights, known)


def rights_text(spec_title: str, result: ProbeResult) -> str:
    """One line about the key's rights, for the dialog and `accounts list --check`."""
    if not result.ok:
        return ""
    if not result.rights_known or result.rights is None:
        return f"{spec_title} does not report what a key may do; make sure it is read-only"
    return f"key rights: {result.rights.describe()}"
