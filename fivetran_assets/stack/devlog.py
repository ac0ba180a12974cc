"""What `make dev` shows of `dg dev`'s output: warnings and errors, not routine.

`dg dev` writes everything (the daemon's sensor checks every few seconds, the webserver's
start) to `.state/logs/dagster.log`; the terminal gets only the records at WARNING and above,
with their continuation lines (a traceback, a multi-line message), and Python warnings other
than Dagster's API lifecycle notes (superseded, beta, preview), which a user of this project
cannot act on. The log keeps them all.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

SHOWN_LEVELS = frozenset({"WARNING", "ERROR", "CRITICAL"})
LIFECYCLE_WARNINGS = ("SupersessionWarning", "BetaWarning", "PreviewWarning")

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Dagster's colored/default format: `2026-01-01 12:00:00 +0000 - dagster.daemon - INFO - text`
_RECORD = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} - \S+ - (?P<level>[A-Z]+) - (?P<message>.*)$"
)
# Python's warnings module: `/path/file.py:12: SomeWarning: text`
_PY_WARNING = re.compile(r"^\S+:\d+: (?P<category>\w+Warning): ")


def _lifecycle(text: str) -> bool:
    return any(f"{name}:" in text for name in LIFECYCLE_WARNINGS)


class LogFilter:
    """Decides line by line what reaches the terminal; a line that starts no record (a
    traceback's body, a warning's source line) follows the decision for the record above it."""

    def __init__(self) -> None:
        self._showing = False

    def feed(self, line: str) -> str | None:
        """The line without colour codes when it is shown, else None."""
        plain = _ANSI.sub("", line.rstrip("\r\n"))
        record = _RECORD.match(plain)
        warning = _PY_WARNING.match(plain)
        if record is not None:
            self._showing = record["level"] in SHOWN_LEVELS and not _lifecycle(record["message"])
        elif warning is not None:
            self._showing = warning["category"] not in LIFECYCLE_WARNINGS
        elif plain.startswith("Traceback (most recent call last)"):
            self._showing = True
        return plain if self._showing and plain.strip() else None


class LogFollower:
    """Reads what is appended to a log file from `offset` on, and passes shown lines on."""

    def __init__(self, path: Path, *, offset: int = 0, show: Callable[[str], None]) -> None:
        self.path = path
        self.offset = offset
        self.show = show
        self._filter = LogFilter()
        self._partial = b""

    def pump(self) -> None:
        """Read everything new now (whole lines only; a partial last line waits)."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return
        self.offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        for raw in lines:
            shown = self._filter.feed(raw.decode(errors="replace"))
            if shown is not None:
                self.show(shown)

    def follow(self, alive: Callable[[], bool], *, interval: float = 0.3) -> None:
        """Pump until `alive()` turns false, then once more for the last lines."""
        while alive():
            self.pump()
            time.sleep(interval)
        self.pump()


def log_size(path: Path) -> int:
    """Where new output will start (0 for a log not written yet)."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
