"""The demo's closing summary: what provisioning did, rows per warehouse table, models built."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from fivetran_assets.stack.runner import JobRun

# Step keys come from fivetran_assets.dagster.translator.op_name("transform", group, name).
TRANSFORM_STEP_PREFIX = "fivetran_transform__"
_SYSTEM_SCHEMAS = ("information_schema", "pg_catalog")


@dataclass(frozen=True)
class TableRows:
    schema: str
    table: str
    rows: int


def warehouse_tables(path: Path, *, lock_retry_seconds: float = 15.0) -> list[TableRows]:
    """Every user table of the DuckDB warehouse with its row count (read-only, waits on locks).

    The local Fivetran opens the file only while writing, so a short wait gets a read lock.
    """
    import duckdb

    if not path.exists():
        return []
    deadline = time.monotonic() + lock_retry_seconds
    while True:
        try:
            con = duckdb.connect(str(path), read_only=True)
            break
        except duckdb.IOException:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)
    try:
        names = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN (?, ?) "
            "ORDER BY table_schema, table_name",
            list(_SYSTEM_SCHEMAS),
        ).fetchall()
        out = []
        for schema, table in names:
            quoted = ".".join('"' + n.replace('"', '""') + '"' for n in (schema, table))
            (count,) = con.execute(f"SELECT count(*) FROM {quoted}").fetchone()
            out.append(TableRows(schema, table, int(count)))
        return out
    finally:
        con.close()


def models_built(run: JobRun) -> list[str]:
    """Assets the transformation steps of `run` materialized, as `a/b/c` strings."""
    return sorted(
        {
            "/".join(m.asset_key)
            for m in run.materializations
            if (m.step_key or "").startswith(TRANSFORM_STEP_PREFIX)
        }
    )


def paste_query(warehouse: Path, tables: Sequence[TableRows], models: Sequence[str]) -> str:
    """A command that reads the warehouse with the duckdb that the project installs."""
    model_tables = [t for t in tables if any(m.endswith(f"/{t.schema}/{t.table}") for m in models)]
    candidates = [t for t in model_tables or tables if t.rows] or [TableRows("main", "<table>", 0)]
    target = min(candidates, key=lambda t: (t.rows, t.schema, t.table))  # a report reads best
    sql = f"SELECT * FROM {target.schema}.{target.table} LIMIT 10"
    return (
        f".venv/bin/python -c \"import duckdb; duckdb.connect('{warehouse}', read_only=True)"
        f".sql('{sql}').show()\""
    )


def render_summary(
    console: Console,
    *,
    provision: JobRun,
    pipeline: JobRun,
    warehouse: Path,
    tables: Sequence[TableRows],
) -> None:
    counts = Table(title=f"Provisioning (run {provision.run_id[:8]})")
    counts.add_column("what")
    counts.add_column("count", justify="right")
    for label, value in sorted(provision.numbers.items()):
        counts.add_row(label, f"{value:g}")
    if not provision.numbers:
        counts.add_row("(the provisioning run reported no counts)", "")
    console.print(counts)

    rows = Table(title=f"Warehouse tables ({warehouse})")
    rows.add_column("schema")
    rows.add_column("table")
    rows.add_column("rows", justify="right")
    for t in tables:
        rows.add_row(t.schema, t.table, f"{t.rows:,}")
    if not tables:
        rows.add_row("(no tables)", "", "")
    console.print(rows)

    models = models_built(pipeline)
    built = Table(title=f"Models built (run {pipeline.run_id[:8]})")
    built.add_column("model")
    for model in models:
        built.add_row(model)
    if not models:
        built.add_row("(none)")
    console.print(built)

    console.print(f"[bold]Warehouse:[/] {warehouse}")
    console.print("[bold]Try:[/]")
    console.print(paste_query(warehouse, tables, models), markup=False, soft_wrap=True)
