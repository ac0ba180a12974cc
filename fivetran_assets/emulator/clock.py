"""Time-scaled clock of the local Fivetran.

With ``time_scale=60`` a Fivetran minute lasts one real second: schedules, rate-limit windows and
webhook retry delays all read and wait through this clock, so tests can exercise hour-long
behaviour quickly. Fivetran time starts at the real time the clock is created and then runs
``time_scale`` times faster.

``advance`` jumps Fivetran time forward (the `/_local/clock` control): a test can then keep real
time and Fivetran time one to one and still reach a schedule's next tick at once, so what it
checks does not depend on how fast the machine is. Waits (a sync's minimum duration) end early
when a jump passes their deadline.
"""

from __future__ import annotations

import bisect
import threading
import time
from datetime import UTC, datetime, timedelta

WAIT_SLICE = 0.2
"""Longest real sleep of `wait` before it looks whether the clock jumped past its deadline."""


class Clock:
    def __init__(self, time_scale: float = 1.0, *, start: datetime | None = None) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be positive, got {time_scale}")
        self.time_scale = float(time_scale)
        self._real_origin = time.monotonic()
        self._origin = start or datetime.now(UTC)
        self._lock = threading.Lock()
        self._jumps: list[float] = []  # real monotonic moments of the jumps, in order
        self._skipped: list[float] = [0.0]  # Fivetran seconds jumped over up to each of them

    def _elapsed(self, real_monotonic: float) -> float:
        """Fivetran seconds from the origin to a real moment, jumps made by then included."""
        with self._lock:
            skipped = self._skipped[bisect.bisect_right(self._jumps, real_monotonic)]
        return (real_monotonic - self._real_origin) * self.time_scale + skipped

    def now(self) -> datetime:
        """Current Fivetran time (timezone-aware UTC)."""
        return self._origin + timedelta(seconds=self._elapsed(time.monotonic()))

    def at(self, real_monotonic: float) -> datetime:
        """The Fivetran time of a moment read from ``time.monotonic()`` (data-plane stamps)."""
        return self._origin + timedelta(seconds=self._elapsed(real_monotonic))

    def monotonic(self) -> float:
        """Fivetran seconds elapsed since the clock started (for windows and deadlines)."""
        return self._elapsed(time.monotonic())

    def advance(self, fivetran_seconds: float) -> datetime:
        """Jump Fivetran time forward by ``fivetran_seconds``; returns the new time."""
        if fivetran_seconds < 0:
            raise ValueError(f"the clock only moves forward, not by {fivetran_seconds}")
        with self._lock:
            self._jumps.append(time.monotonic())
            self._skipped.append(self._skipped[-1] + fivetran_seconds)
        return self.now()

    def real_seconds(self, fivetran_seconds: float) -> float:
        """How long ``fivetran_seconds`` of Fivetran time last in real time (without jumps)."""
        return max(0.0, fivetran_seconds) / self.time_scale

    def sleep(self, fivetran_seconds: float) -> None:
        time.sleep(self.real_seconds(fivetran_seconds))

    def wait(self, event: threading.Event, fivetran_seconds: float) -> bool:
        """Wait on ``event`` for up to ``fivetran_seconds`` of Fivetran time; True if it was set.
        A jump of the clock past the deadline ends the wait within `WAIT_SLICE` real seconds."""
        deadline = self.monotonic() + fivetran_seconds
        while True:
            remaining = deadline - self.monotonic()
            if remaining <= 0:
                return event.is_set()
            if event.wait(min(self.real_seconds(remaining), WAIT_SLICE)):
                return True


def iso(dt: datetime | None) -> str | None:
    """Fivetran's timestamp format: ISO-8601 UTC with microseconds and a ``Z``."""
    if dt is None:
        return None
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
