"""The `account-monitor` command line: a stable contract that users script against (see README).

    account-monitor [--demo] [--config PATH]                      the window
    account-monitor --headless [--demo] [--config PATH] [--for S]  JSON Lines on stdout
    account-monitor accounts add ID --exchange EX [--label L] | list [--json] | remove ID
    account-monitor simulate EX [--host H] [--port N]

Exit codes: 0 done, 2 bad input (config, account, arguments), 1 anything unexpected.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import logging
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from streams import __version__, credentials
from streams.app import AccountEntry, EntriesFactory, configured_accounts, demo_accounts
from streams.config import (
    KNOWN_EXCHANGES,
    SECRET_FIELDS,
    AccountConfig,
    ConfigError,
    default_config_path,
    load_config,
    save_config,
)

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="account-monitor",
        description="Live balances, open orders and fills of your crypto exchange accounts.",
    )
    parser.add_argument(
        "--demo", action="store_true", help="run on local simulated exchanges (no account needed)"
    )
    parser.add_argument("--config", type=Path, help=f"accounts file (default: {default_config_path()})")
    parser.add_argument("--headless", action="store_true", help="no window: JSON Lines on stdout")
    parser.add_argument(
        "--for", dest="duration", type=float, metavar="SECONDS", help="headless: stop after SECONDS"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log connection events to stderr")
    commands = parser.add_subparsers(dest="command", metavar="{accounts,simulate}")

    accounts = commands.add_parser("accounts", help="add, list or remove accounts").add_subparsers(
        dest="action", required=True
    )
    add = accounts.add_parser("add", help="add an account; secrets are read from the terminal or stdin JSON")
    add.add_argument("id")
    add.add_argument("--exchange", required=True, choices=KNOWN_EXCHANGES)
    add.add_argument("--label", default="")
    add.add_argument("--ws-url")
    add.add_argument("--rest-url")
    add.add_argument("--markets", nargs="*", default=[], metavar="BASE/QUOTE")
    listing = accounts.add_parser("list", help="list accounts (never prints a secret)")
    listing.add_argument("--json", action="store_true", help="one JSON object per account")
    remove = accounts.add_parser("remove", help="remove an account and its keyring entry")
    remove.add_argument("id")

    simulate = commands.add_parser("simulate", help="run one exchange simulator on its own")
    simulate.add_argument("exchange", choices=KNOWN_EXCHANGES)
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, default=0, help="websocket port; REST listens on PORT+1")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # websockets logs handshake headers (API keys, signatures) at DEBUG: never let those through.
    logging.getLogger("websockets").setLevel(max(level, logging.INFO))
    config_path: Path = args.config or default_config_path()
    try:
        if args.command == "accounts":
            return _accounts(args, config_path)
        if args.command == "simulate":
            return _simulate(args.exchange, args.host, args.port)
        entries = _entries_factory(args.demo, config_path)
        if args.headless:
            return _headless(entries, args.duration)
        _require_display()
        from gui.app import run_gui  # Qt is loaded only for the window

        return run_gui(entries)
    except (ConfigError, UsageError, credentials.CredentialsError) as exc:
        print(f"account-monitor: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 0


def _entries_factory(demo: bool, config_path: Path) -> EntriesFactory:
    if demo:
        return demo_accounts
    entries = configured_accounts(config_path)  # config errors surface now, before any window opens
    if not entries:
        raise UsageError(
            f"no accounts in {config_path}; add one with 'account-monitor accounts add ID --exchange EX', "
            "or try 'account-monitor --demo'"
        )

    @contextlib.asynccontextmanager
    async def configured() -> AsyncIterator[list[AccountEntry]]:
        yield entries

    return configured


def _require_display() -> None:
    """Without a display Qt aborts with a page of plugin errors; say it in one line instead."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")
    ):
        raise UsageError("no display to open the window on (DISPLAY is not set); try --headless")


