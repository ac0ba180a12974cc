"""Waiting for a sync or a transformation run to end, without burning the API budget.

The wait is a seam (`SyncWaiter`, `TransformationWaiter`): with a webhook receiver, a waiter
reads the durable event log and only GETs the connection (or transformation) once its end
event arrives. Without a receiver,
`PollingWaiter` polls adaptively: the first look is timed from the connection's previous sync
duration (a sync that took nine minutes last time will not end in ten seconds), then the interval
grows geometrically up to a ceiling (60 s) with jitter, so a ten-minute sync costs a handful of
calls instead of the incumbent's sixty. Every duration here is in Fivetran seconds; `time_scale`
converts to real sleeps for the local Fivetran.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from fivetran_assets.webhooks.dbt_runs import DbtRun


class WaitTimeout(Exception):
    """The run did not end before the deadline (it keeps running in Fivetran)."""


@dataclass(frozen=True)
class PollingSettings:
    first_look: float = 10.0  # when no previous duration is known
    max_interval: float = 60.0
    backoff: float = 2.0
    jitter: float = 0.1  # fraction of each interval, drawn uniformly in [-j, +j]
    time_scale: float = 1.0
    min_interval: float = 2.0

    def __post_init__(self) -> None:
        if self.first_look <= 0 or self.max_interval <= 0 or self.min_interval <= 0:
            raise ValueError("PollingSettings: intervals must be positive")
        if self.backoff < 1:
            raise ValueError(f"PollingSettings.backoff must be >= 1, got {self.backoff}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"PollingSettings.jitter must be in [0, 1), got {self.jitter}")
        if self.time_scale <= 0:
            raise ValueError(f"PollingSettings.time_scale must be positive, got {self.time_scale}")


@dataclass
class PollSchedule:
    """The sequence of waits between looks; pure, so tests can check it without sleeping."""

    settings: PollingSettings
    expected_duration: float | None = None
    rand: Callable[[], float] = field(default=random.random)
    _next: float | None = None

    def _jittered(self, seconds: float) -> float:
        spread = self.settings.jitter * (2 * self.rand() - 1)
        return max(self.settings.min_interval, seconds * (1 + spread))

    def next_wait(self) -> float:
        s = self.settings
        if self._next is None:
            if self.expected_duration and self.expected_duration > 0:
                # Look just before the expected end, then close in quickly.
                first = 0.9 * self.expected_duration
                self._next = max(s.min_interval, min(s.max_interval, 0.1 * self.expected_duration))
            else:
                first = s.first_look
                self._next = min(s.max_interval, s.first_look * s.backoff)
            return self._jittered(first)
        wait = self._next
        self._next = min(s.max_interval, wait * s.backoff)
        return self._jittered(wait)


@dataclass(frozen=True)
class SyncEnd:
    """The connection as read after its sync ended, and what the waiter learnt on the way."""

    connection: Any  # fivetran_assets.fivetran.models.Connection
    sync_id: str | None = None
    looks: int = 0
    reason: str | None = None  # the `sync_end` event's `data.reason`, when one was seen


class SyncWaiter(Protocol):
    def wait_for_sync_end(
        self,
        client: Any,
        connection_id: str,
        *,
        previous_end: datetime | None,
        timeout: float,
        expected_duration: float | None,
    ) -> SyncEnd:
        """Return once the connection's last completed sync is later than `previous_end`."""
        ...


@dataclass(frozen=True)
class TransformationEnd:
    """The transformation as read after its run ended, and dbt's message if the waiter saw it."""

    transformation: Any  # fivetran_assets.fivetran.models.Transformation
    looks: int = 0
    reason: str | None = None  # the run's failed end event's reason
    run: DbtRun | None = None  # what its `dbt_run_succeeded` / `_failed` event reported


class TransformationWaiter(Protocol):
    def wait_for_transformation_end(
        self,
        client: Any,
        transformation_id: str,
        *,
        trigger: Callable[[], bool],
        previous_end: datetime | None,
        timeout: float,
        expected_duration: float | None,
    ) -> TransformationEnd:
        """Call `trigger` (which starts the run, or returns False when a run already going is
        joined), then return once the transformation's `last_ended_at` is later than
        `previous_end` with a final status. The waiter calls the trigger itself so that an
        event-log waiter can note the log's head before the run starts.
        """
        ...


FINAL_TRANSFORMATION_STATES = frozenset(
    {"SUCCEEDED", "FAILED", "CANCELED", "PARTIALLY_SUCCEEDED", "BLOCKED"}
)


def transformation_has_ended(transformation: Any, previous_end: datetime | None) -> bool:
    """A run ended when the status is final and `last_ended_at` moved past the old one."""
    status = str(getattr(transformation.status, "value", transformation.status) or "").upper()
    ended = transformation.last_ended_at
    moved = ended is not None and (previous_end is None or ended > previous_end)
    return moved and status in FINAL_TRANSFORMATION_STATES


def sync_has_ended(connection: Any, previous_end: datetime | None) -> bool:
    """Fivetran's rule: a sync ended when max(succeeded_at, failed_at) moved past the old one."""
    end = connection.last_sync_completed_at
    if end is None:
        return False
    return previous_end is None or end > previous_end


@dataclass
class PollingWaiter:
    settings: PollingSettings = field(default_factory=PollingSettings)
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    rand: Callable[[], float] = random.random
    on_look: Callable[[Any], None] | None = None

    def _real(self, fivetran_seconds: float) -> float:
        return fivetran_seconds / self.settings.time_scale

    def wait_until(
        self,
        look: Callable[[], Any],
        done: Callable[[Any], bool],
        *,
        timeout: float,
        expected_duration: float | None,
    ) -> tuple[Any, int]:
        """Call `look` on the adaptive schedule until `done(result)`; raise WaitTimeout."""
        schedule = PollSchedule(self.settings, expected_duration, rand=self.rand)
        deadline = self.monotonic() + self._real(timeout)
        looks = 0
        while True:
            remaining = deadline - self.monotonic()
            if remaining <= 0:
                raise WaitTimeout(f"still running after {timeout:.0f} s")
            self.sleep(min(self._real(schedule.next_wait()), remaining))
            result = look()
            looks += 1
            if self.on_look is not None:
                self.on_look(result)
            if done(result):
                return result, looks

    def wait_for_sync_end(
        self,
        client: Any,
        connection_id: str,
        *,
        previous_end: datetime | None,
        timeout: float,
        expected_duration: float | None,
    ) -> SyncEnd:
        connection, looks = self.wait_until(
            lambda: client.get_connection(connection_id),
            lambda c: sync_has_ended(c, previous_end),
            timeout=timeout,
            expected_duration=expected_duration,
        )
        return SyncEnd(connection=connection, looks=looks)

    def wait_for_transformation_end(
        self,
        client: Any,
        transformation_id: str,
        *,
        trigger: Callable[[], bool],
        previous_end: datetime | None,
        timeout: float,
        expected_duration: float | None,
    ) -> TransformationEnd:
        trigger()
        transformation, looks = self.wait_until(
            lambda: client.get_transformation(transformation_id),
            lambda t: transformation_has_ended(t, previous_end),
            timeout=timeout,
            expected_duration=expected_duration,
        )
        return TransformationEnd(transformation=transformation, looks=looks)
