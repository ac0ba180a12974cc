"""Time-scaled clock of the local Fivetran.

With ``time_scale=60`` a Fivetran minute lasts one real second: schedules, rate-limit windows and
webhook retry delays all read and wait through this clock, so tests can exercise hour-long
behaviour quickly. Fivetran time starts at the real time the clock is created and then runs
``time_scale`` times faster.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, time_scale: float = 1.0, *, start: datetime | None = None) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be positive, got {time_scale}")
        self.time_scale = float(time_scale)
        self._real_origin = time.monotonic()
        self._origin = start or datetime.now(UTC)

    def now(self) -> datetime:
        """Current Fivetran time (timezone-aware UTC)."""
        elapsed = (time.monotonic() - self._real_origin) * self.time_scale
        return self._origin + timedelta(seconds=elapsed)

    def at(self, real_monotonic: float) -> datetime:
        """The Fivetran time of a moment read from ``time.monotonic()`` (data-plane stamps)."""
        elapsed = (real_monotonic - self._real_origin) * self.time_scale
        return self._origin + timedelta(seconds=elapsed)

    def monotonic(self) -> float:
        """Fivetran seconds elapsed since the clock started (for windows and deadlines)."""
        return (time.monotonic() - self._real_origin) * self.time_scale

    def real_seconds(self, fivetran_seconds: float) -> float:
        """How long ``fivetran_seconds`` of Fivetran time last in real time."""
        return max(0.0, fivetran_seconds) / self.time_scale

    def sleep(self, fivetran_seconds: float) -> None:
        time.sleep(self.real_seconds(fivetran_seconds))

    def wait(self, event: threading.Event, fivetran_seconds: float) -> bool:
        """Wait on ``event`` for up to ``fivetran_seconds`` of Fivetran time; True if it was set."""
        return event.wait(self.real_seconds(fivetran_seconds))


def iso(dt: datetime | None) -> str | None:
    """Fivetran's timestamp format: ISO-8601 UTC with microseconds and a ``Z``."""
    if dt is None:
        return None
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
