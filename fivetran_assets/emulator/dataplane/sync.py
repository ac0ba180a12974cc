"""The sync engine: copy a connection's enabled tables into its destination, Fivetran-style.

Per table: plan the columns from the schema config and the live catalog, read (full or
incremental, see the sources), transform batches (hash columns, compute `_fivetran_id`, rename
to destination names) and write them in one destination transaction, then save the cursor.
Batches stay Arrow from the source's reader to the warehouse's loader; only hashed columns and
`_fivetran_id` are computed value by value. A columnar read that meets mixed value types
(`ReadByRows`) is abandoned (the destination keeps nothing of it) and the table read again by
rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from fivetran_assets.emulator.dataplane.contract import (
    Cancelled,
    Catalog,
    DataPlaneError,
    SyncReport,
    SyncRequest,
    TableInfo,
    TableSyncResult,
)
from fivetran_assets.emulator.dataplane.destinations.base import (
    DELETED,
    ROW_ID,
    Column,
    Destination,
)
from fivetran_assets.emulator.dataplane.naming import (
    destination_schema,
    fivetran_name,
    hash_value,
    row_id,
)
from fivetran_assets.emulator.dataplane.pipeline import prefetch
from fivetran_assets.emulator.dataplane.registry import (
    make_destination,
    make_source,
    source_identity,
)
from fivetran_assets.emulator.dataplane.schema_config import merge_schema_config
from fivetran_assets.emulator.dataplane.sources.base import ReadByRows, SourceSession, TableSpec
from fivetran_assets.emulator.dataplane.state import SyncState
from fivetran_assets.emulator.dataplane.types import STRING, logical_type, quote


@dataclass(frozen=True)
class ColumnPlan:
    source: str
    dest: str
    hashed: bool
    column: Column


@dataclass(frozen=True)
class TablePlan:
    schema: str
    table: str
    dest_schema: str
    dest_table: str
    columns: tuple[ColumnPlan, ...]
    primary_key: tuple[str, ...]  # source names
    # destination names of blocked columns marked for deletion (`drop_from_destination`)
    drop_columns: tuple[str, ...] = ()

    @property
    def spec(self) -> TableSpec:
        return TableSpec(
            self.schema, self.table, tuple(c.source for c in self.columns), self.primary_key
        )

    @property
    def dest_columns(self) -> list[Column]:
        cols = [c.column for c in self.columns]
        return cols if self.primary_key else [*cols, Column(ROW_ID, STRING)]

    @property
    def keys(self) -> list[str]:
        by_source = {c.source: c.dest for c in self.columns}
        return [by_source[k] for k in self.primary_key] if self.primary_key else [ROW_ID]


def plan_tables(config: dict[str, Any], catalog: Catalog, schema_prefix: str) -> list[TablePlan]:
    """Enabled tables present at the source, with their enabled (or key) columns."""
    plans = []
    for schema, schema_cfg in config.get("schemas", {}).items():
        if not schema_cfg.get("enabled", True) or schema not in catalog:
            continue
        for table, table_cfg in schema_cfg.get("tables", {}).items():
            info: TableInfo | None = catalog[schema].get(table)
            if not table_cfg.get("enabled", True) or info is None:
                continue
            col_cfgs = table_cfg.get("columns", {})
            columns, drop = [], []
            for name, col in info.columns.items():
                cfg = col_cfgs.get(name, {})
                if not (cfg.get("enabled", True) or col.is_primary_key):
                    if cfg.get("drop_from_destination"):
                        drop.append(cfg.get("name_in_destination") or fivetran_name(name))
                    continue
                hashed = bool(cfg.get("hashed", False))
                dest = cfg.get("name_in_destination") or fivetran_name(name)
                lt = STRING if hashed else logical_type(col.type)
                columns.append(ColumnPlan(name, dest, hashed, Column(dest, lt)))
            plans.append(
                TablePlan(
                    schema=schema,
                    table=table,
                    dest_schema=destination_schema(schema_prefix, schema),
                    dest_table=table_cfg.get("name_in_destination") or fivetran_name(table),
                    columns=tuple(columns),
                    primary_key=tuple(n for n, c in info.columns.items() if c.is_primary_key),
                    drop_columns=tuple(drop),
                )
            )
    return plans


class _Transform:
    """Source batch -> destination batch: hashing, `_fivetran_id`, destination names."""

    def __init__(self, plan: TablePlan, salt: str, *, keys_only: bool = False) -> None:
        key_set = set(plan.primary_key)
        self.columns = [c for c in plan.columns if not keys_only or c.source in key_set]
        self.salt = salt
        self.row_ids = not plan.primary_key and not keys_only

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        arrays, names = [], []
        for col in self.columns:
            array = batch.column(col.source)
            if col.hashed:
                values = array.to_pylist()
                array = pa.array([hash_value(self.salt, v) for v in values], pa.string())
            arrays.append(array)
            names.append(col.dest)
        if self.row_ids:
            rows = zip(*(batch.column(c.source).to_pylist() for c in self.columns), strict=True)
            arrays.append(pa.array([row_id(r) for r in rows], pa.string()))
            names.append(ROW_ID)
        if DELETED in batch.schema.names:
            arrays.append(batch.column(DELETED))
            names.append(DELETED)
        return pa.RecordBatch.from_arrays(arrays, names=names)


def _sync_table(
    plan: TablePlan,
    session: SourceSession,
    destination: Destination,
    state: SyncState,
    request: SyncRequest,
    cancelled: Cancelled,
) -> TableSyncResult:
    try:
        return _write_table(
            plan, session, destination, state, request, cancelled, by_rows=request.read_by_rows
        )
    except ReadByRows:
        return _write_table(plan, session, destination, state, request, cancelled, by_rows=True)


def _write_table(
    plan: TablePlan,
    session: SourceSession,
    destination: Destination,
    state: SyncState,
    request: SyncRequest,
    cancelled: Cancelled,
    *,
    by_rows: bool = False,
) -> TableSyncResult:
    saved = state.get(plan.schema, plan.table)
    read_columns = [c.source for c in plan.columns]
    resync = request.full_resync or (plan.schema, plan.table) in request.resync_tables
    widened = saved is not None and not set(read_columns) <= set(saved["columns"])
    with destination.table_writer(plan.dest_schema, plan.dest_table) as writer:
        existing = writer.existing_columns()
        fresh = saved is None or resync or widened or existing is None
        read = session.read(plan.spec, None if fresh else saved["cursor"], by_rows=by_rows)
        batches = prefetch(read.batches, _Transform(plan, request.salt), cancelled=cancelled)
        now = (request.synced_at or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
        if existing is None and plan.primary_key:
            loaded = writer.load_new_table(plan.dest_columns, batches, now)
            state.put(plan.schema, plan.table, read.cursor, read_columns)
            return TableSyncResult(
                plan.schema, plan.table, plan.dest_schema, plan.dest_table, loaded, 0
            )
        writer.stage(plan.dest_columns, batches)
        if read.live_keys is not None:
            key_transform = _Transform(plan, request.salt, keys_only=True)
            key_columns = [c for c in plan.dest_columns if c.name in plan.keys]
            writer.stage_keys(
                key_columns, prefetch(read.live_keys(), key_transform, cancelled=cancelled)
            )
        with writer.transaction():
            if existing is None:
                writer.create(plan.dest_columns)
            else:
                known = set(existing)
                writer.add_columns([c for c in plan.dest_columns if c.name not in known])
                for name in plan.drop_columns:
                    if name in known:
                        writer.execute(f"ALTER TABLE {writer.target} DROP COLUMN {quote(name)}")
            merged = writer.merge(
                plan.dest_columns,
                plan.keys,
                now,
                complete=read.complete,
                live_keys=read.live_keys is not None,
                distinct=not plan.primary_key,
            )
    state.put(plan.schema, plan.table, read.cursor, read_columns)
    return TableSyncResult(
        plan.schema, plan.table, plan.dest_schema, plan.dest_table, merged.upserted, merged.deleted
    )


def run_sync(request: SyncRequest, *, cancelled: Cancelled) -> SyncReport:
    """One sync of one connection; raises DataPlaneError naming the table and the reason."""
    source = make_source(request.source_service, request.source_config)
    destination = make_destination(request.destination_service, request.destination_config)
    catalog = source.catalog()
    handling = request.schema_config.get("schema_change_handling", "ALLOW_ALL")
    config, changes = merge_schema_config(
        request.schema_config,
        catalog,
        schema_change_handling=handling,
        schema_prefix=request.schema_prefix,
    )
    plans = plan_tables(config, catalog, request.schema_prefix)
    state = SyncState.for_connection(
        request.state_dir,
        request.connection_id,
        source_identity(request.source_service, request.source_config),
    )
    results = []
    with source.session() as session:
        for plan in plans:
            if cancelled():
                raise DataPlaneError("sync canceled")
            try:
                results.append(_sync_table(plan, session, destination, state, request, cancelled))
            except DataPlaneError as exc:
                raise DataPlaneError(f"table {plan.schema}.{plan.table}: {exc}") from exc
            except Exception as exc:
                raise DataPlaneError(
                    f"table {plan.schema}.{plan.table}: {type(exc).__name__}: {exc}"
                ) from exc
    return SyncReport(
        tables=tuple(results), extra={"schema_config": config, "schema_changes": changes}
    )
