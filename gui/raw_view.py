"""The raw data window: the last payload per channel exactly as the exchange sent it, pretty-printed
and updated live. For exchanges whose payload fields are not published (Bitzoom), so that nothing is
hidden when the mapping to balances and orders is unsure: every field the tables leave out is here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QDialog, QLabel, QPlainTextEdit, QTabWidget, QVBoxLayout, QWidget

from gui.text import clock
from streams.model import now_ms


def pretty(text: str) -> str:
    """A JSON text indented, with every number exactly as it was written (no float round trip);
    anything that is not JSON is shown as it is."""
    try:
        value = json.loads(text, parse_float=_Literal, parse_int=_Literal)
    except ValueError:
        return text
    return _dump(value, 0)


class _Literal(str):
    """A number's source text, kept verbatim."""


def _dump(value: object, depth: int) -> str:
    pad, inner = "  " * depth, "  " * (depth + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = (
            f"{inner}{json.dumps(k, ensure_ascii=False)}: {_dump(v, depth + 1)}" for k, v in value.items()
        )
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(f"{inner}{_dump(v, depth + 1)}" for v in value) + f"\n{pad}]"
    if isinstance(value, _Literal):
        return str.__str__(value)
    return json.dumps(value, ensure_ascii=False)


class RawDataWindow(QDialog):
    """One tab per channel (stream channels and REST answers alike); not modal, so it can stay open
    beside the window while the payloads change."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{title}: raw data")
        self.resize(720, 560)
        note = QLabel(
            "The last payload of each channel, verbatim. Its fields are not fully published: the "
            "tables show what could be mapped, this shows everything that was sent."
        )
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(placeholder-text);")
        self.tabs = QTabWidget()
        self.editors: dict[str, QPlainTextEdit] = {}
        self.received: dict[str, QLabel] = {}
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.tabs, 1)

    def show_payloads(self, raw: Mapping[str, str]) -> None:
        """Show the given channels' payloads (the others keep theirs); the reader's scroll position
        is kept when a payload is replaced."""
        stamp = clock(now_ms())
        for channel, text in raw.items():
            editor = self._editor(channel)
            shown = pretty(text)
            if editor.toPlainText() != shown:
                bar = editor.verticalScrollBar()
                position = bar.value()
                editor.setPlainText(shown)
                bar.setValue(position)
            self.received[channel].setText(f"received {stamp}")

    def _editor(self, channel: str) -> QPlainTextEdit:
        if channel not in self.editors:
            page = QWidget()
            editor = QPlainTextEdit()
            editor.setObjectName(channel)
            editor.setReadOnly(True)
            editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
            editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
            received = QLabel()
            received.setStyleSheet("color: palette(placeholder-text);")
            layout = QVBoxLayout(page)
            layout.setContentsMargins(4, 4, 4, 4)
            layout.addWidget(received)
            layout.addWidget(editor, 1)
            self.editors[channel] = editor
            self.received[channel] = received
            self.tabs.addTab(page, channel)
        return self.editors[channel]
