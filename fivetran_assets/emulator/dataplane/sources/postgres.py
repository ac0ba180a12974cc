"""The `postgres` source: a PostgreSQL database, rows read as Arrow through ADBC.

Incremental syncs use `xmin`, as Fivetran's PostgreSQL connector can: each read records the
snapshot's oldest running transaction id, and the next read takes only rows whose `xmin` is at
or after it (rows written since). Deletes are found by a primary-key scan (an index-only scan)
anti-joined with the destination. Tables without a primary key are re-read in full. Rows come
from the ADBC PostgreSQL driver (binary COPY decoded straight into Arrow, batches sized by
bytes) inside one REPEATABLE READ transaction per table, so the cursor, the rows and the live
keys come from one consistent snapshot. The catalog and setup tests use psycopg. Transaction id
wraparound is not handled (a test server never gets there).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pyarrow as pa

from fivetran_assets.emulator.dataplane import pgconn
from fivetran_assets.emulator.dataplane.contract import (
    Catalog,
    ColumnInfo,
    DataPlaneError,
    SetupTest,
    TableInfo,
)
from fivetran_assets.emulator.dataplane.sources.base import (
    BATCH_BYTES,
    Source,
    SourceSession,
    TableRead,
    TableSpec,
)
from fivetran_assets.emulator.dataplane.types import quote

_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
_CATALOG_SQL = """
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
       coalesce(a.attnum = ANY(i.indkey), false)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
WHERE c.relkind IN ('r', 'p') AND n.nspname <> ALL(%s) AND n.nspname NOT LIKE 'pg\\_temp%%'
ORDER BY n.nspname, c.relname, a.attnum
"""
_SNAPSHOT_XMIN = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint % 4294967296"


def _schema_filter(config: dict[str, Any]) -> set[str] | None:
    value = config.get("schemas")
    if value in (None, "", []):
        return None
    if isinstance(value, str):
        return {s.strip() for s in value.split(",") if s.strip()}
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return set(value)
    raise DataPlaneError("config.schemas: expected a list of schema names or a comma list")


class PostgresSource(Source):
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.schemas = _schema_filter(config)

    def test(self) -> list[SetupTest]:
        title = "Connecting to the PostgreSQL database"
        try:
            conn = pgconn.connect(self.config, autocommit=True)
        except DataPlaneError as exc:
            return [SetupTest(title, "FAILED", str(exc))]
        try:
            conn.execute(_SNAPSHOT_XMIN).fetchone()
        finally:
            conn.close()
        return [SetupTest(title, "PASSED")]

    def catalog(self) -> Catalog:
        conn = pgconn.connect(self.config, autocommit=True)
        try:
            rows = conn.execute(_CATALOG_SQL, (list(_SYSTEM_SCHEMAS),)).fetchall()
        except psycopg.Error as exc:
            raise DataPlaneError(f"cannot read the PostgreSQL catalog: {exc}") from exc
        finally:
            conn.close()
        columns: dict[str, dict[str, dict[str, ColumnInfo]]] = {}
        for schema, table, column, declared, is_pk in rows:
            if self.schemas is not None and schema not in self.schemas:
                continue
            columns.setdefault(schema, {}).setdefault(table, {})[column] = ColumnInfo(
                type=declared, is_primary_key=bool(is_pk)
            )
        return {
            schema: {table: TableInfo(columns=cols) for table, cols in tables.items()}
            for schema, tables in columns.items()
        }

    def session(self) -> PostgresSession:
        return PostgresSession(self)


class PostgresSession(SourceSession):
    """One ADBC connection; each table read is its own REPEATABLE READ transaction. PostgreSQL
    values have one type per column, so the columnar read never needs `by_rows`."""

    def __init__(self, source: PostgresSource) -> None:
        self.conn = pgconn.connect_adbc(source.config)

    def close(self) -> None:
        self.conn.close()

    def read(self, spec: TableSpec, cursor: Any | None, *, by_rows: bool = False) -> TableRead:
        import adbc_driver_postgresql.dbapi as adbc

        self.conn.rollback()
        try:
            with self.conn.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cur.execute(_SNAPSHOT_XMIN)
                xmin = int(cur.fetchone()[0])
        except adbc.Error as exc:
            raise DataPlaneError(f"cannot read PostgreSQL: {exc}") from exc
        table = f"{quote(spec.schema)}.{quote(spec.table)}"
        cols = ", ".join(quote(c) for c in spec.columns)
        incremental = cursor is not None and bool(spec.primary_key)
        if incremental:
            since = int(cursor["xmin"])
            batches = self._stream(
                f"SELECT {cols} FROM {table} WHERE xmin::text::bigint >= {since}"
            )
        else:
            batches = self._stream(f"SELECT {cols} FROM {table}")
        keys = ", ".join(quote(c) for c in spec.primary_key)

        def live_keys() -> Iterator[pa.RecordBatch]:
            return self._stream(f"SELECT {keys} FROM {table}")

        return TableRead(
            batches=batches,
            complete=not incremental,
            cursor={"xmin": xmin},
            live_keys=live_keys if incremental else None,
        )

    def _stream(self, sql: str) -> Iterator[pa.RecordBatch]:
        import adbc_driver_postgresql.dbapi as adbc

        cur = self.conn.cursor()
        try:
            cur.adbc_statement.set_options(
                **{"adbc.postgresql.batch_size_hint_bytes": str(BATCH_BYTES)}
            )
            cur.execute(sql)
            for batch in cur.fetch_record_batch():
                if batch.num_rows:
                    yield batch
        except adbc.Error as exc:
            raise DataPlaneError(f"reading PostgreSQL failed: {exc}") from exc
        finally:
            cur.close()
