"""End to end: the local Fivetran syncs on its own schedule -> signed webhook -> receiver ->
event log -> webhook sensor -> materializations recorded and the integrated transformation
requested; the polling sensor then finds nothing left to record; a Dagster-run sync waits on
the event log instead of polling."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from fivetran_assets.dagster.sensors import build_polling_sensor
from fivetran_assets.dagster.webhook_handler import WebhookCursor
from fivetran_assets.dagster.webhook_sensor import build_webhook_sensor
from fivetran_assets.webhooks import EventName
from fivetran_assets_tests.dagster_webhooks.estate import Ticker, latest, refresh_job
from fivetran_assets_tests.dagster_webhooks.live import Live, live_estate

AUTO = ("sales", "marketing")
TABLES = ("employees", "expenses", "tickets", "audit_log")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with live_estate(tmp_path_factory.mktemp("live"), fivetran_scheduled=AUTO) as estate:
        yield estate


def _count(warehouse: Path, schema: str, table: str) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]


def test_fivetran_run_syncs_are_recorded_and_integrated_run_requested(live: Live) -> None:
    conns, transforms = live.assets()
    sensor = build_webhook_sensor(
        conns, transforms, event_log=live.receiver.log.url, minimum_interval_seconds=1
    )
    t = Ticker(sensor, dg.DagsterInstance.ephemeral(), live.resources(warehouse=False))
    live.schedule_by_fivetran(*AUTO)
    for name in ("engineering", "finance"):  # Dagster-scheduled: stands in for their runs
        live.client.sync_connection(live.connection_ids[name])
    wanted = {dg.AssetKey([f"{d}_main", tb]) for d in AUTO for tb in TABLES}
    models = {dg.AssetKey(["stg_employees"])}
    recorded: set[dg.AssetKey] = set()
    requests: list[dg.RunRequest] = []
    deadline = time.monotonic() + 40
    while not (wanted <= recorded and requests) and time.monotonic() < deadline:
        result = t.tick()
        # Materializations only: a sync that ends badly is observed on any connection's tables
        # (a loaded machine can make the local Fivetran reschedule a Dagster-requested sync).
        recorded |= {
            e.asset_key for e in result.asset_events if isinstance(e, dg.AssetMaterialization)
        }
        requests += result.run_requests
        time.sleep(0.3)
    assert wanted <= recorded, f"not recorded: {sorted(map(str, wanted - recorded))}"
    (request,) = requests[:1]
    assert models <= set(request.asset_selection)
    dagster_run = [k for k in recorded if k.path[0].startswith(("engineering", "finance"))]
    assert not dagster_run, f"Dagster-scheduled syncs recorded by the sensor: {dagster_run}"

    sync_ends = {
        e.event.sync_id
        for e in live.receiver.log.read_after(0, events=[EventName.SYNC_END])
        if e.event.connector_id == live.connection_ids["sales"]
    }
    meta = latest(t.instance, dg.AssetKey(["sales_main", "employees"]))
    assert meta["fivetran/sync_id"] in sync_ends
    assert meta["fivetran/sync_started_at"] < meta["fivetran/sync_ended_at"]

    # Stop Fivetran's schedule, let the last syncs' events land, then both sensors catch up:
    # the polling sensor must find every sync already recorded by the webhook sensor.
    live.schedule_by_fivetran(*AUTO, paused=True)
    live.wait_idle(*AUTO)
    time.sleep(0.5)
    t.tick()
    assert WebhookCursor.from_json(t.cursor).after == live.receiver.log.latest_id()
    polling = build_polling_sensor(conns)
    assert polling is not None
    polled = Ticker(polling, t.instance, live.resources()).tick()
    assert not polled.asset_events, polled.skip_reason


def test_edit_connector_requests_a_state_refresh_and_row_counts_follow(live: Live) -> None:
    """Quiet estate (nothing syncs): an edit requests the state refresh run; a sync recorded
    now carries the warehouse's row counts."""
    live.schedule_by_fivetran(*AUTO, paused=True)  # quiet whatever ran before (or did not)
    live.wait_idle(*AUTO)
    conns, transforms = live.assets()
    sensor = build_webhook_sensor(
        conns,
        transforms,
        event_log=live.receiver.log.url,
        refresh_job=refresh_job,
        request_integrated_runs=False,
        start_from_latest=True,
    )
    t = Ticker(sensor, dg.DagsterInstance.ephemeral(), live.resources())
    t.tick()
    sales = live.connection_ids["sales"]
    live.client.update_connection(sales, paused=False, schedule_type="manual")
    live.client.sync_connection(sales)
    live.wait_idle("sales")
    key = dg.AssetKey(["sales_main", "employees"])
    requested: list[dg.RunRequest] = []
    deadline = time.monotonic() + 10
    while (latest(t.instance, key) is None or not requested) and time.monotonic() < deadline:
        requested += [r for r in t.tick().run_requests if r.job_name == refresh_job.name]
        time.sleep(0.2)
    assert requested, "the edit requested no state refresh"
    meta = latest(t.instance, key)
    assert meta is not None
    assert meta["dagster/row_count"] == _count(live.warehouse, "sales_main", "employees") > 0


