"""Adaptive polling: few looks for long syncs, bounded intervals, timeouts (fake clock)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from fivetran_assets.dagster.runs import RunFailed, SyncRequest, run_sync
from fivetran_assets.dagster.waiting import PollingSettings, PollingWaiter, PollSchedule


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


@dataclass(frozen=True)
class Status:
    sync_state: str = "scheduled"
    setup_state: str = "connected"
    rescheduled_for: datetime | None = None
    tasks: tuple = ()
    warnings: tuple = ()


@dataclass(frozen=True)
class Conn:
    id: str = "c1"
    schema: str = "sales"
    paused: bool = False
    succeeded_at: datetime | None = None
    failed_at: datetime | None = None
    status: Status = Status()

    @property
    def last_sync_completed_at(self) -> datetime | None:
        ends = [t for t in (self.succeeded_at, self.failed_at) if t]
        return max(ends) if ends else None

    @property
    def last_sync_succeeded(self) -> bool | None:
        if self.succeeded_at is None:
            return None if self.failed_at is None else False
        return self.failed_at is None or self.succeeded_at > self.failed_at


class FakeFivetran:
    """A connection whose sync lasts `duration` seconds of the fake clock; counts calls."""

    def __init__(self, clock: FakeClock, duration: float, *, fail: bool = False) -> None:
        self.clock, self.duration, self.fail = clock, duration, fail
        self.calls: list[str] = []
        self.start: float | None = None
        self.epoch = datetime(2026, 1, 1, tzinfo=UTC)

    def get_connection(self, cid: str) -> Conn:
        self.calls.append("GET")
        if self.start is not None and self.clock.now >= self.start + self.duration:
            end = self.epoch + timedelta(seconds=self.start + self.duration)
            if self.fail:
                return Conn(failed_at=end, status=Status(tasks=(Task(),)))
            return Conn(succeeded_at=end)
        state = "syncing" if self.start is not None else "scheduled"
        return Conn(status=Status(sync_state=state))

    def sync_connection(self, cid: str, *, force: bool = False) -> None:
        self.calls.append("POST")
        self.start = self.clock.now


@dataclass(frozen=True)
class Task:
    code: str = "source_error"
    message: str = "source went away"


def _sync(duration: float, expected: float | None, **kwargs) -> tuple[FakeFivetran, object]:
    clock = FakeClock()
    api = FakeFivetran(clock, duration, **kwargs)
    waiter = PollingWaiter(
        PollingSettings(), sleep=clock.sleep, monotonic=clock.monotonic, rand=lambda: 0.5
    )
    outcome = run_sync(
        api, SyncRequest("c1", expected_duration=expected), waiter=waiter, monotonic=clock.monotonic
    )
    return api, outcome


def test_ten_minute_sync_with_history_costs_a_handful_of_calls() -> None:
    api, outcome = _sync(600, expected=600)
    assert len(api.calls) <= 4
    assert outcome.duration_seconds == pytest.approx(600, abs=61)


def test_ten_minute_sync_without_history_stays_bounded() -> None:
    api, _ = _sync(600, expected=None)
    assert len(api.calls) <= 14  # 10 s first look, then doubling up to 60 s


def test_schedule_backs_off_to_the_ceiling_with_jitter() -> None:
    schedule = PollSchedule(PollingSettings(jitter=0.1), None, rand=lambda: 1.0)
    waits = [schedule.next_wait() for _ in range(8)]
    assert waits[0] == pytest.approx(11.0)
    assert max(waits) == pytest.approx(66.0)  # 60 s + 10 % jitter at most
    assert waits == sorted(waits)


def test_failed_sync_reports_tasks() -> None:
    with pytest.raises(RunFailed) as info:
        _sync(30, expected=None, fail=True)
    assert "failed at" in info.value.message
    assert info.value.details["tasks"] == ["source_error: source went away"]


def test_timeout_names_the_limit() -> None:
    clock = FakeClock()
    api = FakeFivetran(clock, 10_000)
    waiter = PollingWaiter(PollingSettings(), sleep=clock.sleep, monotonic=clock.monotonic)
    with pytest.raises(RunFailed, match="still running after 300 s"):
        run_sync(api, SyncRequest("c1", timeout=300), waiter=waiter, monotonic=clock.monotonic)


def test_settings_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="backoff"):
        PollingSettings(backoff=0.5)
