"""The `postgres_warehouse` destination: a PostgreSQL database written from Arrow through ADBC.

Each table is written in one transaction on one ADBC connection (PostgreSQL keeps a large
transaction on disk, not in our memory). Batches go in as Arrow over binary COPY (ADBC's bulk
ingest) into a temporary table shaped like the batches, then one INSERT ... SELECT casts them
to the table's column types and fills the system columns; the merge SQL is the shared one.
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
    BatchRelay,
    Column,
    Destination,
    TableWriter,
    schema_runs,
)
from fivetran_assets.emulator.dataplane.locks import destination_lock
from fivetran_assets.emulator.dataplane.types import Kind, LogicalType, postgres_type, quote

_LOAD = "_fivetran_load"


def _ingestible(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Extension-typed columns (a PostgreSQL source's json, uuid) as plain values: text-backed
    ones as their storage, the others as the text Python gives them."""
    if not any(isinstance(t, pa.ExtensionType) for t in batch.schema.types):
        return batch
    arrays = []
    for array in batch.columns:
        if isinstance(array.type, pa.ExtensionType):
            storage = array.storage
            if pa.types.is_string(storage.type) or pa.types.is_large_string(storage.type):
                array = storage
            else:
                array = pa.array([None if v is None else str(v) for v in array.to_pylist()])
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _cast(name: str, raw: pa.DataType, column: Column) -> str:
    """The loaded column as its table type. PostgreSQL casts only int4 to boolean, so integers
    (SQLite's booleans) become booleans by comparison."""
    if column.type.kind is Kind.BOOLEAN and pa.types.is_integer(raw):
        return f"({quote(name)} <> 0)"
    return f"CAST({quote(name)} AS {postgres_type(column.type)})"


class PostgresWriter(TableWriter):
    stage_table = "_fivetran_stage"
    keys_table = "_fivetran_keys"

    def __init__(self, conn: Any, schema: str, table: str) -> None:
        super().__init__(schema, table)
        self.conn = conn

    def existing_columns(self) -> list[str] | None:
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
                parameters=(self.schema, self.table),
            )
            rows = cur.fetchall()
        return [r[0] for r in rows] or None

    def sql_type(self, lt: LogicalType) -> str:
        return postgres_type(lt)

    def execute(self, sql: str) -> int:
        import adbc_driver_postgresql.dbapi as adbc

        try:
            with self.conn.cursor() as cur:
                cur.execute(sql)
                return max(cur.rowcount, 0)
        except adbc.Error as exc:
            raise DataPlaneError(f"writing {self.schema}.{self.table} failed: {exc}") from exc

    def create_staging(self, name: str, columns: list[Column]) -> None:
        self.execute(f"DROP TABLE IF EXISTS {name}")
        self.execute(f"CREATE TEMP TABLE {name} ({self.columns_sql(columns)}) ON COMMIT DROP")

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
        import adbc_driver_postgresql.dbapi as adbc

        names = ", ".join(quote(c.name) for c in columns)
        total = 0
        for schema, run in schema_runs(_ingestible(b) for b in batches):
            exprs = ", ".join(
                _cast(c.name, schema.field(c.name).type, c)
                if c.name in schema.names
                else (defaults or {}).get(c.name, "NULL")
                for c in columns
            )
            relay = BatchRelay(run)
            try:
                with self.conn.cursor() as cur:
                    cur.adbc_ingest(
                        _LOAD,
                        pa.RecordBatchReader.from_batches(schema, relay),
                        mode="create",
                        temporary=True,
                    )
            except adbc.Error as exc:
                relay.raise_if_failed()  # the source's or the engine's own error comes first
                raise DataPlaneError(f"writing {self.schema}.{self.table} failed: {exc}") from exc
            relay.raise_if_failed()
            self.execute(f"INSERT INTO {table} ({names}) SELECT {exprs} FROM pg_temp.{_LOAD}")
            self.execute(f"DROP TABLE pg_temp.{_LOAD}")
            total += relay.rows
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
        import adbc_driver_postgresql.dbapi as adbc

        with destination_lock(self.lock_key):
            conn = pgconn.connect_adbc(self.config)
            try:
                try:
                    yield PostgresWriter(conn, schema, table)
                except BaseException:
                    conn.rollback()
                    raise
                try:
                    conn.commit()
                except adbc.Error as exc:
                    raise DataPlaneError(f"committing {schema}.{table} failed: {exc}") from exc
            finally:
                conn.close()
