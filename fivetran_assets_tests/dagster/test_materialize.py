"""Materializing the demo estate through the local Fivetran: real syncs, real row counts."""

from __future__ import annotations

from typing import Any

import dagster as dg
import duckdb

from fivetran_assets_tests.dagster.conftest import DEPARTMENTS, Demo


def _count(demo: Demo, schema: str, table: str) -> int:
    with duckdb.connect(str(demo.warehouse), read_only=True) as con:
        return con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]


def _columns(demo: Demo, schema: str, table: str) -> list[str]:
    with duckdb.connect(str(demo.warehouse), read_only=True) as con:
        rows = con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
    return [r[0] for r in rows]


def _materialized(result: dg.ExecuteInProcessResult) -> dict[dg.AssetKey, Any]:
    return {
        e.materialization.asset_key: e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }


def _run(demo: Demo, job: str, *, config: dict | None = None, **defs_kwargs: Any) -> Any:
    defs = demo.definitions(**defs_kwargs)
    return defs.resolve_job_def(job).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), run_config=config or {}, raise_on_error=False
    )


def test_snapshot_records_enabled_tables_and_columns(demo: Demo) -> None:
    from fivetran_assets.snapshot.store import read_snapshot

    snap = read_snapshot(demo.snapshot_path)
    sales = snap.connection("departments", "sales")
    assert sales is not None and sales.id == demo.connection_ids["sales"]
    tables = {t.table: t for t in sales.tables}
    assert set(tables) == {"employees", "expenses", "tickets", "audit_log"}  # payroll disabled
    employees = {c.name: c for c in tables["employees"].columns}
    assert "ssn" not in employees and employees["email"].hashed
    assert employees["id"].primary_key
    assert tables["employees"].destination_schema == "sales_main"
    models = {m.name: m for m in snap.transformation("departments", "department_models").models}
    assert ("sales_main", "employees") in models["stg_employees"].sources
    assert models["headcount_by_department"].refs == ("stg_employees",)


def test_pipeline_syncs_every_table_then_builds_models(demo: Demo) -> None:
    result = _run(demo, "pipeline")
    assert result.success
    mats = _materialized(result)
    for dept in DEPARTMENTS:
        for table in ("employees", "expenses", "tickets", "audit_log"):
            meta = mats[dg.AssetKey([f"{dept}_main", table])]
            assert meta["dagster/row_count"].value == _count(demo, f"{dept}_main", table) > 0
            assert meta["fivetran/sync_duration_seconds"].value >= 0
        assert dg.AssetKey([f"{dept}_main", "payroll"]) not in mats
        schema = mats[dg.AssetKey([f"{dept}_main", "employees"])]
        names = [c.name for c in schema["dagster/column_schema"].value.columns]
        assert names == _columns(demo, f"{dept}_main", "employees") and "ssn" not in names
    model = mats[dg.AssetKey(["stg_employees"])]
    assert model["dagster/row_count"].value == _count(demo, "analytics", "stg_employees") > 0


def test_subset_syncs_the_connection_and_records_only_selected_tables(demo: Demo) -> None:
    defs = demo.definitions()
    key = dg.AssetKey(["sales_main", "tickets"])
    job = defs.get_implicit_global_asset_job_def().get_subset(asset_selection={key})
    before = demo.client.get_connection(demo.connection_ids["sales"]).succeeded_at
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert result.success
    assert set(_materialized(result)) == {key}
    after = demo.client.get_connection(demo.connection_ids["sales"]).succeeded_at
    assert before is None or after > before


def test_resync_of_one_table(demo: Demo) -> None:
    op = "fivetran_sync__departments__marketing"
    result = _run(
        demo, "sync_all", config={"ops": {op: {"config": {"resync_tables": ["main.tickets"]}}}}
    )
    assert result.success
    bad = _run(demo, "sync_all", config={"ops": {op: {"config": {"resync_tables": ["nope"]}}}})
    assert not bad.success
    failure = bad.get_step_failure_events()[0].step_failure_data.error.message
    assert "nope" in failure and "main.tickets" in failure


def test_paused_connection_fails_clearly_or_is_unpaused(demo: Demo) -> None:
    cid = demo.connection_ids["finance"]
    demo.client.update_connection(cid, paused=True)
    result = _run(demo, "group_departments")
    assert not result.success
    messages = [
        e.step_failure_data.user_failure_data.description
        for e in result.get_step_failure_events()
        if e.step_failure_data.user_failure_data
    ]
    assert any("finance" in m and "paused" in m for m in messages)
    ok = _run(demo, "sync_all", resources=demo.resources(unpause_paused=True))
    assert ok.success
    assert not demo.client.get_connection(cid).paused


def test_failed_sync_raises_failure_with_tasks_and_dashboard(demo: Demo) -> None:
    cid = demo.connection_ids["engineering"]
    _local(
        demo,
        f"/_local/connections/{cid}/next-sync",
        {"outcome": "fail", "reason": "source went away"},
    )
    result = _run(demo, "sync_all")
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert "engineering" in failure.description and "failed" in failure.description
    assert "http://local/dashboard/connectors/" in str(failure.metadata["dashboard_url"].value)
    assert "source went away" in str(failure.metadata["tasks"].value)


def _local(demo: Demo, path: str, body: dict) -> None:
    import requests

    requests.post(
        f"{demo.server.base_url}{path}", json=body, auth=demo.server.auth, timeout=5
    ).raise_for_status()


