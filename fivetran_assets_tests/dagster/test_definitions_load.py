"""Definitions built from the demo config and its snapshot: zero API calls, expected graph."""

from __future__ import annotations

import dagster as dg

from fivetran_assets_tests.dagster.conftest import DEPARTMENTS, ROOT, Demo, api_requests


def test_loading_definitions_makes_no_api_call(demo: Demo, tmp_path) -> None:
    from fivetran_assets.dagster.build import load_fivetran_definitions
    from fivetran_assets.snapshot.store import write_snapshot

    synced = (
        demo.definitions()
        .resolve_job_def("sync_all")
        .execute_in_process(instance=dg.DagsterInstance.ephemeral())
    )
    assert synced.success
    snapshot = tmp_path / "snapshot.json"
    write_snapshot(demo.client, demo.estate, snapshot, dbt=False)  # now with warehouse types

    _, start = api_requests(demo)
    defs = load_fivetran_definitions(ROOT / "config", snapshot)
    repo = defs.get_repository_def()
    calls, _ = api_requests(demo, start)
    assert calls == []

    graph = repo.asset_graph
    keys = graph.get_all_asset_keys()
    for dept in DEPARTMENTS:
        for table in ("employees", "expenses", "tickets", "audit_log"):
            assert dg.AssetKey([f"{dept}_main", table]) in keys
        assert dg.AssetKey([f"{dept}_main", "payroll"]) not in keys
    assert not any(len(k.path) == 1 for k in keys)  # models come from dbt parse

    models = load_fivetran_definitions(ROOT / "config", demo.snapshot_path).get_repository_def()
    graph = models.asset_graph
    stg = graph.get(dg.AssetKey(["stg_employees"]))
    assert set(stg.parent_keys) == {dg.AssetKey([f"{d}_main", "employees"]) for d in DEPARTMENTS}
    headcount = graph.get(dg.AssetKey(["headcount_by_department"]))
    assert dg.AssetKey(["stg_employees"]) in headcount.parent_keys
    assert headcount.automation_condition is not None  # integrated, scheduled by dagster
    assert headcount.group_name == "departments__department_models"
    assert headcount.metadata["dagster/table_name"] == "warehouse.analytics.headcount_by_department"
    assert api_requests(demo, start)[0] == []
    graph = repo.asset_graph

    jobs = {j.name for j in repo.get_all_jobs()}
    assert {"sync_all", "transform_all", "pipeline", "group_departments"} <= jobs
    assert [(s.name, s.cron_schedule) for s in repo.schedule_defs] == [
        ("departments__sync_every_360m", "0 */6 * * *")
    ]

    spec = graph.get(dg.AssetKey(["sales_main", "employees"]))
    meta = spec.metadata
    assert meta["dagster/table_name"] == "warehouse.sales_main.employees"  # the DuckDB catalog
    columns = {c.name: c for c in meta["dagster/column_schema"].columns}
    assert "ssn" not in columns and columns["email"].tags == {"fivetran/hashed": "true"}
    assert columns["id"].type != "unknown"  # types read from the warehouse at refresh
    assert spec.kinds == {"fivetran", "duckdb"}
    assert list(spec.owners) == ["team:data-platform"]
    assert spec.tags["domain"] == "departments"
    assert meta["fivetran/connection_id"] == demo.connection_ids["sales"]
    assert spec.group_name == "departments__sales"


def test_refresh_command_writes_the_snapshot(demo: Demo, tmp_path) -> None:
    from click.testing import CliRunner

    from fivetran_assets.cli import main
    from fivetran_assets.snapshot.store import read_snapshot

    target = tmp_path / "refreshed.json"
    result = CliRunner().invoke(
        main, ["refresh", "--config", str(ROOT / "config"), "--snapshot", str(target), "--no-dbt"]
    )
    assert result.exit_code == 0, result.output
    assert "4 connections, 16 tables" in result.output
    snap = read_snapshot(target)
    assert {c.name for c in snap.connections} == set(DEPARTMENTS)
    assert snap.group("departments").destination_config["path"] == str(demo.warehouse)


def test_refresh_reports_a_bad_config_without_a_traceback(tmp_path) -> None:
    from click.testing import CliRunner

    from fivetran_assets.cli import main

    bad = tmp_path / "estate.yaml"
    bad.write_text("groups: [{name: g, destination: {service: duckdb}, conections: []}]\n")
    result = CliRunner().invoke(main, ["refresh", "--config", str(bad)])
    assert result.exit_code == 1
    assert "conections" in result.output and "Traceback" not in result.output
