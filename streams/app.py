"""What the GUI and the headless mode share: the accounts to run, from the config or from the demo."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

from streams.config import AccountConfig, load_config
from streams.credentials import CredentialsError, load_credentials
from streams.exchange import Credentials, ExchangeSpec
from streams.exchanges import EXCHANGES


@dataclass(frozen=True, slots=True)
class AccountEntry:
    """One account ready to run, or the reason it cannot (shown in its tab; the others keep running)."""

    config: AccountConfig
    spec: ExchangeSpec | None
    credentials: Credentials | None = None
    error: str | None = None


EntriesFactory = Callable[[], AbstractAsyncContextManager[list[AccountEntry]]]
"""What the GUI and the headless mode are handed: entering it yields the accounts (and, for the demo,
starts the simulators on the running loop; leaving it stops them)."""


def configured_accounts(path: Path) -> list[AccountEntry]:
    """The enabled accounts from the config file with their keyring secrets. Raises ConfigError for a
    bad file."""
    entries = []
    for account in load_config(path):
        if not account.enabled:
            continue
        spec = EXCHANGES.get(account.exchange)
        if spec is None:
            entries.append(AccountEntry(account, None, error=f"{account.exchange} is not supported yet"))
            continue
        try:
            entries.append(AccountEntry(account, spec, load_credentials(account.id, spec.secret_fields)))
        except CredentialsError as exc:
            entries.append(AccountEntry(account, spec, error=str(exc)))
    return entries


@contextlib.asynccontextmanager
async def demo_accounts(activity_interval_s: float = 1.0, seed: int = 7) -> AsyncIterator[list[AccountEntry]]:
    """One simulator per exchange on 127.0.0.1, and an account pointed at each: no key, no network."""
    async with contextlib.AsyncExitStack() as stack:
        entries = []
        for number, spec in enumerate(EXCHANGES.values()):
            simulator = spec.make_simulator(seed=seed + number, activity_interval_s=activity_interval_s)
            await simulator.start()
            stack.push_async_callback(simulator.stop)
            account = AccountConfig(
                id=f"demo-{spec.name}",
                exchange=spec.name,
                label=f"{spec.title} demo",
                ws_url=simulator.ws_url,
                rest_url=simulator.rest_url,
                simulated=True,
            )
            entries.append(AccountEntry(account, spec, Credentials(dict(simulator.credentials))))
        yield entries
