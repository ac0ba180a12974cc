"""The asset snapshot: what Fivetran captured, cached so loading definitions makes no API call.

Dagster builds one asset per synced table and per dbt model. The config says which connections
exist; only Fivetran knows which tables and columns its schema capture found, and only the dbt
project knows which models read which tables. Reading those on every code-server start would
spend API budget (the incumbent's habit), so `write_snapshot` reads them once — after `apply`,
from `fivetran-assets refresh`, or when a sensor sees a schema change — and `read_snapshot`
loads them in time linear in connections x tables.

The format is versioned JSON (`format`, `version`); a reader refuses versions it does not know
with a message that says to run `fivetran-assets refresh`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from fivetran_assets.estate import Estate
    from fivetran_assets.fivetran.client import FivetranClient
    from fivetran_assets.fivetran.models import Connection

log = logging.getLogger("fivetran_assets.snapshot")

SNAPSHOT_FORMAT = "fivetran-assets-snapshot"
SNAPSHOT_VERSION = 1
SNAPSHOT_ENV = "FIVETRAN_ASSETS_SNAPSHOT"
STATE_DIR_ENV = "FIVETRAN_ASSETS_STATE_DIR"


class SnapshotError(Exception):
    """The snapshot file is missing, unreadable, of an unknown version or malformed."""


def default_snapshot_path(root: Path | None = None) -> Path:
    """$FIVETRAN_ASSETS_SNAPSHOT, else snapshot.json in $FIVETRAN_ASSETS_STATE_DIR, else in
    `<root>/.state` (the project root, where `apply` keeps its state too)."""
    explicit = os.environ.get(SNAPSHOT_ENV)
    if explicit:
        return Path(explicit)
    state = os.environ.get(STATE_DIR_ENV)
    return Path(state) / "snapshot.json" if state else (root or Path()) / ".state" / "snapshot.json"


class ColumnSnapshot(NamedTuple):
    """An enabled column as it lands in the destination; blocked columns are never recorded.

    Columns and tables are NamedTuples, not dataclasses: a big estate has hundreds of thousands
    of columns, and building frozen dataclasses would dominate the definitions load.
    """

    name: str
    type: str | None = None  # the warehouse's type when it could be read
    hashed: bool = False
    primary_key: bool = False
    source: str | None = None  # the column's name at the source (column lineage)


class TableSnapshot(NamedTuple):
    """An enabled table of a connection, with its source and destination names."""

    schema: str
    table: str
    destination_schema: str
    destination_table: str
    columns: tuple[ColumnSnapshot, ...] = ()
    sync_mode: str | None = None


@dataclass(frozen=True)
class ConnectionSnapshot:
    group: str
    name: str
    id: str
    service: str
    tables: tuple[TableSnapshot, ...] = ()
    # Where the connection reads from, without credentials (`sqlite:///data/sales.sqlite`,
    # `postgres://db.example.com:5432/sales`); None when its config does not say.
    source: str | None = None


@dataclass(frozen=True)
class GroupSnapshot:
    """A group and its destination; `destination_config` keeps only values Fivetran unmasks."""

    name: str
    id: str
    destination_service: str
    destination_config: dict[str, Any] = field(default_factory=dict)

    @property
    def database(self) -> str | None:
        return destination_database(self.destination_service, self.destination_config)


# Which config field names the database (catalog, project) that qualifies a table's name.
_DATABASE_FIELD = {"big_query": "project_id", "bigquery": "project_id", "databricks": "catalog"}


def destination_database(service: str, config: dict[str, Any]) -> str | None:
    """The first part of `database.schema.table` in a destination, when Fivetran shows it:
    a DuckDB file's catalog is its file name without extension."""
    if service == "duckdb":
        path = config.get("path")
        return Path(str(path)).stem if path else None
    value = config.get(_DATABASE_FIELD.get(service, "database"))
    return str(value) if value not in (None, "", "******") else None


