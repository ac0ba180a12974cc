"""Each scheduling mode on a time-scaled local Fivetran: run times checked against the schedule.

Time runs 200x faster (a Fivetran minute lasts 0.3 s). Run starts are read from the
`dbt_run_start` events a receiver gets (`startTime`, `startupDetails.type`). Bounds are
generous, as the machine may be loaded: a run starts at or after its tick (never before) and
within `LATE` of it; a sync-triggered run starts after the sync that made it due. The dbt project
is removed once the transformations exist, so runs fail at once: this test is about when they
start, `test_transformations` about what they do.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from fivetran_assets.emulator.transform_schedule import next_tick
from fivetran_assets_tests.conftest import API_KEY, API_SECRET
from fivetran_assets_tests.emulator.support import (
    Api,
    make_connection,
    make_estate,
    make_source,
    wait_for,
    wait_sync_end,
)
from fivetran_assets_tests.emulator.test_transformations import _transformation, dbt_project
from fivetran_assets_tests.emulator.test_webhooks import Receiver

SCALE = 200
LATE = timedelta(minutes=12)  # 3.6 real seconds


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def fast_api(tmp_path: Path) -> Iterator[Api]:
    from fivetran_assets.emulator.server import EmulatorServer

    with EmulatorServer(
        state_dir=tmp_path / "emulator", api_key=API_KEY, api_secret=API_SECRET, time_scale=SCALE
    ) as server:
        yield Api(server.base_url, (API_KEY, API_SECRET))


def _starts(receiver: Receiver, tid: str) -> list[tuple[datetime, str]]:
    return sorted(
        (ts(b["data"]["startTime"]), b["data"]["startupDetails"]["type"])
        for b in receiver.events("dbt_run_start")
        if b["data"]["dbtJobId"] == tid
    )


def _assert_on_ticks(starts: list[datetime], schedule: dict, anchor: datetime) -> None:
    """Each start falls in [tick, tick + LATE) of a distinct tick of the schedule's clock."""
    ticks = []
    for start in starts:
        tick = next_tick(schedule, after=start - LATE, anchor=anchor)
        assert tick is not None and tick <= start < tick + LATE, (start, tick, schedule)
        ticks.append(tick)
    assert len(set(ticks)) == len(ticks), f"two runs for one tick: {starts}"


def test_each_mode_runs_on_its_schedule(fast_api: Api, tmp_path: Path) -> None:
    api = fast_api
    receiver = Receiver()
    try:
        group_id = make_estate(api, tmp_path)
        api.post(
            f"/v1/webhooks/group/{group_id}",
            {"url": receiver.url, "events": ["dbt_run_start", "dbt_run_failed"], "active": True},
            expect=200,
        )
        project_dir = dbt_project(tmp_path / "dbt")
        project = api.post(
            "/v1/transformation-projects",
            {"group_id": group_id, "project_config": {"git_remote_url": str(project_dir)}},
            expect=201,
        )["data"]
        slow = make_connection(
            api, group_id, make_source(tmp_path / "a.db"), "slow", schedule_type="manual"
        )
        quick = make_connection(
            api, group_id, make_source(tmp_path / "b.db"), "quick", schedule_type="manual"
        )
        api.post(
            f"/_local/connections/{slow['id']}/settings", {"min_sync_seconds": 600}, expect=200
        )
        now = ts(api.get("/_local/clock", expect=200)["data"]["now"])
        half_hour = now.replace(minute=now.minute // 30 * 30, second=0, microsecond=0)
        half_hour += timedelta(minutes=30)
        schedules = {
            "integrated": {
                "schedule_type": "INTEGRATED",
                "connection_ids": [slow["id"], quick["id"]],
            },
            "partially_integrated": {
                "schedule_type": "INTERVAL",
                "interval": 30,
                "smart_syncing": True,
                "connection_ids": [quick["id"]],
            },
            "interval": {"schedule_type": "INTERVAL", "interval": 30},
            "cron": {"schedule_type": "CRON", "cron": ["*/15 * * * *"]},
            "time_of_day": {"schedule_type": "TIME_OF_DAY", "time_of_day": f"{half_hour:%H:%M}"},
        }
        created = {
            mode: api.post("/v1/transformations", _transformation(project["id"], s), expect=201)[
                "data"
            ]
            for mode, s in schedules.items()
        }
        shutil.rmtree(project_dir)
        ids = {mode: tr["id"] for mode, tr in created.items()}

        # Syncs: the quick one ends while the slow one still syncs (one junction), then alone.
        api.post(f"/v1/connections/{slow['id']}/sync", expect=200)
        api.post(f"/v1/connections/{quick['id']}/sync", expect=200)
        quick_end = ts(wait_sync_end(api, quick["id"])["succeeded_at"])
        slow_end = ts(wait_sync_end(api, slow["id"])["succeeded_at"])
        assert quick_end < slow_end
        first = wait_for(lambda: _starts(receiver, ids["integrated"]), what="integrated run")
        api.post(f"/v1/connections/{quick['id']}/sync", expect=200)
        quick_again = ts(wait_sync_end(api, quick["id"], quick_end.isoformat())["succeeded_at"])

        def enough() -> bool:
            return (
                len(_starts(receiver, ids["integrated"])) >= 2
                and len(_starts(receiver, ids["cron"])) >= 2
                and len(_starts(receiver, ids["interval"])) >= 1
                and len(_starts(receiver, ids["time_of_day"])) >= 1
                and any(t == "scheduled" for _, t in _starts(receiver, ids["partially_integrated"]))
            )

        wait_for(enough, timeout=60, what="a run of every mode")

        integrated = _starts(receiver, ids["integrated"])
        assert [t for _, t in integrated[:2]] == ["integrated_scheduler"] * 2
        assert first[0][0] >= slow_end, "the junction waits for the slow connection"
        assert integrated[0][0] < quick_again <= integrated[1][0] < quick_again + LATE
        assert len(integrated) == 2, integrated  # one run per junction, none on a clock

        partial = _starts(receiver, ids["partially_integrated"])
        after_sync = [s for s, t in partial if t == "integrated_scheduler"]
        assert after_sync and quick_end <= after_sync[0] < slow_end + LATE
        anchor = ts(created["partially_integrated"]["created_at"])
        clock_runs = [s for s, t in partial if t == "scheduled"]
        _assert_on_ticks(clock_runs, schedules["partially_integrated"], anchor)

        for mode in ("interval", "cron", "time_of_day"):
            starts = _starts(receiver, ids[mode])
            assert {t for _, t in starts} == {"scheduled"}, (mode, starts)
            anchor = ts(created[mode]["created_at"])
            _assert_on_ticks([s for s, _ in starts], schedules[mode], anchor)
        assert _starts(receiver, ids["time_of_day"])[0][0] >= half_hour
        final = api.get(f"/v1/transformations/{ids['cron']}", expect=200)["data"]
        assert final["status"] == "FAILED" and final["last_started_at"]
    finally:
        receiver.server.shutdown()
