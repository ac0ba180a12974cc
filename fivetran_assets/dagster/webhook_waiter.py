"""Waiting for a sync through the webhook event log: the `SyncWaiter` for a configured receiver.

`runs.run_sync` triggers the sync, then asks its waiter. This one notes the log's head, reads
the connection once (a short sync may already have ended before the wait began), and otherwise
sleeps on the local event log until the connection's `sync_end` arrives, then reads the
connection once more: a sync costs `GET`, `POST .../sync`, `GET`, `GET`, however long it runs.
If no event comes for `fallback_interval` (the receiver may be down) it looks through the API,
so a lost webhook delays a run instead of hanging it. A failed sync's `sync_end` carries the
reason, which the waiter hands back with the connection.

Transformations the same way: the log's head is noted before the run is triggered, the wait
sleeps until that transformation's `transformation_run_succeeded` / `_failed` arrives (the
latter carries dbt's message), then one GET reads the final state: `GET`, `POST .../run`, `GET`.

`failure_reason_from_log` is the seam `runs.run_transformation` offers for dbt's message, which
only the `transformation_run_failed` webhook carries.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fivetran_assets.dagster.waiting import (
    SyncEnd,
    TransformationEnd,
    WaitTimeout,
    sync_has_ended,
    transformation_has_ended,
)
from fivetran_assets.webhooks import EventLog, EventLogLocation, EventName

TRANSFORMATION_END_EVENTS = (
    EventName.TRANSFORMATION_RUN_SUCCEEDED,
    EventName.TRANSFORMATION_RUN_FAILED,
    EventName.DBT_RUN_SUCCEEDED,
    EventName.DBT_RUN_FAILED,
)


@dataclass
class EventLogWaiter:
    """Waits on `event_log` (the receiver's `--db`); durations in Fivetran seconds."""

    event_log: EventLogLocation
    time_scale: float = 1.0
    fallback_interval: float = 900.0
    settle_interval: float = 2.0  # re-look after an event whose end the API does not show yet
    monotonic: Callable[[], float] = time.monotonic
    on_look: Callable[[Any], None] | None = None
    _log: EventLog | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.time_scale <= 0 or self.fallback_interval <= 0 or self.settle_interval <= 0:
            raise ValueError(
                "EventLogWaiter: time_scale, fallback_interval and settle_interval must be "
                f"positive, got {self.time_scale}, {self.fallback_interval}, {self.settle_interval}"
            )

    @property
    def log(self) -> EventLog:
        if self._log is None:
            self._log = EventLog(self.event_log)
        return self._log

    def _real(self, fivetran_seconds: float) -> float:
        return fivetran_seconds / self.time_scale

    def _look(self, client: Any, connection_id: str) -> Any:
        connection = client.get_connection(connection_id)
        if self.on_look is not None:
            self.on_look(connection)
        return connection

    def wait_for_sync_end(
        self,
        client: Any,
        connection_id: str,
        *,
        previous_end: Any,
        timeout: float,
        expected_duration: float | None,
    ) -> SyncEnd:
        """Return once the connection's last completed sync is later than `previous_end`."""
        deadline = self.monotonic() + self._real(timeout)
        cursor = self.log.latest_id()  # before the look: an end after it is in the log
        connection = self._look(client, connection_id)
        looks = 1
        if sync_has_ended(connection, previous_end):
            # Its `sync_end` may already be in the log (a local read): take its id and reason.
            seen = self.log.read_page(
                cursor, events=[EventName.SYNC_END], connection_ids=[connection_id]
            ).events
            event = seen[-1].event if seen else None
            return SyncEnd(
                connection=connection,
                looks=looks,
                sync_id=event.sync_id if event else None,
                reason=event.reason if event else None,
            )
        sync_id: str | None = None
        reason: str | None = None
        pause = self.fallback_interval
        while True:
            remaining = deadline - self.monotonic()
            if remaining <= 0:
                raise WaitTimeout(f"still running after {timeout:.0f} s")
            page = self.log.wait_after(
                cursor,
                timeout=timedelta(seconds=min(self._real(pause), remaining)),
                events=[EventName.SYNC_END],
                connection_ids=[connection_id],
            )
            cursor = page.cursor
            if page.events:
                sync_id = page.events[-1].event.sync_id or sync_id
                reason = page.events[-1].event.reason
            connection = self._look(client, connection_id)
            looks += 1
            if sync_has_ended(connection, previous_end):
                return SyncEnd(connection=connection, sync_id=sync_id, looks=looks, reason=reason)
            # An event the API does not reflect yet: look again soon; otherwise keep trusting
            # the log (a RESCHEDULED sync_end leaves the sync pending until rescheduled_for).
            pause = self.settle_interval if page.events else self.fallback_interval

    def wait_for_transformation_end(
        self,
        client: Any,
        transformation_id: str,
        *,
        trigger: Callable[[], None],
        previous_end: Any,
        timeout: float,
        expected_duration: float | None,
    ) -> TransformationEnd:
        """Trigger the run, sleep on the log until its end event, then GET it once."""
        deadline = self.monotonic() + self._real(timeout)
        cursor = self.log.latest_id()  # before the trigger: the run's end event comes after it
        trigger()
        looks = 0
        reason: str | None = None
        look_at = self.monotonic() + self._real(self.fallback_interval)
        while True:
            now = self.monotonic()
            if now >= deadline:
                raise WaitTimeout(f"still running after {timeout:.0f} s")
            page = self.log.wait_after(
                cursor,
                timeout=timedelta(seconds=max(0.0, min(look_at, deadline) - now)),
                events=TRANSFORMATION_END_EVENTS,
            )
            cursor = page.cursor
            mine = [e.event for e in page.events if e.event.transformation_id == transformation_id]
            if not mine and self.monotonic() < look_at:
                continue  # another transformation's run ended: keep sleeping
            if mine:
                reason = mine[-1].reason
            transformation = client.get_transformation(transformation_id)
            looks += 1
            if self.on_look is not None:
                self.on_look(transformation)
            if transformation_has_ended(transformation, previous_end):
                return TransformationEnd(transformation=transformation, looks=looks, reason=reason)
            pause = self.settle_interval if mine else self.fallback_interval
            look_at = self.monotonic() + self._real(pause)


def event_log_waiter_factory(
    event_log: EventLogLocation, *, fallback_interval: float = 900.0
) -> Callable[[Any], EventLogWaiter]:
    """For `build_fivetran_definitions(waiter_factory=..., transformation_waiter_factory=...)`:
    a waiter per run, on the resource's time scale, so a materialization waits on webhooks
    instead of polling."""

    def factory(fivetran: Any) -> EventLogWaiter:
        return EventLogWaiter(
            event_log,
            time_scale=float(getattr(fivetran, "time_scale", 1.0)),
            fallback_interval=fallback_interval,
        )

    return factory


def failure_reason_from_log(
    event_log: EventLogLocation, *, scan_limit: int = 1000
) -> Callable[[str], str | None]:
    """For `runs.run_transformation(failure_reason=...)`: dbt's message of the latest failed run
    of a transformation, from its `transformation_run_failed` webhook among the newest events."""

    def reason(transformation_id: str) -> str | None:
        log = EventLog(event_log)
        after = max(0, log.latest_id() - scan_limit)
        page = log.read_page(
            after,
            limit=scan_limit,
            events=[EventName.TRANSFORMATION_RUN_FAILED, EventName.DBT_RUN_FAILED],
        )
        for stored in reversed(page.events):
            if stored.event.transformation_id == transformation_id:
                return stored.event.reason
        return None

    return reason
