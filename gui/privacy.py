"""Privacy mode: one switch that hides every amount on screen (balances, orders, fills, overview totals),
for screen sharing or a busy café. Persisted in QSettings.

Amounts are hidden where they are formatted: `gui.columns.ColumnsModel` shows `HIDDEN` in place of every
numeric column's text while the switch is on, and repaints all its rows when it flips, so every table,
today's and tomorrow's, follows without code of its own. Anything else that shows an amount (desktop
notifications) asks `amounts_hidden()` or formats through `amount_text()`.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Signal

HIDDEN = "•••••"
SETTINGS_KEY = "privacy/hide_amounts"
SHORTCUT = "Ctrl+Shift+P"


class Privacy(QObject):
    """The one switch. `changed(hidden)` fires when it flips."""

    changed = Signal(bool)

    def __init__(self) -> None:
        super().__init__()
        self._hidden = False

    @property
    def hidden(self) -> bool:
        return self._hidden

    def set_hidden(self, hidden: bool, settings: QSettings | None = None) -> None:
        """Flip the switch (and remember it in `settings`, when given)."""
        if settings is not None:
            settings.setValue(SETTINGS_KEY, hidden)
        if hidden != self._hidden:
            self._hidden = hidden
            self.changed.emit(hidden)

    def restore(self, settings: QSettings) -> None:
        self.set_hidden(settings.value(SETTINGS_KEY, False, type=bool))


_privacy: Privacy | None = None


def privacy() -> Privacy:
    """The process-wide switch (created on first use, after the QApplication)."""
    global _privacy
    if _privacy is None:
        _privacy = Privacy()
    return _privacy


def amounts_hidden() -> bool:
    """For notifications and anything else outside the tables: whether amounts must not be shown."""
    return _privacy is not None and _privacy.hidden


def amount_text(text: str) -> str:
    """`text` (an amount), or the mask while privacy mode is on."""
    return HIDDEN if amounts_hidden() else text
