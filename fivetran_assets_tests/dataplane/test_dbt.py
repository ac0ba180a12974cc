"""dbt transformations on the synced warehouse: real tables, full refresh, failures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fivetran_assets.emulator.dataplane import api, mutate
from fivetran_assets.emulator.dataplane.contract import DataPlaneError, DbtRunRequest
from fivetran_assets.emulator.dataplane.seed import seed_demo

from .helpers import demo_config, never, query, request, sync

PROJECT = Path(__file__).resolve().parents[2] / "config" / "dbt"
MODELS = {
    "stg_employees",
    "stg_expenses",
    "headcount_by_department",
    "spend_by_department",
    "open_tickets",
    "audit_events",
}


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The four default departments synced into one DuckDB warehouse."""
    root = tmp_path_factory.mktemp("dbt")
    warehouse = root / "warehouse.duckdb"
    for db in seed_demo(root / "sources", departments=4, rows=120, seed=5):
        sync(request(db, warehouse, root / "state", demo_config({"database": str(db)})))
    return root, warehouse


def _run(warehouse: Path, work: Path, command: str, *, project: Path = PROJECT, **kw):
    return api.run_dbt(
        DbtRunRequest(
            project_config={"git_remote_url": f"file://{project}", "default_schema": "analytics"},
            destination_service="duckdb",
            destination_config={"path": str(warehouse)},
            steps=({"name": "step", "command": command},),
            work_dir=work,
            **kw,
        ),
        cancelled=never,
    )


def test_build_then_incremental_then_full_refresh(synced: tuple[Path, Path]):
    root, warehouse = synced
    report = _run(warehouse, root / "run1", "dbt build")
    assert report.succeeded, report.message
    assert set(report.output_model_names) == MODELS
    headcount = dict(
        query(warehouse, "SELECT department, headcount FROM analytics.headcount_by_department")
    )
    expected = dict(
        query(
            warehouse,
            "SELECT department, count(*) FROM analytics.stg_employees WHERE is_active GROUP BY 1",
        )
    )
    assert headcount == expected and set(headcount) == {
        "sales",
        "marketing",
        "engineering",
        "finance",
    }
    first = query(warehouse, "SELECT DISTINCT loaded_by FROM analytics.audit_events")
    assert len(first) == 1

    report = _run(warehouse, root / "run2", "dbt run --select audit_events")
    assert report.succeeded and report.output_model_names == ("audit_events",)
    assert query(warehouse, "SELECT DISTINCT loaded_by FROM analytics.audit_events") == first

    report = _run(warehouse, root / "run3", "dbt run --select audit_events", full_refresh=True)
    assert report.succeeded
    refreshed = query(warehouse, "SELECT DISTINCT loaded_by FROM analytics.audit_events")
    assert len(refreshed) == 1 and refreshed != first


def test_failing_model_fails_the_run_with_dbts_message(synced: tuple[Path, Path], tmp_path: Path):
    _, warehouse = synced
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    (project / "models" / "marts" / "broken.sql").write_text(
        "select no_such_column from {{ ref('stg_employees') }}\n"
    )
    report = _run(warehouse, tmp_path / "work", "dbt run --select broken", project=project)
    assert not report.succeeded
    assert "broken" in report.message and "no_such_column" in report.message


def test_remote_git_is_refused_with_a_reason(tmp_path: Path):
    tests = api.test_transformation_project({"git_remote_url": "https://github.com/x/y.git"})
    assert tests[0].status == "FAILED" and "cannot clone remote git" in tests[0].message
    ok = api.test_transformation_project(
        {"git_remote_url": str(PROJECT.parent), "folder_path": "dbt"}
    )
    assert ok[0].status == "PASSED"
    with pytest.raises(DataPlaneError, match=r"no dbt_project\.yml"):
        _run(tmp_path / "w.duckdb", tmp_path / "work", "dbt run", project=tmp_path)


def test_sync_after_dbt_sees_the_file_free(synced: tuple[Path, Path]):
    root, warehouse = synced
    db = root / "sources" / "sales.sqlite"
    mutate.delete_rows(db, "employees", [1])
    report = sync(request(db, warehouse, root / "state", demo_config({"database": str(db)})))
    assert {t.table: t.rows_deleted for t in report.tables}["employees"] == 1
