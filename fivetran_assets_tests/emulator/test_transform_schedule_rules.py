"""When a transformation is due (`transform_schedule`), on fixed times: no clock, no server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fivetran_assets.emulator import transform_schedule as sched

T0 = datetime(2026, 3, 2, 10, 7, 30, tzinfo=UTC)  # a Monday


def at(hour: int, minute: int, *, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def test_interval_ticks_count_from_the_anchor_not_from_the_last_run() -> None:
    schedule = {"schedule_type": "INTERVAL", "interval": 45}
    assert sched.next_tick(schedule, after=T0, anchor=T0) == T0 + timedelta(minutes=45)
    late = T0 + timedelta(minutes=100)  # two ticks passed (45, 90): the next is 135
    assert sched.next_tick(schedule, after=late, anchor=T0) == T0 + timedelta(minutes=135)
    exactly = T0 + timedelta(minutes=90)
    assert sched.next_tick(schedule, after=exactly, anchor=T0) == T0 + timedelta(minutes=135)


def test_time_of_day_on_the_listed_days_in_utc() -> None:
    daily = {"schedule_type": "TIME_OF_DAY", "time_of_day": "10:30", "days_of_week": []}
    assert sched.next_tick(daily, after=T0, anchor=T0) == at(10, 30)
    assert sched.next_tick(daily, after=at(10, 30), anchor=T0) == at(10, 30, day=3)
    fridays = {**daily, "time_of_day": "06:00", "days_of_week": ["FRIDAY"]}
    assert sched.next_tick(fridays, after=T0, anchor=T0) == at(6, 0, day=6)


def test_cron_takes_the_earliest_of_its_expressions() -> None:
    schedule = {"schedule_type": "CRON", "cron": ["0 12 * * *", "*/20 * * * *"]}
    assert sched.next_tick(schedule, after=T0, anchor=T0) == at(10, 20)
    assert sched.next_tick(schedule, after=at(11, 40), anchor=T0) == at(12, 0)
    assert sched.valid_cron("*/20 * * * *")
    assert not sched.valid_cron("* * * *") and not sched.valid_cron("0 0 * * * 30")
    assert not sched.valid_cron("61 * * * *")


def test_integrated_has_no_clock() -> None:
    schedule = {"schedule_type": "INTEGRATED", "connection_ids": ["a"]}
    assert sched.next_tick(schedule, after=T0, anchor=T0) is None


@pytest.mark.parametrize(
    ("schedule", "follows"),
    [
        ({"schedule_type": "INTEGRATED", "connection_ids": ["a", "b"]}, True),
        ({"schedule_type": "INTEGRATED", "transformation_ids": ["t"]}, True),
        ({"schedule_type": "INTERVAL", "interval": 60, "connection_ids": ["a"]}, False),
        (
            {
                "schedule_type": "INTERVAL",
                "interval": 60,
                "smart_syncing": True,
                "connection_ids": ["a"],
            },
            True,
        ),
        ({"schedule_type": "CRON", "cron": ["* * * * *"], "smart_syncing": True}, False),
    ],
)
def test_which_schedules_follow_syncs(schedule: dict, follows: bool) -> None:
    assert sched.follows_syncs(schedule) is follows


def test_any_successful_sync_makes_a_run_due_once_no_listed_connection_syncs() -> None:
    """Fivetran's junction: new data in any source, but connections syncing together cause
    one run, after the last of them."""
    schedule = {"schedule_type": "INTEGRATED", "connection_ids": ["a", "b", "c"]}

    def why(pending: set[str], syncing: set[str]) -> str | None:
        return sched.trigger(schedule, now=T0, next_tick_at=None, pending=pending, syncing=syncing)

    assert why(set(), set()) is None
    assert why({"a"}, set()) == sched.INTEGRATED
    assert why({"a"}, {"b"}) is None  # b is still syncing: wait for it
    assert why({"a", "b"}, set()) == sched.INTEGRATED
    assert why({"a"}, {"elsewhere"}) == sched.INTEGRATED  # a connection it does not follow


def test_partially_integrated_runs_on_syncs_and_on_its_clock() -> None:
    schedule = {
        "schedule_type": "INTERVAL",
        "interval": 60,
        "smart_syncing": True,
        "connection_ids": ["a"],
    }
    tick = T0 + timedelta(minutes=60)

    def why(now: datetime, pending: set[str]) -> str | None:
        return sched.trigger(schedule, now=now, next_tick_at=tick, pending=pending, syncing=())

    assert why(T0, set()) is None
    assert why(T0, {"a"}) == sched.INTEGRATED
    assert why(tick, set()) == sched.SCHEDULED
    independent = {"schedule_type": "INTERVAL", "interval": 60}
    assert sched.trigger(independent, now=T0, next_tick_at=tick, pending={"a"}, syncing=()) is None
