"""The demo pipeline through Dagster: real runs launched in a workspace, in a temp DAGSTER_HOME.

A small definitions file and the workspace.yaml loading it, written by the test, stand in for
the project's (whose jobs other parts of the project provide); it has the same job names and op
naming, and its assets write a real DuckDB warehouse, so the runs, events, summary and errors
are all real. Each run is launched as the UI launches one: from the code location, with its
origin recorded.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import DagsterInstance, RunsFilter
from rich.console import Console

from fivetran_assets.stack.credentials import load_or_create_credentials, stack_env
from fivetran_assets.stack.home import ensure_dagster_home
from fivetran_assets.stack.pipeline import run_demo_pipeline
from fivetran_assets.stack.runner import JobFailedError, MissingJobError
from fivetran_assets.stack.settings import StackSettings

TOY_DEFINITIONS = """
import os

import dagster as dg
import duckdb

WAREHOUSE = os.path.join(os.environ["FIVETRAN_ASSETS_DEMO_DIR"], "warehouse.duckdb")


@dg.op
def apply_plan(context):
    if os.environ.get("TOY_FAIL"):
        raise RuntimeError("destination setup test failed: warehouse unreachable")
    context.log.info("created group departments")
    return dg.Output(
        None,
        metadata={"created": 6, "updated": 0, "plan": dg.MetadataValue.md("| create | group |")},
    )


@dg.job
def provision_fivetran():
    apply_plan()


def _sql(statement):
    con = duckdb.connect(WAREHOUSE)
    try:
        con.execute(statement)
    finally:
        con.close()


@dg.multi_asset(specs=[dg.AssetSpec(["g", "sales", "employees"])], name="fivetran_sync__g__sales")
def sync_sales():
    os.makedirs(os.path.dirname(WAREHOUSE), exist_ok=True)
    _sql("CREATE SCHEMA IF NOT EXISTS sales; "
         "CREATE OR REPLACE TABLE sales.employees AS SELECT range AS id FROM range(7)")
    yield dg.MaterializeResult(asset_key=["g", "sales", "employees"],
                               metadata={"dagster/row_count": 7, "fivetran/rows_synced": 2})


@dg.multi_asset(
    specs=[dg.AssetSpec(["g", "analytics", "headcount"], deps=[["g", "sales", "employees"]])],
    name="fivetran_transform__g__models",
)
def transform():
    _sql("CREATE SCHEMA IF NOT EXISTS analytics; CREATE OR REPLACE TABLE analytics.headcount AS "
         "SELECT count(*) AS n FROM sales.employees")
    yield dg.MaterializeResult(asset_key=["g", "analytics", "headcount"],
                               metadata={"dagster/row_count": 1})


defs = dg.Definitions(
    assets=[sync_sales, transform],
    jobs=[
        provision_fivetran,
        dg.define_asset_job(
            "pipeline", selection=dg.AssetSelection.all(), executor_def=dg.in_process_executor
        ),
    ],
)
"""


LOCATION = "toy_location"


def _workspace(tmp_path: Path, text: str) -> Path:
    """`toy_definitions.py` and a workspace.yaml loading it as the code location `toy_location`."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "toy_definitions.py").write_text(text)
    workspace = code / "workspace.yaml"
    workspace.write_text(
        "load_from:\n"
        f"  - python_file:\n      relative_path: toy_definitions.py\n"
        f"      working_directory: {code}\n      location_name: {LOCATION}\n"
    )
    return workspace


def _env(settings: StackSettings) -> dict[str, str]:
    ensure_dagster_home(settings.dagster_home)
    return stack_env(settings, load_or_create_credentials(settings.state_dir))


def test_demo_pipeline_runs_both_jobs_in_the_persistent_instance(
    settings: StackSettings, tmp_path: Path
) -> None:
    workspace = _workspace(tmp_path, TOY_DEFINITIONS)
    console = Console(record=True, width=200)
    result = run_demo_pipeline(
        _env(settings), settings=settings, console=console, workspace=workspace
    )

    assert result.provision.numbers == {"created": 6, "updated": 0}
    assert result.provision.markdown == {"plan": "| create | group |"}
    assert [(t.schema, t.table, t.rows) for t in result.tables] == [
        ("analytics", "headcount", 1),
        ("sales", "employees", 7),
    ]
    text = console.export_text()
    for expected in (
        "created group departments",
        "materialized g/sales/employees (2 synced, 7 total)",
        "materialized g/analytics/headcount (1 row)",
        str(settings.warehouse_path),
        "SELECT * FROM analytics.headcount LIMIT 10",
    ):
        assert expected in text

    instance = DagsterInstance.from_config(str(settings.dagster_home))
    try:
        runs = {r.job_name: r for r in instance.get_runs()}
        assert runs["provision_fivetran"].run_id == result.provision.run_id
        assert runs["pipeline"].run_id == result.pipeline.run_id
        assert all(r.status.value == "SUCCESS" for r in runs.values())
        # Launched from the code location, as the UI does: a job's page lists the runs tagged
        # with its repository and location, and re-execution needs the run's origin.
        for name, run in runs.items():
            assert run.remote_job_origin is not None
            assert run.remote_job_origin.location_name == LOCATION
            listed = instance.get_runs(
                filters=RunsFilter(
                    job_name=name, tags={".dagster/repository": f"__repository__@{LOCATION}"}
                )
            )
            assert [r.run_id for r in listed] == [run.run_id]
    finally:
        instance.dispose()


def test_a_missing_job_is_named_before_anything_runs(
    settings: StackSettings, tmp_path: Path
) -> None:
    workspace = _workspace(tmp_path, "import dagster as dg\ndefs = dg.Definitions()\n")
    with pytest.raises(MissingJobError) as info:
        run_demo_pipeline(_env(settings), settings=settings, console=Console(), workspace=workspace)
    assert "no job named 'provision_fivetran', 'pipeline' (jobs defined: none)" in str(info.value)
    instance = DagsterInstance.from_config(str(settings.dagster_home))
    try:
        assert instance.get_runs() == []
    finally:
        instance.dispose()


def test_a_failed_run_reports_the_step_error(settings: StackSettings, tmp_path: Path) -> None:
    workspace = _workspace(tmp_path, TOY_DEFINITIONS)
    env = {**_env(settings), "TOY_FAIL": "1"}
    with pytest.raises(JobFailedError) as info:
        run_demo_pipeline(env, settings=settings, console=Console(), workspace=workspace)
    message = str(info.value)
    assert "job provision_fivetran run" in message and "ended FAILURE" in message
    assert "apply_plan: RuntimeError: destination setup test failed" in message
    assert not (settings.logs_dir / "job-pipeline.log").exists()
