"""The demo's closing summary: what provisioning did, rows per warehouse table, models built.

Rows per table come with how many of them this run's syncs wrote (Fivetran's `_fivetran_synced`
column at or after the pipeline's start), so a second `make demo` shows the syncs were
incremental instead of claiming it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from fivetran_assets.stack.runner import JobRun

# Step keys come from fivetran_assets.dagster.specs.op_name("transform", group, name).
TRANSFORM_STEP_PREFIX = "fivetran_transform__"
_SYSTEM_SCHEMAS = ("information_schema", "pg_catalog")
SYNCED_COLUMN = "_fivetran_synced"


@dataclass(frozen=True)
class TableRows:
    schema: str
    table: str
    rows: int
    synced_since: int | None = None  # rows written at or after `since`; None: not a synced table


def _quoted(*names: str) -> str:
    return ".".join('"' + n.replace('"', '""') + '"' for n in names)


def warehouse_tables(
    path: Path, *, since: datetime | None = None, lock_retry_seconds: float = 15.0
) -> list[TableRows]:
    """Every user table of the DuckDB warehouse with its row count (read-only, waits on locks).

    With `since` (naive UTC, as Fivetran writes `_fivetran_synced`), tables holding that column
    also count the rows synced at or after it. The local Fivetran opens the file only while
    writing, so a short wait gets a read lock.
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
        synced = {
            (schema, table)
            for schema, table in con.execute(
                "SELECT table_schema, table_name FROM information_schema.columns "
                "WHERE column_name = ?",
                [SYNCED_COLUMN],
            ).fetchall()
        }
        out = []
        for schema, table in names:
            quoted = _quoted(schema, table)
            (count,) = con.execute(f"SELECT count(*) FROM {quoted}").fetchone()
            recent = None
            if since is not None and (schema, table) in synced:
                (recent,) = con.execute(
                    f"SELECT count(*) FROM {quoted} WHERE {_quoted(SYNCED_COLUMN)} >= ?", [since]
                ).fetchone()
            out.append(TableRows(schema, table, int(count), _int(recent)))
        return out
    finally:
        con.close()


def _int(value: int | None) -> int | None:
    return None if value is None else int(value)


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


def provisioning_text(provision: JobRun) -> str:
    """What the provisioning run did, as its apply op said it (`9 resources created in 13
    steps (...). Verified: ...`), or its plan's summary line when there was nothing to apply."""
    result = provision.markdown.get("result", "").strip()
    if result:
        return result
    plan = provision.markdown.get("plan", "").strip()
    return plan.splitlines()[0].strip("*") if plan else "(the run reported no plan)"


def render_summary(
    console: Console,
    *,
    provision: JobRun,
    pipeline: JobRun,
    warehouse: Path,
    tables: Sequence[TableRows],
) -> None:
    console.print(
        f"[bold]Provisioning[/] (run {provision.run_id[:8]}): {provisioning_text(provision)}"
    )
    rows = Table(title=f"Warehouse tables ({warehouse})")
    rows.add_column("schema", no_wrap=True, overflow="ignore")  # names are never cut
    rows.add_column("table", no_wrap=True, overflow="ignore")
    rows.add_column("rows", justify="right")
    rows.add_column("synced by this run", justify="right")
    for t in tables:
        recent = "" if t.synced_since is None else f"{t.synced_since:,}"
        rows.add_row(t.schema, t.table, f"{t.rows:,}", recent)
    if not tables:
        rows.add_row("(no tables)", "", "", "")
    console.print(rows)

    models = models_built(pipeline)
    built = Table(title=f"Models built (run {pipeline.run_id[:8]})", min_width=30)
    built.add_column("model")
    for model in models:
        built.add_row(model)
    if not models:
        built.add_row("(none)")
    console.print(built)

    console.print(f"[bold]Warehouse:[/] {warehouse}")
    console.print("[bold]Try:[/]")
    console.print(paste_query(warehouse, tables, models), markup=False, soft_wrap=True)
