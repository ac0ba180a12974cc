"""The demo summary reads a real DuckDB warehouse: row counts, and rows synced by this run."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
from rich.console import Console

from fivetran_assets.stack.runner import JobRun, Materialized
from fivetran_assets.stack.summary import TableRows, render_summary, warehouse_tables

EARLIER = datetime(2026, 1, 1, 10, 0, 0)
RUN_START = datetime(2026, 1, 1, 11, 0, 0)
LATER = datetime(2026, 1, 1, 11, 0, 5)


def _warehouse(path: Path) -> Path:
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA sales_main; CREATE SCHEMA analytics")
        con.execute("CREATE TABLE sales_main.employees (id INT, _fivetran_synced TIMESTAMP)")
        con.execute(
            "INSERT INTO sales_main.employees SELECT range, "
            "CASE WHEN range < 3 THEN ?::TIMESTAMP ELSE ?::TIMESTAMP END FROM range(10)",
            [LATER, EARLIER],
        )
        con.execute("CREATE TABLE analytics.headcount AS SELECT 10 AS n")
    finally:
        con.close()
    return path


def test_rows_synced_since_the_run_started_are_counted(tmp_path: Path) -> None:
    path = _warehouse(tmp_path / "warehouse.duckdb")
    assert warehouse_tables(path, since=RUN_START) == [
        TableRows("analytics", "headcount", 1, None),
        TableRows("sales_main", "employees", 10, 3),
    ]
    assert warehouse_tables(path)[1] == TableRows("sales_main", "employees", 10, None)
    assert warehouse_tables(tmp_path / "missing.duckdb") == []


def test_summary_shows_synced_rows_and_a_query_that_runs(tmp_path: Path) -> None:
    path = _warehouse(tmp_path / "warehouse.duckdb")
    tables = warehouse_tables(path, since=RUN_START)
    run = JobRun(
        "pipeline",
        "a" * 32,
        "SUCCESS",
        tmp_path / "log",
        materializations=(
            Materialized(("g", "analytics", "headcount"), "fivetran_transform__g__m", 1),
        ),
    )
    provision = JobRun("provision_fivetran", "b" * 32, "SUCCESS", tmp_path / "log")
    console = Console(record=True, width=250)
    render_summary(console, provision=provision, pipeline=run, warehouse=path, tables=tables)
    text = console.export_text()
    assert "synced by this run" in text
    cells = {
        tuple(cell.strip() for cell in line.strip("│ ").split("│"))
        for line in text.splitlines()
        if line.startswith("│ ")
    }
    assert ("sales_main", "employees", "10", "3") in cells
    assert ("analytics", "headcount", "1") in cells  # a model: no `_fivetran_synced`
    query = next(line for line in text.splitlines() if "duckdb.connect" in line)
    sql = query.split(".sql('")[1].split("')")[0]
    assert sql == "SELECT * FROM analytics.headcount LIMIT 10"
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.sql(sql).fetchall() == [(10,)]
    finally:
        con.close()
