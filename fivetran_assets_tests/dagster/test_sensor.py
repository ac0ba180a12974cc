"""The polling sensor records Fivetran-run syncs once, fairly, within one GET per connection."""

from __future__ import annotations

import json
from dataclasses import replace

import dagster as dg

from fivetran_assets_tests.dagster.conftest import Demo, api_requests

SENSOR = "fivetran_sync_polling_sensor"


def _defs(demo: Demo, *, watched: set[str], per_tick: int = 100) -> dg.Definitions:
    """The demo's definitions with `watched` connections scheduled by Fivetran."""
    from fivetran_assets.dagster.build import build_fivetran_definitions
    from fivetran_assets.dagster.estate_view import ScheduledBy, estate_view
    from fivetran_assets.snapshot.store import read_snapshot

    view = estate_view(demo.estate)
    view = replace(
        view,
        connections=tuple(
            replace(c, scheduled_by=ScheduledBy.FIVETRAN) if c.name in watched else c
            for c in view.connections
        ),
    )
    return build_fivetran_definitions(
        view,
        read_snapshot(demo.snapshot_path),
        resources=demo.resources(),
        sensor_per_tick=per_tick,
    )


def _sync_in_fivetran(demo: Demo, name: str) -> None:
    """Fivetran runs a sync on its own (here: triggered directly, not through Dagster)."""
    from fivetran_assets.dagster.waiting import PollingSettings, PollingWaiter

    cid = demo.connection_ids[name]
    before = demo.client.get_connection(cid).last_sync_completed_at
    demo.client.sync_connection(cid)
    PollingWaiter(PollingSettings(first_look=3, max_interval=6, time_scale=60)).wait_for_sync_end(
        demo.client, cid, previous_end=before, timeout=600, expected_duration=None
    )


def _tick(
    demo: Demo, defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None
) -> dg.SensorResult:
    sensor = defs.resolve_sensor_def(SENSOR)
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=demo.resources())
    return sensor(context)


def test_records_fivetran_syncs_once_and_skips_dagster_ones(demo: Demo) -> None:
    defs = _defs(demo, watched={"sales", "marketing"})
    instance = dg.DagsterInstance.ephemeral()
    _sync_in_fivetran(demo, "sales")

    _, start = api_requests(demo)
    first = _tick(demo, defs, instance, None)
    calls, _ = api_requests(demo, start)
    assert len(calls) == 2 and all(c["method"] == "GET" for c in calls)  # one per watched
    keys = {e.asset_key for e in first.asset_events}
    assert dg.AssetKey(["sales_main", "employees"]) in keys
    assert all(k.path[0] in {"sales_main", "marketing_main"} for k in keys)
    for event in first.asset_events:
        instance.report_runless_asset_event(event)

    second = _tick(demo, defs, instance, first.cursor)
    assert not second.asset_events  # nothing new: not recorded twice

    # A sync Dagster triggers is materialized by the run, not again by the sensor; a subset run
    # records only its table, so the sensor records that sync for the connection's other tables.
    key = dg.AssetKey(["marketing_main", "tickets"])
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={key})
    assert job.execute_in_process(instance=instance).success
    third = _tick(demo, defs, instance, second.cursor)
    marketing = {k for k in defs.resolve_all_asset_keys() if k.path[0] == "marketing_main"}
    assert {e.asset_key for e in third.asset_events} == marketing - {key}
    for event in third.asset_events:
        instance.report_runless_asset_event(event)
    assert not _tick(demo, defs, instance, None).asset_events  # even with a fresh cursor


def test_ticks_are_fair_when_bounded(demo: Demo) -> None:
    defs = _defs(demo, watched={"sales", "marketing", "engineering"}, per_tick=2)
    instance = dg.DagsterInstance.ephemeral()
    cursor = None
    offsets = []
    for _ in range(3):
        _, start = api_requests(demo)
        result = _tick(demo, defs, instance, cursor)
        assert len(api_requests(demo, start)[0]) == 2
        cursor = result.cursor
        offsets.append(json.loads(cursor)["offset"])
    assert offsets == [2, 1, 0]  # every connection gets its turn
