"""How times and states read on screen, in one place so every widget says it the same way."""

from __future__ import annotations

from datetime import datetime

from streams.model import State

STATE_TEXT: dict[State, str] = {
    State.CONNECTING: "Connecting",
    State.SYNCING: "Syncing",
    State.LIVE: "Live",
    State.STALE: "Stale",
    State.RECONNECTING: "Reconnecting",
    State.AUTH_ERROR: "Auth error",
    State.OFFLINE: "Offline",
}


def ago(last_ms: int, now_ms: int) -> str:
    """'4 s ago', '2 min ago': coarse on purpose, so a stalled account reads as stale at a glance."""
    if last_ms <= 0:
        return "no data yet"
    seconds = max(0, (now_ms - last_ms) // 1000)
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def updated_ago(last_ms: int, now_ms: int) -> str:
    """The account header's 'updated 4 s ago' (or 'no data yet')."""
    return f"updated {ago(last_ms, now_ms)}" if last_ms > 0 else ago(last_ms, now_ms)


def clock(ms: int) -> str:
    """Local wall-clock time of an exchange timestamp, for the activity list."""
    return datetime.fromtimestamp(ms // 1000).strftime("%H:%M:%S")


def date_time(ms: int) -> str:
    """Local date and time of an exchange timestamp, for order rows and tooltips."""
    return datetime.fromtimestamp(ms // 1000).strftime("%Y-%m-%d %H:%M:%S")
