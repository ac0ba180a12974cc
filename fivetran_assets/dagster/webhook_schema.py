"""Noticing schema changes from webhook events (the sensor then requests a state refresh run).

Fivetran sends `edit_connector` when a connection's settings change, but no event when a sync
lands a table it discovered (schema_change_handling ALLOW_ALL). After a `sync_end` the sensor
therefore lists the tables of the connection's destination schemas in the warehouse (no API
call) and compares them with the snapshot. A table found there but not in the snapshot is new;
each is reported once, so a table Fivetran left behind after it was disabled does not refresh
the snapshot on every sync.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from fivetran_assets.dagster.specs import ConnectionAssets
from fivetran_assets.snapshot.warehouse import (
    DuckDBWarehouse,
    PostgresWarehouse,
    Warehouse,
    WarehouseError,
)

log = logging.getLogger("fivetran_assets.dagster")

_LIST_TABLES = (
    "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ({})"
)


def destination_tables(
    warehouse: Warehouse, schemas: Iterable[str], *, lock_retry_seconds: float = 5.0
) -> set[tuple[str, str]] | None:
    """(schema, table) of every table in `schemas`; None for warehouses we cannot list."""
    wanted = sorted(set(schemas))
    if not wanted:
        return set()
    sql = _LIST_TABLES.format(", ".join("?" * len(wanted)))
    if isinstance(warehouse, DuckDBWarehouse):
        return _duckdb_tables(warehouse.path, sql, wanted, lock_retry_seconds)
    if isinstance(warehouse, PostgresWarehouse):
        import psycopg

        try:
            with psycopg.connect(warehouse.dsn, connect_timeout=warehouse.connect_timeout) as con:
                rows = con.execute(sql.replace("?", "%s"), wanted).fetchall()
        except psycopg.Error as exc:
            raise WarehouseError(f"PostgreSQL warehouse: {type(exc).__name__}: {exc}") from exc
        return {(schema, table) for schema, table in rows}
    return None


def _duckdb_tables(
    path: str, sql: str, wanted: list[str], retry_seconds: float
) -> set[tuple[str, str]]:
    from fivetran_assets.extras import MissingExtra, require_local

    try:
        duckdb = require_local("duckdb", "listing a DuckDB warehouse's tables")
    except MissingExtra as exc:
        raise WarehouseError(str(exc)) from None

    deadline = time.monotonic() + retry_seconds
    while True:
        try:
            with duckdb.connect(path, read_only=True) as con:
                return {(s, t) for s, t in con.execute(sql, wanted).fetchall()}
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            # The local Fivetran is writing (another process holds the lock, or this process
            # holds a read-write connection): wait for it to finish.
            if time.monotonic() >= deadline:
                raise WarehouseError(f"DuckDB warehouse {path}: {exc}") from exc
            time.sleep(0.1)
        except duckdb.Error as exc:
            raise WarehouseError(f"DuckDB warehouse {path}: {exc}") from exc


def new_tables(
    ca: ConnectionAssets, warehouse: Warehouse | None, reported: Iterable[str]
) -> list[str]:
    """`schema.table` names in the connection's destination schemas that the snapshot lacks
    and that were not `reported` before; empty when the warehouse cannot be listed."""
    if warehouse is None or ca.snapshot is None or not ca.tables:
        return []
    known = {(t.destination_schema, t.destination_table) for t in ca.tables.values()}
    try:
        found = destination_tables(warehouse, {schema for schema, _ in known})
    except WarehouseError as exc:
        log.warning("cannot look for new tables of %s: %s", ca.view.name, exc)
        return []
    if found is None:
        return []
    seen = set(reported)
    return sorted(
        name
        for schema, table in found - known
        if (name := f"{schema}.{table}") not in seen and not table.startswith("fivetran_")
    )
