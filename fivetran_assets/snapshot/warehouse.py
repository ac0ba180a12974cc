"""Read row counts and column types of synced tables from the destination warehouse.

Fivetran's API does not report column types or row counts; the warehouse does. Readers open a
short-lived connection per batch of tables (DuckDB allows one writer per file, and the local
Fivetran writes between our reads), and never import Dagster so `refresh` can use them too.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


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


class Warehouse(Protocol):
    def describe(self, tables: Iterable[tuple[str, str]]) -> dict[tuple[str, str], TableStats]:
        """Stats for each (schema, table); tables that do not exist come back `exists=False`."""
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

    def describe(self, tables: Iterable[tuple[str, str]]) -> dict[tuple[str, str], TableStats]:
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
            return {key: _count(con, key, columns.get(key)) for key in wanted}
        finally:
            con.close()


@dataclass(frozen=True)
class PostgresWarehouse:
    """A PostgreSQL warehouse (`postgres_warehouse` in the local Fivetran), by libpq DSN."""

    dsn: str = field(repr=False)  # may hold a password
    connect_timeout: int = 10

    def describe(self, tables: Iterable[tuple[str, str]]) -> dict[tuple[str, str], TableStats]:
        import psycopg

        wanted = list(dict.fromkeys(tables))
        if not wanted:
            return {}
        try:
            with psycopg.connect(self.dsn, connect_timeout=self.connect_timeout) as con:
                columns = _stats_from(
                    con.execute(
                        "SELECT table_schema, table_name, column_name, data_type "
                        "FROM information_schema.columns "
                        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
                        "ORDER BY table_schema, table_name, ordinal_position"
                    ).fetchall()
                )
                return {key: _count(con, key, columns.get(key)) for key in wanted}
        except psycopg.Error as exc:
            raise WarehouseError(f"PostgreSQL warehouse: {type(exc).__name__}: {exc}") from exc


def _count(con: Any, key: tuple[str, str], columns: dict[str, str] | None) -> TableStats:
    schema, table = key
    if columns is None:
        return TableStats(schema=schema, table=table, exists=False)
    relation = f"{_quote(schema)}.{_quote(table)}"
    if "_fivetran_deleted" in columns:
        total, active = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE NOT coalesce(_fivetran_deleted, false)) "
            f"FROM {relation}"
        ).fetchone()
    else:
        (total,) = con.execute(f"SELECT count(*) FROM {relation}").fetchone()
        active = total
    return TableStats(
        schema=schema,
        table=table,
        exists=True,
        row_count=int(total),
        active_row_count=int(active),
        columns=columns,
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