def test_dagster_run_sync_waits_on_the_event_log(live: Live) -> None:
    """The definitions given the receiver's log wait on it (no explicit waiter needed)."""
    from fivetran_assets.dagster.build import build_fivetran_definitions

    defs = build_fivetran_definitions(
        live.view,
        live.snapshot,
        resources=live.resources(poll_first_look_seconds=600.0, poll_max_interval_seconds=600.0),
        event_log=live.receiver.log.url,
        checks=False,
    )
    key = dg.AssetKey(["engineering_main", "tickets"])
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={key})
    connection_id = live.connection_ids["engineering"]
    _, start = live.server.request_log.since(0)
    began = time.monotonic()
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    elapsed = time.monotonic() - began
    assert result.success
    calls = [e for e in live.server.request_log.since(start)[0] if f"/{connection_id}" in e.path]
    methods = [c.method for c in calls]
    assert methods[:2] == ["GET", "POST"] and len(methods) <= 4, [(c.method, c.path) for c in calls]
    (mat,) = result.get_asset_materialization_events()
    sync_id = mat.materialization.metadata["fivetran/sync_id"].value
    ends = live.receiver.log.read_after(
        0, events=[EventName.SYNC_END], connection_ids=[connection_id]
    )
    assert sync_id == ends[-1].event.sync_id
    assert elapsed < 8  # a polling waiter told to look after 600 Fivetran s would take 10 s


def _event_log_defs(live: Live) -> dg.Definitions:
    """The estate's definitions waiting on the receiver's log, no warehouse reads or checks."""
    from fivetran_assets.dagster.build import build_fivetran_definitions

    return build_fivetran_definitions(
        live.view,
        live.snapshot,
        resources=live.resources(warehouse=False),
        event_log=live.receiver.log.url,
        checks=False,
    )


def _integrated_models(graph: Any) -> set[dg.AssetKey]:
    """The models of the demo's integrated transformation, the one Dagster schedules."""
    return {
        k
        for k in graph.get_all_asset_keys()
        if graph.get(k).group_name == "departments__department_models"
    }


def test_webhook_definitions_merge_with_the_fivetran_definitions(live: Live) -> None:
    from fivetran_assets.dagster.build import build_fivetran_definitions
    from fivetran_assets.dagster.webhook_sensor import build_webhook_definitions

    fivetran_defs = build_fivetran_definitions(
        live.view, live.snapshot, resources=live.resources(), checks=False
    )
    webhook_defs = build_webhook_definitions(
        live.view, live.snapshot, event_log=live.receiver.log.url
    )
    merged = dg.Definitions.merge(fivetran_defs, webhook_defs)
    dg.Definitions.validate_loadable(merged)
    sensor = merged.resolve_sensor_def("fivetran_webhook_sensor")
    graph = merged.resolve_asset_graph()
    targets = sensor.asset_selection.resolve(graph)
    assert targets == _integrated_models(graph) and targets


