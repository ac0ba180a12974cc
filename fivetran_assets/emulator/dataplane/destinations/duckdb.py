"""The `duckdb` destination: a DuckDB file, opened per table write.

Opening the file only while a table is written lets other processes (dbt, a notebook, Dagster)
open it between writes; inside this process a per-file lock keeps one writer at a time. The
stream of Arrow batches is handed to DuckDB as one Arrow stream (a registered view), so a
table's load is one columnar INSERT that DuckDB pulls batch by batch. Staging tables live in
schema `_fivetran_staging` while a table is written.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from fivetran_assets.emulator.dataplane.contract import DataPlaneError, SetupTest
from fivetran_assets.emulator.dataplane.destinations.base import (
    DELETED,
    SYSTEM_COLUMNS,
    BatchRelay,
    Column,
    Destination,
    TableWriter,
    changed_sql,
    same_key_sql,
    schema_runs,
)
from fivetran_assets.emulator.dataplane.locks import duckdb_lock
from fivetran_assets.emulator.dataplane.types import LogicalType, duckdb_type, quote

_BATCH_VIEW = "_fivetran_batch"
_CHANGED = "temp._fivetran_changed"  # the staged rows an upsert writes
STAGING_SCHEMA = "_fivetran_staging"
_OPEN_RETRY_SECONDS = 15.0
# DuckDB's default buffer pool is 80% of RAM; a sync streams tables of any size in one
# transaction, so cap it and let DuckDB spill, keeping the server's memory bounded. Measured
# with 4 MB source batches (bench.sync_throughput): streaming a 100-column table peaks at about
# 265 MB of process RSS with 96 MB here, 300 MB with 128 MB, 450 MB with 256 MB, at no cost in
# speed. A merge (an incremental sync joining its changes with the whole table) is a hash join
# that spills below its working set: it gets the larger limit, as before the columnar loads.
_MEMORY_LIMIT = "96MB"
_MERGE_MEMORY_LIMIT = "256MB"


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    """Open the file read-write, waiting a while if another process (or another connection of
    this process, opened differently) holds it."""
    deadline = time.monotonic() + _OPEN_RETRY_SECONDS
    while True:
        try:
            return duckdb.connect(str(path), config={"memory_limit": _MEMORY_LIMIT})
        except duckdb.Error as exc:
            busy = any(word in str(exc).lower() for word in ("lock", "configuration"))
            if not busy or time.monotonic() > deadline:
                raise DataPlaneError(f"cannot open DuckDB file {path}: {exc}") from exc
            time.sleep(0.1)


class DuckDBWriter(TableWriter):
    """Writes one table. Bulk loads run outside any transaction, into staging tables: DuckDB
    keeps a transaction's appended rows in memory until commit, so loading a large table in one
    transaction would cost memory proportional to the table. Atomicity comes instead from the
    last step: a new table appears by one RENAME, and an existing one changes in one short
    merge transaction. Staging tables are dropped whatever happens."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> None:
        super().__init__(schema, table)
        self.conn = conn
        self.stage_table = f"{STAGING_SCHEMA}.{quote(schema + '__' + table)}"
        self.keys_table = f"{STAGING_SCHEMA}.{quote(schema + '__' + table + '__keys')}"
        self.load_table = f"{quote(schema)}.{quote('_fivetran_load_' + table)}"

    def existing_columns(self) -> list[str] | None:
        rows = self.conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [self.schema, self.table],
        ).fetchall()
        return [r[0] for r in rows] or None

    def sql_type(self, lt: LogicalType) -> str:
        return duckdb_type(lt)

    def execute(self, sql: str) -> int:
        rows = self.conn.execute(sql).fetchall()
        return int(rows[0][0]) if rows and isinstance(rows[0][0], int) else 0

    def create_staging(self, name: str, columns: list[Column]) -> None:
        self.conn.execute(f"CREATE SCHEMA IF NOT EXISTS {STAGING_SCHEMA}")
        self.conn.execute(f"CREATE OR REPLACE TABLE {name} ({self.columns_sql(columns)})")

    def load(
        self,
        table: str,
        columns: list[Column],
        batches: Iterator[pa.RecordBatch],
        *,
        defaults: dict[str, str] | None = None,
    ) -> int:
        names = ", ".join(quote(c.name) for c in columns)
        total = 0
        for schema, run in schema_runs(batches):
            present = set(schema.names)
            exprs = ", ".join(
                f"CAST({quote(c.name)} AS {self.sql_type(c.type)})"
                if c.name in present
                else (defaults or {}).get(c.name, "NULL")
                for c in columns
            )
            relay = BatchRelay(run)
            self.conn.register(_BATCH_VIEW, pa.RecordBatchReader.from_batches(schema, relay))
            try:
                self.conn.execute(
                    f"INSERT INTO {table} ({names}) SELECT {exprs} FROM {_BATCH_VIEW}"
                )
            except duckdb.Error as exc:
                relay.raise_if_failed()  # the source's or the engine's own error comes first
                raise DataPlaneError(f"writing {self.schema}.{self.table} failed: {exc}") from exc
            finally:
                self.conn.unregister(_BATCH_VIEW)
            relay.raise_if_failed()
            total += relay.rows
        return total

    def load_new_table(
        self, columns: list[Column], batches: Iterator[pa.RecordBatch], now: datetime
    ) -> int:
        self.conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self.schema)}")
        full = [*columns, *SYSTEM_COLUMNS]
        self.conn.execute(f"CREATE OR REPLACE TABLE {self.load_table} ({self.columns_sql(full)})")
        loaded = self.load(self.load_table, full, batches, defaults=self.system_defaults(now))
        self.conn.execute(f"ALTER TABLE {self.load_table} RENAME TO {quote(self.table)}")
        return loaded

    def upsert(self, columns: list[Column], keys: list[str], source: str, ts: str) -> int:
        """The changed and new rows found in one join, then their old versions deleted and
        the rows appended. DuckDB updates a row column by column, so an UPDATE of a few rows
        scattered through a large table (1% changed) costs several times this
        (bench.sync_throughput); rows that did not change are not touched either way."""
        values = [c.name for c in columns if c.name not in keys]
        first_key = quote(keys[0])
        self.conn.execute(
            f"CREATE OR REPLACE TEMP TABLE {_CHANGED} AS SELECT s.* FROM {source} AS s "
            f"LEFT JOIN {self.target} AS d ON {same_key_sql(keys)} WHERE NOT s.{DELETED} "
            f"AND (d.{first_key} IS NULL OR {changed_sql(values)})"
        )
        self.execute(
            f"DELETE FROM {self.target} AS d USING {_CHANGED} AS s WHERE {same_key_sql(keys)}"
        )
        return self.insert_live(columns, _CHANGED, ts)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.execute(f"SET memory_limit = '{_MERGE_MEMORY_LIMIT}'")
        self.conn.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        try:
            self.conn.execute("COMMIT")
        except duckdb.Error as exc:
            raise DataPlaneError(f"committing {self.schema}.{self.table} failed: {exc}") from exc

    def drop_staging(self) -> None:
        for name in (self.stage_table, self.keys_table, self.load_table, _CHANGED):
            self.conn.execute(f"DROP TABLE IF EXISTS {name}")


