"""Each scheduling mode on the local Fivetran: run times checked against the schedule.

Fivetran time runs as fast as real time here, and the test jumps it forward (`POST
/_local/clock`) to one second before each tick of the schedules, so an hour of schedules takes a
few real seconds and what is checked does not depend on the machine's speed: a run starts at
its tick or after it, never before, and within `LATE` (five minutes of scheduler lag, where the
loop looks ten times a second); every tick gets exactly one run. A sync-triggered run starts
after the sync that made it due; the slow connection's sync lasts until a jump passes its end,
so the junction (a run waits while another listed connection syncs) is certain, not a race.
Run starts are read from the `dbt_run_start` events a receiver gets (`startTime`,
`startupDetails.type`). The dbt project is removed once the transformations exist, so runs fail
at once: this test is about when they start, `test_transformations` about what they do.
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

LATE = timedelta(minutes=5)
AHEAD = timedelta(seconds=1)  # a jump stops this long before a tick: real time crosses it
SLOW_SYNC = timedelta(minutes=20)
CLOCK_MODES = ("partially_integrated", "interval", "cron", "time_of_day")


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    from fivetran_assets.emulator.server import EmulatorServer

    with EmulatorServer(
        state_dir=tmp_path / "emulator", api_key=API_KEY, api_secret=API_SECRET, time_scale=1
    ) as server:
        yield Api(server.base_url, (API_KEY, API_SECRET))


def _now(api: Api) -> datetime:
    return ts(api.get("/_local/clock", expect=200)["data"]["now"])


def _jump_to(api: Api, moment: datetime) -> None:
    ahead = (moment - _now(api)).total_seconds()
    if ahead > 0:
        api.post("/_local/clock", {"advance_seconds": ahead}, expect=200)


def _starts(receiver: Receiver, tid: str, trigger: str | None = None) -> list[datetime]:
    return sorted(
        ts(b["data"]["startTime"])
        for b in receiver.events("dbt_run_start")
        if b["data"]["dbtJobId"] == tid
        and (trigger is None or b["data"]["startupDetails"]["type"] == trigger)
    )


def _ticks(schedule: dict, anchor: datetime, *, after: datetime, until: datetime) -> list:
    ticks = []
    tick = next_tick(schedule, after=after, anchor=anchor)
    while tick is not None and tick <= until:
        ticks.append(tick)
        tick = next_tick(schedule, after=tick, anchor=anchor)
    return ticks


def test_each_mode_runs_on_its_schedule(api: Api, tmp_path: Path) -> None:
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
            f"/_local/connections/{slow['id']}/settings",
            {"min_sync_seconds": SLOW_SYNC.total_seconds()},
            expect=200,
        )
        # At least five minutes ahead, so it is still to come once everything exists.
        soon = _now(api) + timedelta(minutes=5)
        half_hour = soon.replace(minute=soon.minute // 30 * 30, second=0, microsecond=0)
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

        # The quick sync ends while the slow one still syncs: the partially integrated run
        # (after `quick` only) starts; the integrated one waits at the junction. Both are
        # decided in the same scheduler pass, so the first proves the second waited.
        begun = _now(api)
        api.post(f"/v1/connections/{slow['id']}/sync", expect=200)
        api.post(f"/v1/connections/{quick['id']}/sync", expect=200)
        quick_end = ts(wait_sync_end(api, quick["id"])["succeeded_at"])
        wait_for(
            lambda: _starts(receiver, ids["partially_integrated"], "integrated_scheduler"),
            what="the partially integrated run after the quick sync",
        )
        assert not _starts(receiver, ids["integrated"]), "the junction waits for the slow sync"
        assert (
            api.get(f"/v1/connections/{slow['id']}", expect=200)["data"]["status"]["sync_state"]
            == "syncing"
        )

        # Every clock tick up to the time of day and the intervals' first, in order: jump to
        # just before it, then wait for the run of each schedule that ticks then. A jump past
        # `SLOW_SYNC` ends the slow sync, and the integrated run follows.
        horizon = max(half_hour, begun + timedelta(minutes=30)) + timedelta(minutes=1)
        expected = {
            mode: _ticks(
                schedules[mode], ts(created[mode]["created_at"]), after=begun, until=horizon
            )
            for mode in CLOCK_MODES
        }
        for tick in sorted({t for ticks in expected.values() for t in ticks}):
            _jump_to(api, tick - AHEAD)
            due = {mode: ticks.index(tick) + 1 for mode, ticks in expected.items() if tick in ticks}
            wait_for(
                lambda due=due: all(
                    len(_starts(receiver, ids[mode], "scheduled")) >= n for mode, n in due.items()
                ),
                timeout=120,
                what=f"the runs of the tick at {tick:%H:%M}: {sorted(due)}",
            )
        slow_end = ts(wait_sync_end(api, slow["id"])["succeeded_at"])
        first = wait_for(lambda: _starts(receiver, ids["integrated"]), what="integrated run")[0]
        assert slow_end <= first < slow_end + LATE
        assert slow_end >= begun + SLOW_SYNC

        # Another quick sync, now alone: one more integrated run, after it.
        api.post(f"/v1/connections/{quick['id']}/sync", expect=200)
        quick_again = ts(wait_sync_end(api, quick["id"], quick_end.isoformat())["succeeded_at"])
        wait_for(lambda: len(_starts(receiver, ids["integrated"])) >= 2, what="2nd integrated")
        wait_for(
            lambda: (
                len(_starts(receiver, ids["partially_integrated"], "integrated_scheduler")) >= 2
            ),
            what="2nd sync-triggered partially integrated run",
        )

        integrated = _starts(receiver, ids["integrated"])
        assert _starts(receiver, ids["integrated"], "integrated_scheduler") == integrated
        assert len(integrated) == 2, integrated  # one run per junction, none on a clock
        assert first == integrated[0] and quick_again <= integrated[1] < quick_again + LATE
        after_sync = _starts(receiver, ids["partially_integrated"], "integrated_scheduler")
        assert len(after_sync) == 2, after_sync
        assert quick_end <= after_sync[0] < quick_end + LATE
        assert quick_again <= after_sync[1] < quick_again + LATE
        for mode in CLOCK_MODES:
            starts = _starts(receiver, ids[mode], "scheduled")
            assert len(starts) == len(expected[mode]), (mode, starts, expected[mode])
            for start, tick in zip(starts, expected[mode], strict=True):
                assert tick <= start < tick + LATE, (mode, start, tick)
            if mode != "partially_integrated":
                assert _starts(receiver, ids[mode]) == starts, f"{mode} runs on its clock only"
        assert expected["time_of_day"] == [half_hour]
        assert len(expected["interval"]) == len(expected["partially_integrated"]) == 1
        assert len(expected["cron"]) >= 2 and all(t.minute % 15 == 0 for t in expected["cron"])
        final = api.get(f"/v1/transformations/{ids['cron']}", expect=200)["data"]
        assert final["status"] == "FAILED" and final["last_started_at"]
    finally:
        receiver.server.shutdown()
