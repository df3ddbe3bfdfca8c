"""What the notification daemon was asked to show, read from the session bus itself.

`dbus-monitor` (a monitor connection: it sees every message on the bus) prints each
org.freedesktop.Notifications.Notify call with its arguments and the bus's receive time; a reader
thread parses them. This is the daemon's side of the conversation, not our process's idea of it.
"""

from __future__ import annotations

import re
import subprocess
import threading
from dataclasses import dataclass

_HEADER = re.compile(r"^method call time=(?P<time>[\d.]+) .*member=Notify$")
_MESSAGE = re.compile(r"^(method call|method return|signal|error) time=[\d.]+ sender=")
_CALL = re.compile(
    r'^   string "(?P<app>.*?)"\n   uint32 (?P<replaces>\d+)\n   string "(?P<icon>.*?)"\n'
    r'   string "(?P<summary>.*?)"\n   string "(?P<body>.*?)"\n   array \[\n(?P<actions>.*?)^   \]\n'
    r"   array \[\n(?P<hints>.*?)^   \]\n   int32 (?P<timeout>-?\d+)",
    re.S | re.M,
)
_STRING = re.compile(r'^\s+string "(.*?)"$', re.M)


@dataclass(frozen=True)
class NotifyCall:
    time: float  # when the bus saw the call (epoch seconds, the monitor's clock)
    app_name: str
    summary: str
    body: str
    actions: tuple[str, ...]
    hints: str


class NotifyWatcher:
    """Collects Notify calls from the moment `start()` returns until `close()`."""

    def __init__(self) -> None:
        self.calls: list[NotifyCall] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._proc: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> NotifyWatcher:
        self._proc = subprocess.Popen(
            ["dbus-monitor", "--session", "interface='org.freedesktop.Notifications',member='Notify'"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.close()
            raise RuntimeError("dbus-monitor did not start")
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        header: re.Match[str] | None = None
        lines: list[str] = []
        for line in self._proc.stdout:
            line = line.rstrip("\n")
            if "member=NameLost" in line:  # the monitor's own setup is done: it now sees everything
                self._ready.set()
            if _MESSAGE.match(line):  # (a multi-line body's later lines do not look like this)
                header, lines = _HEADER.match(line), []
                continue
            if header is None:
                continue
            lines.append(line)
            if line.startswith("   int32 "):
                self._add(header, "\n".join(lines))
                header = None

    def _add(self, header: re.Match[str], text: str) -> None:
        match = _CALL.match(text)
        if match is None:
            raise AssertionError(f"unparsed Notify call:\n{text}")
        call = NotifyCall(
            time=float(header["time"]),
            app_name=match["app"],
            summary=match["summary"],
            body=match["body"],
            actions=tuple(_STRING.findall(match["actions"])),
            hints=match["hints"],
        )
        with self._lock:
            self.calls.append(call)

    def snapshot(self) -> list[NotifyCall]:
        with self._lock:
            return list(self.calls)

    def summaries(self) -> list[str]:
        return [call.summary for call in self.snapshot()]

    def close(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()