class DuckDBDestination(Destination):
    def __init__(self, config: dict[str, Any]) -> None:
        path = config.get("path")
        if not isinstance(path, str) or not path:
            raise DataPlaneError("config.path: the path of the DuckDB file is required")
        self.path = Path(path).expanduser()

    @property
    def lock_key(self) -> str:
        return "duckdb:" + str(self.path.resolve())

    def test(self) -> list[SetupTest]:
        title = "Connecting to the DuckDB file"
        if not self.path.parent.is_dir():
            return [SetupTest(title, "FAILED", f"folder does not exist: {self.path.parent}")]
        try:
            with duckdb_lock(self.path):
                conn = connect(self.path)
                try:
                    conn.execute("CREATE SCHEMA IF NOT EXISTS main").fetchall()
                finally:
                    conn.close()
        except DataPlaneError as exc:
            return [SetupTest(title, "FAILED", str(exc))]
        return [SetupTest(title, "PASSED")]

    @contextmanager
    def table_writer(self, schema: str, table: str) -> Iterator[DuckDBWriter]:
        with duckdb_lock(self.path):
            conn = connect(self.path)
            try:
                writer = DuckDBWriter(conn, schema, table)
                try:
                    yield writer
                finally:
                    writer.drop_staging()
            finally:
                conn.close()
