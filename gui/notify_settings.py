"""Per-account notification settings and 'close to tray', kept in QSettings.

Why QSettings and not the accounts file: these are preferences of this desktop (like the window's
geometry), only the GUI notifies (the headless mode does not), and the accounts file belongs to the
accounts dialog and the CLI: keeping notification prefs out of it leaves its format alone.
Keys: notifications/<account id>/{notify_on,min_notional,sound,do_not_disturb}, tray/close_to_tray.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from PySide6.QtCore import QSettings

from streams.alerts import AlertSettings, NotifyOn

_CLOSE_TO_TRAY = "tray/close_to_tray"


def parse_notional(text: str) -> Decimal | None:
    """A minimum notional as typed ('', '1000', '1,000.5'); None if it is not a non-negative number."""
    cleaned = text.replace(",", "").replace("_", "").strip() or "0"
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() and value >= 0 else None


class NotificationSettings:
    """Reads and writes the settings; `load` is called at each decision, so a change applies at once."""

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    @staticmethod
    def _key(account: str, name: str) -> str:
        return f"notifications/{account}/{name}"

    def load(self, account: str) -> AlertSettings:
        default = AlertSettings()
        s = self.settings
        try:
            notify_on = NotifyOn(s.value(self._key(account, "notify_on"), default.notify_on.value, type=str))
        except ValueError:
            notify_on = default.notify_on
        notional = parse_notional(s.value(self._key(account, "min_notional"), "0", type=str)) or Decimal(0)
        return AlertSettings(
            notify_on=notify_on,
            min_notional=notional,
            sound=bool(s.value(self._key(account, "sound"), default.sound, type=bool)),
            do_not_disturb=bool(
                s.value(self._key(account, "do_not_disturb"), default.do_not_disturb, type=bool)
            ),
        )

    def save(self, account: str, chosen: AlertSettings) -> None:
        s = self.settings
        s.setValue(self._key(account, "notify_on"), chosen.notify_on.value)
        s.setValue(self._key(account, "min_notional"), format(chosen.min_notional, "f"))
        s.setValue(self._key(account, "sound"), chosen.sound)
        s.setValue(self._key(account, "do_not_disturb"), chosen.do_not_disturb)
        s.sync()

    @property
    def close_to_tray(self) -> bool:
        return bool(self.settings.value(_CLOSE_TO_TRAY, False, type=bool))

    @close_to_tray.setter
    def close_to_tray(self, on: bool) -> None:
        self.settings.setValue(_CLOSE_TO_TRAY, on)
        self.settings.sync()