def _headless(entries_factory: EntriesFactory, duration: float | None) -> int:
    from streams.headless import run_headless

    async def run() -> None:
        async with entries_factory() as entries:
            broken = [e for e in entries if e.error]
            if broken:
                raise UsageError("; ".join(str(e.error) for e in broken))
            await run_headless(entries, duration)

    asyncio.run(run())
    return 0


def _simulate(exchange: str, host: str, port: int) -> int:
    from streams.exchanges import EXCHANGES

    spec = EXCHANGES.get(exchange)
    if spec is None:
        raise UsageError(f"no simulator for {exchange} yet; available: {', '.join(EXCHANGES)}")

    from streams.simulator.base import serve_until_cancelled

    simulator = spec.make_simulator(activity_interval_s=1.0)
    asyncio.run(serve_until_cancelled(simulator, host, port or None))
    return 0


# ---------------------------------------------------------------------- accounts


def _accounts(args: argparse.Namespace, path: Path) -> int:
    accounts = load_config(path)
    if args.action == "add":
        _add(args, path, accounts)
    elif args.action == "list":
        _list(accounts, as_json=args.json)
    else:
        _remove(args.id, path, accounts)
    return 0


def _add(args: argparse.Namespace, path: Path, accounts: list[AccountConfig]) -> None:
    account_id = args.id.strip()
    if not account_id:
        raise UsageError("the account id must not be empty")
    if any(a.id == account_id for a in accounts):
        raise UsageError(f"{path}: account {account_id!r} exists already; remove it first or pick another id")
    secrets = _read_secrets(SECRET_FIELDS[args.exchange])
    account = AccountConfig(
        id=account_id,
        exchange=args.exchange,
        label=args.label,
        ws_url=args.ws_url,
        rest_url=args.rest_url,
        markets=tuple(m.upper() for m in args.markets),
    )
    credentials.store_credentials(account_id, secrets)
    try:
        save_config(path, [*accounts, account])
    except OSError:
        credentials.delete_credentials(account_id)  # nothing saved half-way
        raise
    print(f"added {account_id} ({args.exchange}) to {path}; secrets are in the system keyring")


def _read_secrets(fields: tuple[str, ...]) -> dict[str, str]:
    """From a terminal: one hidden prompt per field. Otherwise: one JSON object on stdin."""
    if sys.stdin.isatty():
        values = {f: getpass.getpass(f"{f}: ") for f in fields}
    else:
        try:
            values = json.loads(sys.stdin.read())
        except ValueError:
            raise UsageError(f"stdin must be one JSON object with {', '.join(fields)}") from None
        if not isinstance(values, dict):
            raise UsageError(f"stdin must be one JSON object with {', '.join(fields)}")
    cleaned = {f: values[f].strip() for f in fields if isinstance(values.get(f), str)}
    missing = [f for f in fields if not cleaned.get(f)]
    if missing:
        raise UsageError(f"missing or empty: {', '.join(missing)} (needed: {', '.join(fields)})")
    return cleaned


def _list(accounts: list[AccountConfig], *, as_json: bool) -> None:
    for account in accounts:
        try:
            credentials.load_credentials(account.id, SECRET_FIELDS[account.exchange])
            keys = "stored"
        except credentials.CredentialsError:
            keys = "missing"
        if as_json:
            print(
                json.dumps(
                    {"id": account.id, "exchange": account.exchange, "label": account.label, "keys": keys}
                )
            )
        else:
            print(f"{account.id}\t{account.exchange}\t{account.label or '-'}\tkeys {keys}")


def _remove(account_id: str, path: Path, accounts: list[AccountConfig]) -> None:
    if not any(a.id == account_id for a in accounts):
        raise UsageError(f"{path}: no account {account_id!r}; 'account-monitor accounts list' shows them")
    save_config(path, [a for a in accounts if a.id != account_id])
    credentials.delete_credentials(account_id)
    print(f"removed {account_id}")


if __name__ == "__main__":
    sys.exit(main())
