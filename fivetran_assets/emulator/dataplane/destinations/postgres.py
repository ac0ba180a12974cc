"""The `postgres_warehouse` destination: a PostgreSQL database written through psycopg.

Batches are loaded with COPY (the fastest path psycopg offers) into the table or a temporary
staging table; each table is written in one transaction (PostgreSQL keeps a large transaction
on disk, not in our memory).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from typing import Any

import psycopg
import pyarrow as pa

from fivetran_assets.emulator.dataplane import pgconn
from fivetran_assets.emulator.dataplane.contract import DataPlaneError, SetupTest
from fivetran_assets.emulator.dataplane.destinations.base import (
    SYSTEM_COLUMNS,
    Column,
    Destination,
    TableWriter,
)
from fivetran_assets.emulator.dataplane.locks import destination_lock
from fivetran_assets.emulator.dataplane.types import LogicalType, postgres_type, quote


class PostgresWriter(TableWriter):
    stage_table = "_fivetran_stage"
    keys_table = "_fivetran_keys"

    def __init__(self, conn: psycopg.Connection, schema: str, table: str) -> None:
        super().__init__(schema, table)
        self.conn = conn

    def existing_columns(self) -> list[str] | None:
        rows = self.conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (self.schema, self.table),
        ).fetchall()
        return [r[0] for r in rows] or None

    def sql_type(self, lt: LogicalType) -> str:
        return postgres_type(lt)

    def execute(self, sql: str) -> int:
        cur = self.conn.execute(sql.encode())
        return max(cur.rowcount, 0)

    def create_staging(self, name: str, columns: list[Column]) -> None:
        self.conn.execute(f"DROP TABLE IF EXISTS {name}".encode())
        sql = f"CREATE TEMP TABLE {name} ({self.columns_sql(columns)}) ON COMMIT DROP"
        self.conn.execute(sql.encode())

    def load_new_table(
        self, columns: list[Column], batches: Iterator[pa.RecordBatch], now: datetime
    ) -> int:
        self.create(columns)
        full = [*columns, *SYSTEM_COLUMNS]
        return self.load(self.target, full, batches, defaults=self.system_defaults(now))

    def transaction(self) -> AbstractContextManager[None]:
        """The whole table write is already one transaction (see table_writer)."""
        return nullcontext()

    def load(
        self,
        table: str,
        columns: list[Column],
        batches: Iterator[pa.RecordBatch],
        *,
        defaults: dict[str, str] | None = None,
    ) -> int:
        total = 0
        for batch in batches:
            present = [c for c in columns if c.name in batch.schema.names]
            names = ", ".join(quote(c.name) for c in present)
            values = [batch.column(c.name).to_pylist() for c in present]
            # COPY cannot take expressions: columns a batch lacks (system columns) are filled
            # from `defaults` while moving the rows over from a temporary copy.
            missing = [c for c in columns if c not in present]
            into = table if not missing else "_fivetran_load"
            if missing:
                self.create_staging(into, present)
            with self.conn.cursor().copy(f"COPY {into} ({names}) FROM STDIN".encode()) as copy:
                for row in zip(*values, strict=True):
                    copy.write_row(row)
            if missing:
                exprs = ", ".join(
                    [quote(c.name) for c in present]
                    + [(defaults or {}).get(c.name, "NULL") for c in missing]
                )
                all_names = ", ".join(quote(c.name) for c in [*present, *missing])
                self.conn.execute(
                    f"INSERT INTO {table} ({all_names}) SELECT {exprs} FROM {into}".encode()
                )
                self.conn.execute(f"DROP TABLE {into}".encode())
            total += batch.num_rows
        return total


class PostgresDestination(Destination):
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    @property
    def lock_key(self) -> str:
        c = self.config
        return f"postgres:{c.get('host')}:{c.get('port')}/{c.get('database')}"

    def test(self) -> list[SetupTest]:
        title = "Connecting to the PostgreSQL warehouse"
        try:
            conn = pgconn.connect(self.config)
        except DataPlaneError as exc:
            return [SetupTest(title, "FAILED", str(exc))]
        try:
            conn.execute("CREATE TEMP TABLE _fivetran_probe (x int)")
            conn.rollback()
            tests = [SetupTest(title, "PASSED")]
        except psycopg.Error as exc:
            tests = [SetupTest(title, "FAILED", f"cannot create tables: {exc}")]
        finally:
            conn.close()
        return tests

    @contextmanager
    def table_writer(self, schema: str, table: str) -> Iterator[PostgresWriter]:
        with destination_lock(self.lock_key):
            conn = pgconn.connect(self.config)
            try:
                try:
                    yield PostgresWriter(conn, schema, table)
                except BaseException:
                    conn.rollback()
                    raise
                try:
                    conn.commit()
                except psycopg.Error as exc:
                    raise DataPlaneError(f"committing {schema}.{table} failed: {exc}") from exc
            finally:
                conn.close()
