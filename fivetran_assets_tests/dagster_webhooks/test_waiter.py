"""The event-log waiter against a real event log and a fake client (only the clock of the
connection's last completed sync matters to it)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from fivetran_assets.dagster.waiting import WaitTimeout
from fivetran_assets.dagster.webhook_waiter import (
    EventLogWaiter,
    event_log_waiter_factory,
    failure_reason_from_log,
)
from fivetran_assets_tests.dagster_webhooks.estate import T0, Feed, event_log


class FakeClient:
    """`get_connection` answers from `ended`, which a test moves when the sync 'ends'."""

    def __init__(self) -> None:
        self.ended = T0
        self.calls = 0

    def get_connection(self, connection_id: str) -> SimpleNamespace:
        self.calls += 1
        return SimpleNamespace(id=connection_id, last_sync_completed_at=self.ended)


@pytest.fixture
def feed(tmp_path: Path) -> Feed:
    return Feed(event_log(tmp_path))


def _later(seconds: float, action) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


def test_a_sync_that_already_ended_costs_one_look(feed: Feed) -> None:
    client = FakeClient()
    client.ended = T0 + timedelta(minutes=5)
    waiter = EventLogWaiter(feed.log.url, time_scale=60)
    end = waiter.wait_for_sync_end(
        client, "c1", previous_end=T0, timeout=600, expected_duration=None
    )
    assert end.looks == 1 and client.calls == 1


def test_the_sync_end_event_wakes_the_wait(feed: Feed) -> None:
    client = FakeClient()

    def finish() -> None:
        client.ended = T0 + timedelta(minutes=5)
        feed.sync("c1")

    timer = _later(0.3, finish)
    waiter = EventLogWaiter(feed.log.url, time_scale=1, fallback_interval=60)
    end = waiter.wait_for_sync_end(
        client, "c1", previous_end=T0, timeout=600, expected_duration=None
    )
    timer.join()
    assert end.looks == 2 and client.calls == 2
    assert end.sync_id is not None and end.sync_id.startswith("c1-sync")


def test_other_connections_and_rescheduled_ends_do_not_end_the_wait(feed: Feed) -> None:
    client = FakeClient()

    def events() -> None:
        feed.sync("c2")  # another connection: not even looked at
        feed.sync("c1", "RESCHEDULED")  # looked at, not ended: keep waiting

    def finish() -> None:
        client.ended = T0 + timedelta(minutes=9)
        feed.sync("c1")

    timers = [_later(0.2, events), _later(0.6, finish)]
    waiter = EventLogWaiter(feed.log.url, time_scale=1, fallback_interval=60, settle_interval=5)
    end = waiter.wait_for_sync_end(
        client, "c1", previous_end=T0, timeout=600, expected_duration=None
    )
    for timer in timers:
        timer.join()
    assert end.looks == 3
    assert feed.log.read_after(0)[-1].event.sync_id == end.sync_id


def test_no_event_falls_back_to_looking_then_times_out(feed: Feed) -> None:
    client = FakeClient()
    waiter = EventLogWaiter(feed.log.url, time_scale=60, fallback_interval=15)
    with pytest.raises(WaitTimeout, match="still running after 60 s"):
        waiter.wait_for_sync_end(client, "c1", previous_end=T0, timeout=60, expected_duration=None)
    assert 1 + 4 <= client.calls <= 1 + 5  # the first look, then one per 15 Fivetran s


def test_factory_uses_the_resource_time_scale(feed: Feed) -> None:
    waiter = event_log_waiter_factory(feed.log.url)(SimpleNamespace(time_scale=60.0))
    assert waiter.time_scale == 60.0
    with pytest.raises(ValueError, match="positive"):
        EventLogWaiter(feed.log.url, fallback_interval=0)


def test_failure_reason_is_the_latest_failed_run_of_that_transformation(feed: Feed) -> None:
    reason = failure_reason_from_log(feed.log.url)
    assert reason("t1") is None
    feed.transformation("transformation_run_failed", "t1", run="r1", reason="old error")
    feed.transformation("transformation_run_failed", "t2", run="r2", reason="not this one")
    feed.transformation("transformation_run_failed", "t1", run="r3", reason="dbt: boom")
    assert reason("t1") == "dbt: boom"


def test_a_failed_sync_end_hands_back_its_reason(feed: Feed) -> None:
    client = FakeClient()

    def finish() -> None:
        client.ended = T0 + timedelta(minutes=5)
        feed.sync("c1", "FAILURE", reason="source database is locked")

    timer = _later(0.2, finish)
    waiter = EventLogWaiter(feed.log.url, time_scale=1, fallback_interval=60)
    end = waiter.wait_for_sync_end(
        client, "c1", previous_end=T0, timeout=600, expected_duration=None
    )
    timer.join()
    assert end.reason == "source database is locked"


class FakeTransformations:
    """`get_transformation` answers from `ended`/`status`; `trigger` notes the log's head then."""

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.ended: datetime | None = T0
        self.status = "SUCCEEDED"
        self.calls = 0
        self.head_at_trigger: int | None = None

    def get_transformation(self, transformation_id: str) -> SimpleNamespace:
        self.calls += 1
        return SimpleNamespace(
            id=transformation_id, status=self.status, last_ended_at=self.ended, name="models"
        )

    def trigger(self) -> None:
        self.head_at_trigger = self.feed.log.latest_id()


