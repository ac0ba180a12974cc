"""The demo pipeline through Dagster: real `dagster job execute` runs in a temp DAGSTER_HOME.

A small definitions module written by the test stands in for `fivetran_assets.definitions`
(whose jobs other parts of the project provide); it has the same job names and op naming, and
its assets write a real DuckDB warehouse, so the runs, events, summary and errors are all real.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from dagster import DagsterInstance
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
                               metadata={"dagster/row_count": 7})


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


def _module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> str:
    name = f"toy_definitions_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def _env(settings: StackSettings) -> dict[str, str]:
    ensure_dagster_home(settings.dagster_home)
    return stack_env(settings, load_or_create_credentials(settings.state_dir))


def test_demo_pipeline_runs_both_jobs_in_the_persistent_instance(
    settings: StackSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _module(tmp_path, monkeypatch, TOY_DEFINITIONS)
    console = Console(record=True, width=200)
    result = run_demo_pipeline(_env(settings), settings=settings, console=console, module=module)

    assert result.provision.numbers == {"created": 6, "updated": 0}
    assert result.provision.markdown == {"plan": "| create | group |"}
    assert [(t.schema, t.table, t.rows) for t in result.tables] == [
        ("analytics", "headcount", 1),
        ("sales", "employees", 7),
    ]
    text = console.export_text()
    for expected in (
        "created group departments",
        "materialized g/sales/employees (7 rows)",
        "g/analytics/headcount",
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
    finally:
        instance.dispose()


def test_a_missing_job_is_named_before_anything_runs(
    settings: StackSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _module(tmp_path, monkeypatch, "import dagster as dg\ndefs = dg.Definitions()\n")
    with pytest.raises(MissingJobError) as info:
        run_demo_pipeline(_env(settings), settings=settings, console=Console(), module=module)
    assert "no job named 'provision_fivetran', 'pipeline'" in str(info.value)
    assert not (settings.logs_dir / "job-provision_fivetran.log").exists()


def test_a_failed_run_reports_the_step_error(
    settings: StackSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _module(tmp_path, monkeypatch, TOY_DEFINITIONS)
    env = {**_env(settings), "TOY_FAIL": "1"}
    with pytest.raises(JobFailedError) as info:
        run_demo_pipeline(env, settings=settings, console=Console(), module=module)
    message = str(info.value)
    assert "job provision_fivetran run" in message and "ended FAILURE" in message
    assert "apply_plan: RuntimeError: destination setup test failed" in message
    assert not (settings.logs_dir / "job-pipeline.log").exists()
