"""What an API key may do, where the exchange says so.

Account Monitor only reads. A key that can also trade or withdraw is a risk if it leaks, so the accounts
dialog and `accounts list --check` show the key's rights and warn about those two.

The hook is optional and per exchange: a `RestClient` may define `async def key_rights(self) -> KeyRights`
(Coins.ph reports `canTrade`/`canWithdraw` on `GET /openapi/v1/account`; Bitzoom lists `api_permissions`
on `GET /api/v1/apikey/list`). BitoPro and Bitstamp publish no such call: their keys' rights are unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class KeyRights:
    """None: the exchange did not say."""

    read: bool | None = True
    trade: bool | None = None
    withdraw: bool | None = None

    @property
    def risky(self) -> bool:
        return bool(self.trade or self.withdraw)

    def describe(self) -> str:
        rights = [name for name in ("read", "trade", "withdraw") if getattr(self, name)]
        unknown = [name for name in ("read", "trade", "withdraw") if getattr(self, name) is None]
        text = ", ".join(rights) or "none"
        return f"{text} (unknown: {', '.join(unknown)})" if unknown else text

    def warning(self) -> str | None:
        """The warning to show, or None for a read-only key."""
        powers = " and ".join(name for name in ("trade", "withdraw") if getattr(self, name))
        if not powers:
            return None
        return (
            f"This key can {powers}. Account Monitor only reads: a read-only key is safer if it ever leaks."
        )

    def as_json(self) -> dict[str, bool | None]:
        return {"read": self.read, "trade": self.trade, "withdraw": self.withdraw}


async def key_rights_of(rest: Any) -> KeyRights | None:
    """The key's rights from the exchange's REST client, or None where the exchange does not report them."""
    method = getattr(rest, "key_rights", None)
    if method is None:
        return None
    return await method()