def test_an_event_log_brings_the_webhook_sensor_running_and_one_trigger_per_model(
    live: Live,
) -> None:
    """With a receiver: the webhook sensor runs by default, the polling sensor is the stopped
    fallback, and integrated models are requested by their automation condition only."""
    from fivetran_assets.dagster.build import AUTOMATION_SENSOR, build_fivetran_definitions

    running, stopped = dg.DefaultSensorStatus.RUNNING, dg.DefaultSensorStatus.STOPPED
    with_log = build_fivetran_definitions(
        live.view, live.snapshot, resources=live.resources(), event_log=live.receiver.log.url
    )
    dg.Definitions.validate_loadable(with_log)
    webhook = with_log.resolve_sensor_def("fivetran_webhook_sensor")
    assert webhook.default_status is running
    assert webhook.asset_selection is None  # it requests no transformation runs
    assert with_log.resolve_sensor_def("fivetran_sync_polling_sensor").default_status is stopped
    automation = with_log.resolve_sensor_def(AUTOMATION_SENSOR)
    graph = with_log.resolve_asset_graph()
    models = _integrated_models(graph)
    assert automation.default_status is running
    assert automation.asset_selection.resolve(graph) == models and models

    without = build_fivetran_definitions(live.view, live.snapshot, resources=live.resources())
    names = {s.name for s in without.sensors or ()}
    assert "fivetran_webhook_sensor" not in names
    assert without.resolve_sensor_def("fivetran_sync_polling_sensor").default_status is running


def _api_calls(live: Live, since: int, fragment: str) -> tuple[list[tuple[str, str]], int]:
    """The local Fivetran's `/v1` calls whose path contains `fragment`, from `/_local/requests`."""
    import requests

    answer = requests.get(
        f"{live.server.base_url}/_local/requests",
        params={"since": since},
        auth=live.server.auth,
        timeout=5,
    )
    answer.raise_for_status()
    body = answer.json()
    calls = [(i["method"], i["path"]) for i in body["items"] if fragment in i["path"]]
    return calls, body["next_index"]


def _settled(live: Live) -> None:
    """Every department synced once and no (integrated) transformation run in flight, so the
    run under test is the only one."""
    names = list(live.connection_ids)
    for name in names:
        if live.client.get_connection(live.connection_ids[name]).succeeded_at is None:
            live.client.sync_connection(live.connection_ids[name])
    live.wait_idle(*names)
    deadline = time.monotonic() + 30
    while str(live.client.get_transformation(live.transformation_id).status).endswith("RUNNING"):
        assert time.monotonic() < deadline, "the integrated transformation run did not end"
        time.sleep(0.2)


