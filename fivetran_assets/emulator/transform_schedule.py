"""When a transformation of the local Fivetran is due: Fivetran's schedule types as pure functions.

Two kinds of trigger, which a schedule may combine:

- **its own clock**: INTERVAL runs every ``interval`` minutes counted from when the schedule was
  set; TIME_OF_DAY at ``time_of_day`` (UTC) on ``days_of_week`` (every day when empty); CRON at
  any tick of its expressions (five-field, UTC). ``next_tick`` gives the next one.
- **syncs**: INTEGRATED schedules follow their ``connection_ids`` (and ``transformation_ids``);
  so do INTERVAL and TIME_OF_DAY schedules with ``smart_syncing`` (the seed's *partially
  integrated* mode: after syncs and on its own clock). Fivetran's documented rule is "whenever
  there is new data in any source", with a junction: a run that a successful sync made due
  waits while another listed connection is still syncing, so connections syncing together
  cause one run. One run covers every sync that ended before it started.

Nothing here reads a clock or the store: the engine passes times in, tests pass a fake one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from croniter import croniter

DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
CLOCK_TYPES = frozenset({"INTERVAL", "TIME_OF_DAY", "CRON"})

SCHEDULED = "scheduled"
"""Trigger of a run its own clock started (``startupDetails.type`` of its dbt events)."""
INTEGRATED = "integrated_scheduler"
"""Trigger of a run that syncs started (the value Fivetran's dbt events carry)."""
MANUAL = "manual"
"""Trigger of a run started through ``POST /v1/transformations/{id}/run``."""


def valid_cron(expression: str) -> bool:
    """A five-field cron expression croniter understands (Fivetran takes standard cron)."""
    return len(expression.split()) == 5 and croniter.is_valid(expression)


def follows_syncs(schedule: Mapping[str, Any]) -> bool:
    """Whether the schedule runs after the syncs of its connections (or other transformations)."""
    sources = schedule.get("connection_ids") or schedule.get("transformation_ids")
    if not sources:
        return False
    kind = schedule.get("schedule_type")
    return kind == "INTEGRATED" or (
        kind in ("INTERVAL", "TIME_OF_DAY") and bool(schedule.get("smart_syncing"))
    )


def next_tick(schedule: Mapping[str, Any], *, after: datetime, anchor: datetime) -> datetime | None:
    """The first tick of the schedule's own clock strictly after ``after`` (None: no clock).

    ``anchor`` is when the schedule was set: INTERVAL ticks fall at ``anchor + k * interval``.
    """
    kind = schedule.get("schedule_type")
    if kind == "INTERVAL" and schedule.get("interval"):
        step = timedelta(minutes=int(schedule["interval"]))
        if after < anchor:
            return anchor + step
        return anchor + step * ((after - anchor) // step + 1)
    if kind == "TIME_OF_DAY" and schedule.get("time_of_day"):
        hour, minute = (int(part) for part in str(schedule["time_of_day"]).split(":"))
        days = set(schedule.get("days_of_week") or DAYS)
        day = after.replace(hour=hour, minute=minute, second=0, microsecond=0)
        for offset in range(8):
            at = day + timedelta(days=offset)
            if at > after and DAYS[at.weekday()] in days:
                return at
        return None
    if kind == "CRON" and schedule.get("cron"):
        return min(croniter(expr, after).get_next(datetime) for expr in schedule["cron"])
    return None


def sync_run_due(
    schedule: Mapping[str, Any],
    pending: Collection[str],
    syncing: Collection[str],
) -> bool:
    """A run that syncs made due may start: some source synced since the last run started, and
    none of the listed connections is syncing now (Fivetran's junction)."""
    if not pending or not follows_syncs(schedule):
        return False
    listed = set(schedule.get("connection_ids") or ())
    return not listed.intersection(syncing)


def trigger(
    schedule: Mapping[str, Any],
    *,
    now: datetime,
    next_tick_at: datetime | None,
    pending: Collection[str],
    syncing: Collection[str],
) -> str | None:
    """Why a run should start now (``SCHEDULED`` or ``INTEGRATED``), or None."""
    if next_tick_at is not None and next_tick_at <= now:
        return SCHEDULED
    if sync_run_due(schedule, pending, syncing):
        return INTEGRATED
    return None
