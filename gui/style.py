"""The look shared by every widget: state colours and the little coloured state lights."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from streams.model import Side, State

STATE_COLOURS: dict[State, str] = {
    State.LIVE: "#2e9d4a",
    State.SYNCING: "#2f7fd1",
    State.CONNECTING: "#2f7fd1",
    State.STALE: "#d98e04",
    State.RECONNECTING: "#d98e04",
    State.AUTH_ERROR: "#d0342c",
    State.OFFLINE: "#8a8f98",
}
SIDE_COLOURS: dict[Side, str] = {Side.BUY: "#23884a", Side.SELL: "#c23a32"}
STALE_TEXT = "#9aa0a6"  # greyed-out data kept from before the connection dropped
LATE_COLOUR = "#b26b00"
ERROR_COLOUR = "#d0342c"
STATE_ICON_SIZE = 12


def state_colour(state: State) -> QColor:
    return QColor(STATE_COLOURS[state])


@cache
def state_icon(state: State, size: int = STATE_ICON_SIZE) -> QIcon:
    """A filled circle in the state's colour: the 'light' in tab titles and the overview."""
    scale = 2  # drawn at twice the size so it stays crisp on high-dpi screens
    pixmap = QPixmap(size * scale, size * scale)
    pixmap.setDevicePixelRatio(scale)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = state_colour(state)
    painter.setPen(colour.darker(130))
    painter.setBrush(colour)
    painter.drawEllipse(QRectF(1, 1, size - 2, size - 2))
    painter.end()
    return QIcon(pixmap)


def app_icon() -> QIcon:
    """The app's icon, from the `resources` package (importlib.resources: also works from a wheel)."""
    from importlib.resources import files

    svg = files("resources").joinpath("account-monitor.svg").read_bytes()
    pixmap = QPixmap()
    pixmap.loadFromData(svg, "SVG")
    return QIcon(pixmap)