def test_dagster_run_transformation_waits_on_the_event_log(live: Live) -> None:
    """GET, POST .../run, GET: the run is seen when its webhook lands, not at the next poll
    (a polling waiter told to look first after 3600 Fivetran s would look a minute later)."""
    from fivetran_assets.dagster.build import build_fivetran_definitions
    from fivetran_assets.dagster.webhook_waiter import event_log_waiter_factory

    _settled(live)
    defs = build_fivetran_definitions(
        live.view,
        live.snapshot,
        resources=live.resources(
            warehouse=False, poll_first_look_seconds=3600.0, poll_max_interval_seconds=3600.0
        ),
        event_log=live.receiver.log.url,
        # no fallback look either while dbt runs (two steps take a while on a busy machine)
        transformation_waiter_factory=event_log_waiter_factory(
            live.receiver.log.url, fallback_interval=3600.0
        ),
        checks=False,
    )
    tid = live.transformation_id
    _, start = _api_calls(live, 0, "")
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=_integrated_models(defs.resolve_asset_graph())
    )  # that transformation alone: the others would hold the warehouse lock meanwhile
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    finished = datetime.now(UTC)
    assert result.success
    calls, _ = _api_calls(live, start, f"/transformations/{tid}")
    path = f"/v1/transformations/{tid}"
    assert calls == [("GET", path), ("POST", f"{path}/run"), ("GET", path)], calls
    ended = [
        e
        for e in live.receiver.log.read_after(0, events=[EventName.TRANSFORMATION_RUN_SUCCEEDED])
        if e.event.transformation_id == tid
    ]
    assert ended and (finished - ended[-1].received_at).total_seconds() < 3
    # What the run's dbt_run_succeeded said, on each model and its tests' check
    mats = {
        e.materialization.asset_key: e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    stg = mats[dg.AssetKey(["stg_employees"])]
    assert stg["fivetran/built_in_run"].value is True
    assert stg["fivetran/dbt_status"].value == "success"
    assert stg["fivetran/run_id"].value == ended[-1].event.transformation_run_id
    assert stg["fivetran/run_duration_seconds"].value > 0
    checks = {
        e.asset_check_evaluation_data.asset_key: e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    headcount = checks[dg.AssetKey(["headcount_by_department"])]
    assert headcount.check_name == "fivetran_dbt_tests" and headcount.passed
    assert headcount.metadata["passed_tests"].value == [
        "not_null_headcount_by_department_department",
        "unique_headcount_by_department_department",
    ]


def test_a_failed_sync_says_why_with_the_event_log(live: Live) -> None:
    """The `Failure` carries the reason (the `sync_end` event's, which the connection's task
    repeats: said once) and the dashboard URL, in its message and its metadata."""
    import requests

    _settled(live)
    cid = live.connection_ids["finance"]  # the sync lasts 60 Fivetran s: not over at the 1st look
    reason = "source database is read-only (injected for the test)"
    requests.post(
        f"{live.server.base_url}/_local/connections/{cid}/next-sync",
        json={"outcome": "fail", "reason": reason, "duration_seconds": 60},
        auth=live.server.auth,
        timeout=5,
    ).raise_for_status()
    defs = _event_log_defs(live)
    key = dg.AssetKey(["finance_main", "tickets"])
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={key})
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    url = f"http://local/dashboard/connectors/{cid}"
    assert "failed at" in failure.description and reason in failure.description
    assert failure.description.count(reason) == 1 and url in failure.description
    assert failure.metadata["reason"].value == reason
    assert failure.metadata["dashboard_url"].value.startswith(url)
    ends = live.receiver.log.read_after(0, events=[EventName.SYNC_END], connection_ids=[cid])
    assert ends[-1].event.reason == reason
    assert failure.metadata["sync_id"].value == ends[-1].event.sync_id


def test_a_failed_dbt_run_records_what_it_built_then_fails(live: Live, tmp_path: Path) -> None:
    """One model of the run fails in dbt: the others are materialized (built), the failed one
    observed with dbt's message, and the step fails with the reason, all from the events."""
    import shutil

    from fivetran_assets_tests.dagster.conftest import ROOT

    _settled(live)
    broken = tmp_path / "dbt"
    shutil.copytree(ROOT / "config" / "dbt", broken, ignore=shutil.ignore_patterns("target"))
    sql = broken / "models" / "marts" / "headcount_by_department.sql"
    sql.write_text("select department, count(*) from no_such_table group by 1\n")
    (project,) = live.client.list_transformation_projects()
    original = project.project_config.git_remote_url
    live.client.update_transformation_project(
        project.id, project_config={"git_remote_url": str(broken)}
    )
    try:
        defs = _event_log_defs(live)
        job = defs.resolve_implicit_global_asset_job_def().get_subset(
            asset_selection=_integrated_models(defs.resolve_asset_graph())
        )
        result = job.execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
        )
    finally:
        live.client.update_transformation_project(
            project.id, project_config={"git_remote_url": original}
        )
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert (
        "ended FAILED" in failure.description and "headcount_by_department" in failure.description
    )
    built = {e.materialization.asset_key for e in result.get_asset_materialization_events()}
    assert built == {
        dg.AssetKey([m]) for m in ("stg_employees", "stg_expenses", "spend_by_department")
    }
    (observed,) = [
        e.event_specific_data.asset_observation
        for e in result.all_events
        if e.event_type_value == "ASSET_OBSERVATION"
    ]
    assert observed.asset_key == dg.AssetKey(["headcount_by_department"])
    assert observed.metadata["fivetran/built_in_run"].value is False
    assert "no_such_table" in observed.metadata["fivetran/dbt_message"].value