@dataclass(frozen=True)
class ModelSnapshot:
    """A dbt model: its relation and what it reads (sources as destination relations, refs).

    `name` is dbt's node name; the relation it builds is `schema`.`alias` (alias None: the
    name). `config_schema`, `version` and `asset_key` (the model's `meta.dagster.asset_key`)
    are what dagster-dbt derives its default asset key from.
    """

    name: str
    schema: str
    unique_id: str
    sources: tuple[tuple[str, str], ...] = ()  # (destination schema, table) pairs
    refs: tuple[str, ...] = ()  # names of models of the same project
    description: str = ""
    materialized: str | None = None
    columns: tuple[str, ...] = ()
    alias: str | None = None
    config_schema: str | None = None
    version: str | None = None
    asset_key: tuple[str, ...] | None = None
    tests: tuple[str, ...] = ()  # names of the data tests attached to it
    # Each output column with the (schema, table, column) it is computed from (`dbt_lineage`).
    column_lineage: tuple[tuple[str, tuple[tuple[str, str, str], ...]], ...] = ()

    @property
    def relation(self) -> tuple[str, str]:
        """(schema, table) of what the model builds in the warehouse."""
        return self.schema, self.alias or self.name


def upstream_first(models: Sequence[ModelSnapshot]) -> list[ModelSnapshot]:
    """Models after the models they ref (a multi-asset yields results in that order; lineage
    traces a model after what it reads)."""
    by_name = {m.name: m for m in models}
    done: dict[str, ModelSnapshot] = {}
    visiting: set[str] = set()

    def visit(model: ModelSnapshot) -> None:
        if model.name in done or model.name in visiting:
            return
        visiting.add(model.name)
        for ref in model.refs:
            if ref in by_name:
                visit(by_name[ref])
        done[model.name] = model

    for model in models:
        visit(model)
    return list(done.values())


