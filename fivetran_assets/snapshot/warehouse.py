"""Read row counts and column types of synced tables from the destination warehouse.

Fivetran's API does not report column types or row counts; the warehouse does. Readers open a
short-lived connection per batch of tables (DuckDB allows one writer per file, and the local
Fivetran writes between our reads), and never import Dagster so `refresh` can use them too.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

SYNCED_COLUMN = "_fivetran_synced"  # when Fivetran wrote the row (UTC)
DELETED_COLUMN = "_fivetran_deleted"  # soft delete: the row is gone at the source


class WarehouseError(Exception):
    """The warehouse could not be reached or queried; the message says which and why."""


@dataclass(frozen=True)
class TableStats:
    schema: str
    table: str
    exists: bool
    row_count: int | None = None
    active_row_count: int | None = None  # rows not soft-deleted (`_fivetran_deleted`)
    columns: Mapping[str, str] | None = None  # name -> warehouse type, in table order
    synced_rows: int | None = None  # rows written within `SyncWindow`; None: not asked/known


@dataclass(frozen=True)
class SyncWindow:
    """The rows one sync wrote: `_fivetran_synced` after the previous sync ended (any time when
    there was none) and at or before this one ended."""

    after: datetime | None
    until: datetime

    def bounds(self) -> tuple[datetime, datetime]:
        """(after, until) as naive UTC, the way Fivetran's timestamps compare in the warehouse."""
        return _naive_utc(self.after or datetime(1970, 1, 1)), _naive_utc(self.until)


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


class Warehouse(Protocol):
    def describe(
        self, tables: Iterable[tuple[str, str]], *, window: SyncWindow | None = None
    ) -> dict[tuple[str, str], TableStats]:
        """Stats for each (schema, table); tables that do not exist come back `exists=False`.
        With `window`, tables holding `_fivetran_synced` also count the rows synced within it."""
        ...


def _stats_from(rows: Iterable[tuple[str, str, str, str]]) -> dict[tuple[str, str], dict[str, str]]:
    found: dict[tuple[str, str], dict[str, str]] = {}
    for schema, table, column, type_ in rows:
        found.setdefault((schema, table), {})[column] = type_
    return found


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class DuckDBWarehouse:
    path: str
    lock_retry_seconds: float = 10.0

    def _connect(self) -> Any:
        from fivetran_assets.extras import MissingExtra, require_local

        try:
            duckdb = require_local("duckdb", "reading a DuckDB warehouse")
        except MissingExtra as exc:
            raise WarehouseError(str(exc)) from None

        deadline = time.monotonic() + self.lock_retry_seconds
        while True:
            try:
                return duckdb.connect(self.path, read_only=True)
            except (duckdb.IOException, duckdb.ConnectionException) as exc:
                # The writer holds the file (IOException), or this process has it open with
                # another configuration (ConnectionException): both pass; wait a bounded time.
                if time.monotonic() >= deadline:
                    raise WarehouseError(f"DuckDB warehouse {self.path}: {exc}") from exc
                time.sleep(0.1)
            except duckdb.Error as exc:
                raise WarehouseError(f"DuckDB warehouse {self.path}: {exc}") from exc

    def describe(
        self, tables: Iterable[tuple[str, str]], *, window: SyncWindow | None = None
    ) -> dict[tuple[str, str], TableStats]:
        wanted = list(dict.fromkeys(tables))
        if not wanted:
            return {}
        con = self._connect()
        try:
            columns = _stats_from(
                con.execute(
                    "SELECT table_schema, table_name, column_name, data_type "
                    "FROM information_schema.columns ORDER BY table_schema, table_name, "
                    "ordinal_position"
                ).fetchall()
            )
            return {
                key: _count(con, key, columns.get(key), window, placeholder="?") for key in wanted
            }
        finally:
            con.close()


@dataclass(frozen=True)
class PostgresWarehouse:
    """A PostgreSQL warehouse (`postgres_warehouse` in the local Fivetran), by libpq DSN."""

    dsn: str = field(repr=False)  # may hold a password
    connect_timeout: int = 10

    def describe(
        self, tables: Iterable[tuple[str, str]], *, window: SyncWindow | None = None
    ) -> dict[tuple[str, str], TableStats]:
        import psycopg

        wanted = list(dict.fromkeys(tables))
        if not wanted:
            return {}
        try:
            with psycopg.connect(self.dsn, connect_timeout=self.connect_timeout) as con:
                con.execute("SET TIME ZONE 'UTC'")  # sync windows compare as naive UTC
                columns = _stats_from(
                    con.execute(
                        "SELECT table_schema, table_name, column_name, data_type "
                        "FROM information_schema.columns "
                        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
                        "ORDER BY table_schema, table_name, ordinal_position"
                    ).fetchall()
                )
                return {
                    key: _count(con, key, columns.get(key), window, placeholder="?")
                    for key in wanted
                }
        except psycopg.Error as exc:
            raise WarehouseError(f"PostgreSQL warehouse: {type(exc).__name__}: {exc}") from exc


def _count(
    con: Any,
    key: tuple[str, str],
    columns: dict[str, str] | None,
    window: SyncWindow | None,
    *,
    placeholder: str,
) -> TableStats:
    """Row counts in one scan: all rows, those not soft-deleted, those synced in `window`
    (`placeholder` is the driver's parameter marker)."""
    schema, table = key
    if columns is None:
        return TableStats(schema=schema, table=table, exists=False)
    relation = f"{_quote(schema)}.{_quote(table)}"
    active = (
        f"count(*) FILTER (WHERE NOT coalesce({_quote(DELETED_COLUMN)}, false))"
        if DELETED_COLUMN in columns
        else "count(*)"
    )
    counted = window is not None and SYNCED_COLUMN in columns
    synced = (
        f"count(*) FILTER (WHERE {_quote(SYNCED_COLUMN)} > {placeholder} "
        f"AND {_quote(SYNCED_COLUMN)} <= {placeholder})"
        if counted
        else "NULL"
    )
    sql = f"SELECT count(*), {active}, {synced} FROM {relation}"
    params = list(window.bounds()) if counted and window is not None else []
    total, active_rows, synced_rows = con.execute(sql, params).fetchone()
    return TableStats(
        schema=schema,
        table=table,
        exists=True,
        row_count=int(total),
        active_row_count=int(active_rows),
        columns=columns,
        synced_rows=None if synced_rows is None else int(synced_rows),
    )


def warehouse_for(service: str, config: Mapping[str, Any]) -> Warehouse | None:
    """A reader for a destination as the local Fivetran describes it; None when unsupported."""
    if service == "duckdb" and config.get("path"):
        return DuckDBWarehouse(path=str(config["path"]))
    if service in {"postgres_warehouse", "postgres"} and config.get("host"):
        from psycopg.conninfo import make_conninfo

        parts = {
            "host": config.get("host"),
            "port": config.get("port"),
            "dbname": config.get("database"),
            "user": config.get("user"),
            "password": config.get("password"),
        }
        known = {k: str(v) for k, v in parts.items() if v not in (None, "", "******")}
        return PostgresWarehouse(dsn=make_conninfo(**known))
    return None
