"""The `account-monitor` command line: a stable contract that users script against (see README).

    account-monitor [--demo] [--config PATH] [-v|-vv]             the window
    account-monitor --headless [--demo] [--config PATH] [--for S]  JSON Lines on stdout
    account-monitor accounts add ID --exchange EX [--label L] | list [--json] [--check] | remove ID | enable ID
                             | disable ID
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

from streams import __version__, accounts, credentials, redaction
from streams.app import AccountEntry, EntriesFactory, configured_accounts, demo_accounts
from streams.config import (
    KNOWN_EXCHANGES,
    SECRET_FIELDS,
    AccountConfig,
    ConfigError,
    default_config_path,
    load_config,
)
from streams.exchange import Credentials

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
        credentials.INSECURE_FLAG,
        action="store_true",
        help="keep secrets in a keyring backend that is NOT secure (e.g. a plain file); not recommended",
    )
    parser.add_argument(
        "--for", dest="duration", type=float, metavar="SECONDS", help="headless: stop after SECONDS"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log connection events to stderr; -vv: also protocol debug logs (secrets are masked)",
    )
    commands = parser.add_subparsers(dest="command", metavar="{accounts,simulate}")

    actions = commands.add_parser(
        "accounts", help="add, list, remove, enable or disable accounts"
    ).add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add an account; secrets are read from the terminal or stdin JSON")
    add.add_argument("id")
    add.add_argument("--exchange", required=True, choices=KNOWN_EXCHANGES)
    add.add_argument("--label", default="")
    add.add_argument("--ws-url")
    add.add_argument("--rest-url")
    add.add_argument("--markets", nargs="*", default=[], metavar="BASE/QUOTE")
    listing = actions.add_parser("list", help="list accounts (never prints a secret)")
    listing.add_argument("--json", action="store_true", help="one JSON object per account")
    listing.add_argument(
        "--check",
        action="store_true",
        help="also connect each enabled account and show the exchange's answer and the key's rights",
    )
    remove = actions.add_parser("remove", help="remove an account and its keyring entry")
    remove.add_argument("id")
    for action, what in (
        ("enable", "run the account again"),
        ("disable", "keep the account but do not run it"),
    ):
        actions.add_parser(action, help=what).add_argument("id")

    simulate = commands.add_parser("simulate", help="run one exchange simulator on its own")
    simulate.add_argument("exchange", choices=KNOWN_EXCHANGES)
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, default=0, help="websocket port; REST listens on PORT+1")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    redaction.install()  # every logger, every handler, and crash tracebacks: see streams/redaction.py
    # websockets logs every header and frame at DEBUG: only with -vv (and then redacted).
    logging.getLogger("websockets").setLevel(max(level, logging.INFO) if args.verbose < 2 else level)
    credentials.allow_insecure_keyring(args.allow_insecure_keyring)
    config_path: Path = args.config or default_config_path()
    try:
        if args.command == "accounts":
            return _accounts(args, config_path)
        if args.command == "simulate":
            return _simulate(args.exchange, args.host, args.port)
        if args.headless:
            return _headless(_entries_factory(args.demo, config_path), args.duration)
        _require_display()
        # The window may start with no account: it opens the accounts dialog then.
        entries = _entries_factory(args.demo, config_path, allow_empty=True)
        from gui.app import run_gui  # Qt is loaded only for the window

        return run_gui(entries, config_path=None if args.demo else config_path)
    except (ConfigError, UsageError, credentials.CredentialsError, accounts.AccountInputError) as exc:
        print(f"account-monitor: {redaction.redact(str(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 0


def _entries_factory(demo: bool, config_path: Path, *, allow_empty: bool = False) -> EntriesFactory:
    if demo:
        return demo_accounts
    entries = configured_accounts(config_path)  # config errors surface now, before any window opens
    if not entries and not allow_empty:
        if load_config(config_path):
            raise UsageError(
                f"every account in {config_path} is disabled; 'account-monitor accounts enable ID' runs one again"
            )
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
    if args.action == "add":
        _add(args, path)
    elif args.action == "list":
        _list(load_config(path), as_json=args.json, check=args.check)
    elif args.action == "remove":
        accounts.remove_account(path, args.id)
        print(f"removed {args.id}")
    else:
        accounts.set_enabled(path, args.id, args.action == "enable")
        print(f"{args.action}d {args.id}")
    return 0


def _add(args: argparse.Namespace, path: Path) -> None:
    account = AccountConfig(
        id=args.id,
        exchange=args.exchange,
        label=args.label,
        ws_url=args.ws_url,
        rest_url=args.rest_url,
        markets=tuple(args.markets),
    )
    accounts.check_account(account, load_config(path))  # before asking for secrets
    secrets = accounts.clean_secrets(args.exchange, _read_secrets(SECRET_FIELDS[args.exchange]))
    for name, note in secrets.notes.items():
        print(f"account-monitor: note: {name} {note}", file=sys.stderr)
    account = accounts.add_account(path, account, secrets.values)
    print(f"added {account.id} ({args.exchange}) to {path}; secrets are in the system keyring")


def _read_secrets(fields: tuple[str, ...]) -> dict[str, object]:
    """From a terminal: one hidden prompt per field. Otherwise: one JSON object on stdin."""
    if sys.stdin.isatty():
        return {f: getpass.getpass(f"{f}: ") for f in fields}
    try:
        values = json.loads(sys.stdin.read())
    except ValueError:
        raise UsageError(f"stdin must be one JSON object with {', '.join(fields)}") from None
    if not isinstance(values, dict):
        raise UsageError(f"stdin must be one JSON object with {', '.join(fields)}")
    return values


def _list(configured: list[AccountConfig], *, as_json: bool, check: bool = False) -> None:
    for account in configured:
        found: Credentials | None = None
        try:
            found = credentials.load_credentials(account.id, SECRET_FIELDS[account.exchange])
            keys = "stored"
        except (credentials.InsecureKeyring, credentials.KeyringLocked):
            raise  # not about this account: the whole keyring is unusable; say so once
        except credentials.CredentialsError:
            keys = "missing"
        row: dict[str, object] = {
            "id": account.id,
            "exchange": account.exchange,
            "label": account.label,
            "keys": keys,
            "enabled": account.enabled,
        }
        fields = [account.id, account.exchange, account.label or "-", f"keys {keys}"]
        if not account.enabled:
            fields.append("disabled")
        if check:
            row["check"] = _check(account, found)
            result = row["check"]
            assert isinstance(result, dict)
            fields.append(f"{'ok' if result['ok'] else 'failed'}: {result['answer']}")
            if result.get("rights_text"):
                fields.append(str(result["rights_text"]))
            if result.get("warning"):
                fields.append(f"WARNING: {result['warning']}")
        print(json.dumps(row) if as_json else "\t".join(fields))


def _check(account: AccountConfig, found: Credentials | None) -> dict[str, object]:
    """`accounts list --check`: the probe's result as JSON-ready values."""
    from streams.exchanges import EXCHANGES
    from streams.probe import probe_account, rights_text

    spec = EXCHANGES.get(account.exchange)
    if spec is None or found is None or not account.enabled:
        why = "not supported yet" if spec is None else "no keys" if found is None else "disabled"
        return {"ok": False, "answer": f"not checked: {why}", "rights": None}
    result = asyncio.run(probe_account(account, spec, found))
    rights = result.rights
    return {
        "ok": result.ok,
        "answer": result.answer,
        "rights": rights.as_json() if rights else None,
        "rights_text": rights_text(spec.title, result),
        "warning": rights.warning() if rights else None,
    }


if __name__ == "__main__":
    sys.exit(main())