def _failure(result: dg.ExecuteInProcessResult) -> Any:
    return result.get_step_failure_events()[0].step_failure_data.user_failure_data


def test_rescheduled_sync_is_waited_for_then_recorded(demo: Demo) -> None:
    from fivetran_assets.dagster.waiting import PollingWaiter

    cid = demo.connection_ids["sales"]
    _local(demo, f"/_local/connections/{cid}/next-sync", {"outcome": "reschedule"})
    states: list[str] = []

    def waiter(resource: Any) -> PollingWaiter:
        return PollingWaiter(
            resource.polling(), on_look=lambda c: states.append(str(c.status.sync_state))
        )

    defs = demo.definitions(waiter_factory=waiter)
    key = dg.AssetKey(["sales_main", "employees"])
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={key})
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert result.success
    assert any("rescheduled" in s for s in states)
    assert _materialized(result)[key]["dagster/row_count"].value > 0


def test_broken_connection_runs_setup_tests_then_fails_with_their_messages(demo: Demo) -> None:
    cid = demo.connection_ids["marketing"]
    source = demo.sources / "marketing.sqlite"
    moved = source.with_suffix(".moved")
    source.rename(moved)
    try:
        assert str(demo.client.test_connection(cid).status.setup_state).endswith("broken")
        key = dg.AssetKey(["marketing_main", "tickets"])
        defs = demo.definitions()
        job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={key})
        result = job.execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
        )
        assert not result.success
        failure = _failure(result)
        assert "broken" in failure.description and "setup tests" in failure.description
        assert failure.metadata["setup_tests"].value
    finally:
        moved.rename(source)
        demo.client.test_connection(cid)


def test_transformation_failure_and_full_refresh(demo: Demo) -> None:
    tid = demo.transformation_id
    original = demo.client.get_transformation(tid)
    config = {
        "project_id": original.project_id,
        "name": original.name,
        "steps": [
            {
                "name": "bad",
                "command": "dbt run --select does_not_exist+ --vars '{departments: [nowhere]}'",
            }
        ],
    }
    demo.client.update_transformation(tid, transformation_config=config)
    try:
        result = _run(demo, "transform_all", failure_reason=lambda t: f"dbt: no source ({t})")
        assert not result.success
        description = _failure(result).description
        assert "ended FAILED" in description and f"dbt: no source ({tid})" in description
    finally:
        demo.client.update_transformation(
            tid,
            transformation_config={
                **config,
                "steps": [{"name": s.name, "command": s.command} for s in original.steps],
            },
        )
    op = "fivetran_transform__departments__department_models"
    ok = _run(demo, "transform_all", config={"ops": {op: {"config": {"full_refresh": True}}}})
    assert ok.success
    mats = _materialized(ok)
    audit = mats[dg.AssetKey(["audit_events"])]
    assert audit["dagster/row_count"].value == _count(demo, "analytics", "audit_events") > 0


def test_schema_drift_check_and_freshness_policy(demo: Demo) -> None:
    from fivetran_assets.emulator.dataplane.mutate import add_column

    checks_job = dg.define_asset_job("run_checks", selection=dg.AssetSelection.all_asset_checks())
    defs = dg.Definitions.merge(demo.definitions(), dg.Definitions(jobs=[checks_job]))
    instance = dg.DagsterInstance.ephemeral()
    key = dg.AssetKey(["sales_main", "tickets"])
    policy = defs.get_repository_def().asset_graph.get(key).freshness_policy
    assert policy.fail_window.to_timedelta().total_seconds() == 2 * 360 * 60

    def drift() -> Any:
        result = defs.resolve_job_def("run_checks").execute_in_process(instance=instance)
        assert not result.get_asset_materialization_events()  # checks alone sync nothing
        return {
            e.asset_check_evaluation_data.asset_key: e.asset_check_evaluation_data
            for e in result.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"
        }[key]

    assert defs.resolve_job_def("sync_all").execute_in_process(instance=instance).success
    assert drift().passed
    add_column(demo.sources / "sales.sqlite", "tickets", "escalated_to", "TEXT")
    assert defs.resolve_job_def("sync_all").execute_in_process(instance=instance).success
    after = drift()
    assert not after.passed
    assert after.metadata["new_columns"].value == ["escalated_to"]


def test_failed_sync_says_why_and_where(demo: Demo) -> None:
    """Polling (no event log): the reason is the connection's task message from the GET that
    saw the failure; the message and the metadata carry it and the dashboard URL."""
    cid = demo.connection_ids["finance"]
    reason = "Permission denied on table tickets (injected)"
    _local(demo, f"/_local/connections/{cid}/next-sync", {"outcome": "fail", "reason": reason})
    key = dg.AssetKey(["finance_main", "tickets"])
    job = (
        demo.definitions().resolve_implicit_global_asset_job_def().get_subset(asset_selection={key})
    )
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    failure = _failure(result)
    url = f"http://local/dashboard/connectors/{cid}/status"
    assert f"({cid}) failed at" in failure.description
    assert failure.description.endswith(f": {reason} (see {url})")
    assert failure.metadata["reason"].value == reason
    assert failure.metadata["dashboard_url"].value == url
    assert failure.metadata["tasks"].value == [f"sync_failed: {reason}"]