@dataclass(frozen=True)
class TransformationSnapshot:
    group: str
    name: str
    id: str | None
    models: tuple[ModelSnapshot, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    written_at: str
    groups: tuple[GroupSnapshot, ...] = ()
    connections: tuple[ConnectionSnapshot, ...] = ()
    transformations: tuple[TransformationSnapshot, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def _connections(self) -> dict[tuple[str, str], ConnectionSnapshot]:
        return {(c.group, c.name): c for c in self.connections}

    @cached_property
    def _transformations(self) -> dict[tuple[str, str], TransformationSnapshot]:
        return {(t.group, t.name): t for t in self.transformations}

    @cached_property
    def _groups(self) -> dict[str, GroupSnapshot]:
        return {g.name: g for g in self.groups}

    def connection(self, group: str, name: str) -> ConnectionSnapshot | None:
        return self._connections.get((group, name))

    def transformation(self, group: str, name: str) -> TransformationSnapshot | None:
        return self._transformations.get((group, name))

    def group(self, name: str) -> GroupSnapshot | None:
        return self._groups.get(name)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": SNAPSHOT_FORMAT,
            "version": SNAPSHOT_VERSION,
            "written_at": self.written_at,
            "groups": [
                {
                    "name": g.name,
                    "id": g.id,
                    "destination_service": g.destination_service,
                    "destination_config": g.destination_config,
                }
                for g in self.groups
            ],
            "connections": [_connection_json(c) for c in self.connections],
            "transformations": [_transformation_json(t) for t in self.transformations],
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: Any, *, source: str = "snapshot") -> Snapshot:
        """Parse the JSON form; every error names the file and the path of the bad value."""
        if not isinstance(data, dict) or data.get("format") != SNAPSHOT_FORMAT:
            raise SnapshotError(f"{source}: not a {SNAPSHOT_FORMAT} file")
        version = data.get("version")
        if version != SNAPSHOT_VERSION:
            raise SnapshotError(
                f"{source}: snapshot version {version!r} is not supported (this code reads "
                f"version {SNAPSHOT_VERSION}); run `fivetran-assets refresh` to rewrite it"
            )
        try:
            return cls(
                written_at=str(data["written_at"]),
                groups=tuple(
                    GroupSnapshot(
                        g["name"],
                        g["id"],
                        g["destination_service"],
                        dict(g.get("destination_config") or {}),
                    )
                    for g in data.get("groups", ())
                ),
                connections=tuple(_connection_from(c) for c in data.get("connections", ())),
                transformations=tuple(
                    _transformation_from(t) for t in data.get("transformations", ())
                ),
                extra=dict(data.get("extra") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(
                f"{source}: malformed snapshot ({type(exc).__name__}: {exc})"
            ) from exc


def _connection_json(c: ConnectionSnapshot) -> dict[str, Any]:
    return {
        "group": c.group,
        "name": c.name,
        "id": c.id,
        "service": c.service,
        "source": c.source,
        "tables": [
            {
                "schema": t.schema,
                "table": t.table,
                "destination_schema": t.destination_schema,
                "destination_table": t.destination_table,
                "sync_mode": t.sync_mode,
                "columns": [
                    [col.name, col.type, col.hashed, col.primary_key, col.source]
                    for col in t.columns
                ],
            }
            for t in c.tables
        ],
    }


def _connection_from(c: dict[str, Any]) -> ConnectionSnapshot:
    return ConnectionSnapshot(
        group=c["group"],
        name=c["name"],
        id=c["id"],
        service=c["service"],
        source=c.get("source"),
        tables=tuple(
            TableSnapshot(
                schema=t["schema"],
                table=t["table"],
                destination_schema=t["destination_schema"],
                destination_table=t["destination_table"],
                sync_mode=t.get("sync_mode"),
                columns=tuple(map(_column, t.get("columns", ()))),
            )
            for t in c.get("tables", ())
        ),
    )


def _column(row: list[Any]) -> ColumnSnapshot:
    name, type_, hashed, pk, *source = row  # snapshots written before column lineage had 4
    return ColumnSnapshot(name, type_, bool(hashed), bool(pk), source[0] if source else None)


def _transformation_json(t: TransformationSnapshot) -> dict[str, Any]:
    return {
        "group": t.group,
        "name": t.name,
        "id": t.id,
        "models": [
            {
                "name": m.name,
                "schema": m.schema,
                "unique_id": m.unique_id,
                "sources": [list(s) for s in m.sources],
                "refs": list(m.refs),
                "description": m.description,
                "materialized": m.materialized,
                "columns": list(m.columns),
                "alias": m.alias,
                "config_schema": m.config_schema,
                "version": m.version,
                "asset_key": list(m.asset_key) if m.asset_key else None,
                "tests": list(m.tests),
                "column_lineage": [[c, [list(r) for r in reads]] for c, reads in m.column_lineage],
            }
            for m in t.models
        ],
    }


def _transformation_from(t: dict[str, Any]) -> TransformationSnapshot:
    return TransformationSnapshot(
        group=t["group"],
        name=t["name"],
        id=t.get("id"),
        models=tuple(
            ModelSnapshot(
                name=m["name"],
                schema=m["schema"],
                unique_id=m["unique_id"],
                sources=tuple((s[0], s[1]) for s in m.get("sources", ())),
                refs=tuple(m.get("refs", ())),
                description=m.get("description") or "",
                materialized=m.get("materialized"),
                columns=tuple(m.get("columns", ())),
                alias=m.get("alias"),
                config_schema=m.get("config_schema"),
                version=m.get("version"),
                asset_key=tuple(m["asset_key"]) if m.get("asset_key") else None,
                tests=tuple(m.get("tests", ())),
                column_lineage=tuple(
                    (c, tuple((r[0], r[1], r[2]) for r in reads))
                    for c, reads in m.get("column_lineage", ())
                ),
            )
            for m in t.get("models", ())
        ),
    )


def read_snapshot(path: str | Path | None = None) -> Snapshot | None:
    """The snapshot at `path` (default location when None); None when there is no file yet."""
    target = Path(path) if path is not None else default_snapshot_path()
    try:
        raw = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SnapshotError(f"{target}: cannot read snapshot ({exc})") from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"{target}: not valid JSON at line {exc.lineno}: {exc.msg}") from exc
    return Snapshot.from_json(data, source=str(target))


def save_snapshot(snapshot: Snapshot, path: str | Path | None = None) -> Path:
    """Write atomically (temp file + rename) so a code server never reads half a snapshot."""
    target = Path(path) if path is not None else default_snapshot_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".snapshot-", suffix=".json", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(snapshot.to_json(), fh, separators=(",", ":"))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def fivetran_name(name: str) -> str:
    """Fivetran's destination naming: lowercase letters, digits and underscores."""
    return re.sub(r"[^a-z0-9_]", "_", name.lower())


def _destination_schema(prefix: str, schema: Any) -> str:
    name = fivetran_name(schema.name_in_destination or schema.name)
    return name if name.startswith(f"{prefix}_") else f"{prefix}_{name}"


def _connection_snapshot(
    client: FivetranClient, group: str, conn: Connection
) -> ConnectionSnapshot:
    """`GET /v1/connections/{id}/schemas`: enabled tables, enabled columns, hashed marked."""
    config = client.get_schema_config(conn.id)
    tables: list[TableSnapshot] = []
    for schema, table in config.enabled_tables() if config else ():
        columns = tuple(
            ColumnSnapshot(
                name=fivetran_name(col.name_in_destination or col.name),
                hashed=col.hashed,
                primary_key=col.is_primary_key,
                source=col.name,
            )
            for col in table.columns.values()
            if col.enabled
        )
        tables.append(
            TableSnapshot(
                schema=schema.name,
                table=table.name,
                destination_schema=_destination_schema(fivetran_name(conn.schema), schema),
                destination_table=fivetran_name(table.name_in_destination or table.name),
                columns=columns,
                sync_mode=getattr(table.sync_mode, "value", table.sync_mode),
            )
        )
    return ConnectionSnapshot(
        group,
        conn.schema,
        conn.id,
        conn.service,
        tuple(tables),
        source_uri(conn.service, conn.config),
    )


def source_uri(service: str, config: Any) -> str | None:
    """Where a connection reads from, from the parts of its config Fivetran shows (never a
    credential): a file database by path, a server by host, port and database."""

    def shown(key: str) -> str | None:
        value = config.get(key)
        return None if value in (None, "", "******") else str(value)

    if service == "sqlite":
        path = shown("database")
        return f"sqlite:///{path}" if path else None  # an absolute path gives sqlite:////...
    host = shown("host")
    if host is None:
        return None
    port = shown("port")
    database = shown("database")
    return f"{service}://{host}{f':{port}' if port else ''}{f'/{database}' if database else ''}"


def _with_types(conn: ConnectionSnapshot, stats: dict[tuple[str, str], Any]) -> ConnectionSnapshot:
    """Fill column types the warehouse knows; columns from the warehouse when Fivetran sent none."""
    tables = []
    for t in conn.tables:
        st = stats.get((t.destination_schema, t.destination_table))
        types = dict(st.columns or {}) if st is not None and st.exists else {}
        columns = t.columns or tuple(
            ColumnSnapshot(name) for name in types if not name.startswith("_fivetran_")
        )
        columns = tuple(c._replace(type=types.get(c.name, c.type)) for c in columns)
        tables.append(t._replace(columns=columns))
    return replace(conn, tables=tuple(tables))


def write_snapshot(
    client: FivetranClient,
    estate: Estate,
    path: str | Path | None = None,
    *,
    dbt: bool = True,
    warehouse_types: bool = True,
    workers: int = 8,
) -> Snapshot:
    """Read what Fivetran captured for every connection of `estate` and save the snapshot.

    Calls per group: `GET /v1/groups` (once), `GET /v1/destinations/{id}`,
    `GET /v1/groups/{id}/connections`, `GET /v1/transformations?group_id=`, then one
    `GET .../schemas` per connection, concurrently (`workers`). Column types come from the
    warehouse when it is reachable; dbt models from `dbt parse` of each transformation project.
    Connections or groups not yet created in Fivetran are left out (apply creates them).
    """
    from fivetran_assets.snapshot.dbt_manifest import transformation_models

    live_groups = {g.name: g for g in client.list_groups()}
    groups: list[GroupSnapshot] = []
    connections: list[ConnectionSnapshot] = []
    transformations: list[TransformationSnapshot] = []
    for group in estate.groups:
        live = live_groups.get(group.name)
        if live is None:
            continue
        destination = client.get_destination(live.id)
        visible = {k: v for k, v in destination.config.items() if v != "******"}
        groups.append(GroupSnapshot(group.name, live.id, destination.service, visible))
        wanted = {c.name for c in group.connections}
        live_conns = [c for c in client.list_group_connections(live.id) if c.schema in wanted]
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            snaps = list(
                pool.map(_connection_snapshot, repeat(client), repeat(group.name), live_conns)
            )
        if warehouse_types:
            snaps = _typed(snaps, destination.service, visible)
        connections.extend(snaps)
        if group.transformations:
            live_tr = {t.name: t.id for t in client.list_transformations(group_id=live.id)}
            models = (
                transformation_models(estate, group, tables=landed_columns(snaps))
                if dbt and group.transformation_project
                else {}
            )
            transformations.extend(
                TransformationSnapshot(
                    group.name, t.name, live_tr.get(t.name), models.get(t.name, ())
                )
                for t in group.transformations
            )
    snapshot = Snapshot(
        written_at=now_iso(),
        groups=tuple(groups),
        connections=tuple(connections),
        transformations=tuple(transformations),
    )
    save_snapshot(snapshot, path if path is not None else default_snapshot_path(estate.root))
    return snapshot


def system_columns(table: TableSnapshot) -> tuple[str, ...]:
    """The columns Fivetran adds to a table it lands: `_fivetran_synced`, `_fivetran_deleted`,
    history mode's three, `_fivetran_id` when the table has no primary key."""
    from fivetran_assets.snapshot.warehouse import DELETED_COLUMN, SYNCED_COLUMN

    added = [SYNCED_COLUMN, DELETED_COLUMN]
    if (table.sync_mode or "").upper() == "HISTORY":
        added += ["_fivetran_active", "_fivetran_start", "_fivetran_end"]
    if not any(c.primary_key for c in table.columns):
        added.append("_fivetran_id")
    return tuple(added)


def landed_columns(snaps: Sequence[ConnectionSnapshot]) -> dict[tuple[str, str], list[str]]:
    """Each landed table's destination columns by (schema, table), Fivetran's own included:
    what the group's dbt models read."""
    return {
        (t.destination_schema, t.destination_table): [
            *(c.name for c in t.columns),
            *system_columns(t),
        ]
        for c in snaps
        for t in c.tables
    }


def _typed(
    snaps: list[ConnectionSnapshot], service: str, config: dict[str, Any]
) -> list[ConnectionSnapshot]:
    from fivetran_assets.snapshot.warehouse import WarehouseError, warehouse_for

    warehouse = warehouse_for(service, config)
    if warehouse is None:
        return snaps
    wanted = [(t.destination_schema, t.destination_table) for c in snaps for t in c.tables]
    try:
        stats = warehouse.describe(wanted)
    except WarehouseError as exc:
        log.warning("column types not read from the warehouse: %s", exc)
        return snaps
    return [_with_types(c, stats) for c in snaps]