def test_a_transformation_end_event_wakes_the_wait_with_one_look(feed: Feed) -> None:
    client = FakeTransformations(feed)
    feed.transformation("transformation_run_failed", "t1", run="r0", reason="stale, before")

    def events() -> None:
        feed.transformation("transformation_run_start", "t1", run="r1")
        feed.transformation("transformation_run_failed", "t2", run="r2", reason="not this one")

    def finish() -> None:
        client.ended, client.status = T0 + timedelta(minutes=2), "FAILED"
        feed.transformation("transformation_run_failed", "t1", run="r1", reason="dbt: boom")

    timers = [_later(0.2, events), _later(0.5, finish)]
    waiter = EventLogWaiter(feed.log.url, time_scale=1, fallback_interval=60)
    end = waiter.wait_for_transformation_end(
        client,
        "t1",
        trigger=client.trigger,
        previous_end=T0,
        timeout=600,
        expected_duration=None,
    )
    for timer in timers:
        timer.join()
    assert client.head_at_trigger == feed.ids[0]
    assert end.looks == 1 and client.calls == 1
    assert end.reason == "dbt: boom" and end.transformation.status == "FAILED"


def test_an_end_event_the_api_does_not_show_yet_is_settled_by_another_look(feed: Feed) -> None:
    client = FakeTransformations(feed)
    calls_before_end: list[int] = []

    def event_first() -> None:
        feed.transformation("transformation_run_succeeded", "t1", run="r1")

    def api_later() -> None:
        calls_before_end.append(client.calls)
        client.ended = T0 + timedelta(minutes=1)

    timers = [_later(0.1, event_first), _later(0.4, api_later)]
    waiter = EventLogWaiter(feed.log.url, time_scale=1, fallback_interval=60, settle_interval=0.2)
    end = waiter.wait_for_transformation_end(
        client, "t1", trigger=client.trigger, previous_end=T0, timeout=600, expected_duration=None
    )
    for timer in timers:
        timer.join()
    assert end.reason is None and end.transformation.last_ended_at > T0
    assert calls_before_end[0] >= 1 and end.looks == client.calls <= 4


def test_no_transformation_event_falls_back_to_looking_then_times_out(feed: Feed) -> None:
    client = FakeTransformations(feed)
    waiter = EventLogWaiter(feed.log.url, time_scale=60, fallback_interval=15)
    with pytest.raises(WaitTimeout, match="still running after 60 s"):
        waiter.wait_for_transformation_end(
            client,
            "t1",
            trigger=client.trigger,
            previous_end=T0,
            timeout=60,
            expected_duration=None,
        )
    assert 3 <= client.calls <= 4  # one look per 15 Fivetran s, none at the start
