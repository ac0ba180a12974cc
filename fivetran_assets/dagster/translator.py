"""`FivetranEstateTranslator`: what one synced table or one dbt model looks like as an AssetSpec.

Subclass it and override `get_asset_spec(props)` as with dagster-fivetran's and dagster-dbt's
translators; props are `FivetranTableProps` (the connection, the table with its source and
destination names and columns, the destination) or `FivetranModelProps` (the transformation,
the dbt model, the destination, and the keys it depends on, already translated).

Default keys follow the ecosystem so history and lineage carry over:
- a table is `[destination_schema, table]`, what dagster-fivetran 0.29 names it;
- a model is what dagster-dbt names it by default: `meta.dagster.asset_key` when set, else
  `[alias]` for a versioned model, else `[configured schema, name]` or `[name]`;
- the estate's `dagster.asset_key_prefix` and the group's `key_prefix` come first.
`KeyShape.GROUP_SCHEMA_TABLE` keeps the first release's `[group, schema, table]` keys for
upgraders. Each connection and each transformation is its own asset group (`<group>__<name>`),
and `dagster/table_name` is the fully qualified `database.schema.table`.

Column lineage: each table depends on its source table, an external asset keyed
`[fivetran_source, group, connection, source schema, source table]` in the connection's source
group (`<group>__<name>__source`), and carries `dagster/column_lineage` from its columns. Each
model carries `dagster/column_lineage` from the tables and models its SQL reads (traced when the
state is written), so the UI follows a column from the department database to the dbt models.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from enum import StrEnum
from typing import NamedTuple

import dagster as dg
from dagster._core.definitions.metadata import TableMetadataSet

from fivetran_assets.dagster.estate_view import ConnectionView, TransformationView
from fivetran_assets.snapshot.store import ColumnSnapshot, ModelSnapshot, TableSnapshot

SUBSET_NOTE = (
    "Fivetran syncs whole connections: materializing any subset of these tables runs one sync "
    "of the whole connection and records results for the selected tables only."
)
FRESHNESS_GRACE = 2  # sync periods before a table counts as stale
_NON_IDENT = re.compile(r"[^A-Za-z0-9_]")


class KeyShape(StrEnum):
    """How default asset keys are shaped (`translation: {key_shape: ...}` in the component)."""

    ECOSYSTEM = "ecosystem"  # tables as dagster-fivetran, models as dagster-dbt
    GROUP_SCHEMA_TABLE = "group_schema_table"  # the first release: [group, schema, table]


def ident(text: str) -> str:
    """`text` as a valid Dagster name (ops, asset groups): other characters become `_`."""
    return _NON_IDENT.sub("_", text)


def dashboard_url(base: str, connection_id: str) -> str:
    """The connection's page in Fivetran's dashboard; "" when there is no dashboard (`base` "",
    the local Fivetran) or no connection id."""
    if not base or not connection_id:
        return ""
    return f"{base.rstrip('/')}/connectors/{connection_id}/status"


def dashboard_metadata(url: str) -> dict[str, dg.MetadataValue]:
    """`fivetran/dashboard_url` for `url`, or nothing when there is no dashboard page."""
    return {"fivetran/dashboard_url": dg.MetadataValue.url(url)} if url else {}


class DestinationProps(NamedTuple):
    """The warehouse a group lands in; `database` qualifies table names when Fivetran shows it."""

    group: str
    service: str
    database: str | None = None

    def table_name(self, schema: str, table: str) -> str:
        return f"{self.database}.{schema}.{table}" if self.database else f"{schema}.{table}"


class FivetranTableProps(NamedTuple):
    """One table a connection lands. `table.schema`/`.table` are the source's names,
    `schema`/`name` the destination's (what the warehouse and the default key use)."""

    connection: ConnectionView
    connection_id: str | None
    table: TableSnapshot
    destination: DestinationProps
    dashboard_base_url: str
    source: str | None = None  # where the connection reads from (`ConnectionSnapshot.source`)

    @property
    def group(self) -> str:
        return self.connection.group

    @property
    def schema(self) -> str:
        return self.table.destination_schema

    @property
    def name(self) -> str:
        return self.table.destination_table

    @property
    def columns(self) -> tuple[ColumnSnapshot, ...]:
        return self.table.columns


class FivetranModelProps(NamedTuple):
    """One dbt model a transformation builds; `deps` are its sources' and refs' asset keys,
    `column_deps` each output column with the (asset key, column) pairs it is computed from."""

    transformation: TransformationView
    transformation_id: str | None
    model: ModelSnapshot
    destination: DestinationProps
    deps: tuple[dg.AssetKey, ...] = ()
    column_deps: tuple[tuple[str, tuple[tuple[dg.AssetKey, str], ...]], ...] = ()

    @property
    def group(self) -> str:
        return self.transformation.group


AssetProps = FivetranTableProps | FivetranModelProps


def _column_schema(columns: Sequence[ColumnSnapshot]) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=col.name,
                type=col.type or "unknown",
                description="SHA-256 hashed by Fivetran" if col.hashed else None,
                tags={"fivetran/hashed": "true"} if col.hashed else None,
            )
            for col in columns
        ]
    )


def _column_lineage(
    source: dg.AssetKey, columns: Sequence[ColumnSnapshot]
) -> dg.TableColumnLineage | None:
    """Each destination column from its source column (hashed ones too: Fivetran hashes the
    value, the column is still that column); None when the snapshot knows no source names."""
    deps = {
        col.name: [dg.TableColumnDep(asset_key=source, column_name=col.source)]
        for col in columns
        if col.source
    }
    return dg.TableColumnLineage(deps_by_column=deps) if deps else None


class _ConnectionParts(NamedTuple):
    description: str
    group_name: str
    kinds: set[str]
    owners: Sequence[str] | None
    tags: dict[str, str]
    freshness_policy: dg.FreshnessPolicy
    metadata: dict[str, object]


class FivetranEstateTranslator:
    """Turns table and model props into AssetSpecs; override `get_asset_spec` to change them."""

    def __init__(self, *, key_shape: KeyShape = KeyShape.ECOSYSTEM) -> None:
        self.key_shape = KeyShape(key_shape)

    def get_asset_spec(self, props: AssetProps) -> dg.AssetSpec:
        if isinstance(props, FivetranTableProps):
            return self.get_table_spec(props)
        return self.get_model_spec(props)

    # -- keys --------------------------------------------------------------------------------

    def get_table_key(self, props: FivetranTableProps) -> dg.AssetKey:
        view = props.connection
        if self.key_shape is KeyShape.GROUP_SCHEMA_TABLE:
            return dg.AssetKey([*view.key_prefix, view.group, props.schema, props.name])
        return dg.AssetKey([*view.key_prefix, props.schema, props.name])

    def get_source_key(self, props: FivetranTableProps) -> dg.AssetKey:
        """The source table a synced table copies: `[fivetran_source, group, connection,
        source schema, source table]` (an external asset, upstream of the table)."""
        view = props.connection
        table = props.table
        return dg.AssetKey(
            [*view.key_prefix, "fivetran_source", view.group, view.name, table.schema, table.table]
        )

    def get_model_key(self, props: FivetranModelProps) -> dg.AssetKey:
        view, model = props.transformation, props.model
        if self.key_shape is KeyShape.GROUP_SCHEMA_TABLE:
            return dg.AssetKey([*view.key_prefix, view.group, *model.relation])
        if model.asset_key:
            return dg.AssetKey([*view.key_prefix, *model.asset_key])
        if model.version:
            return dg.AssetKey([*view.key_prefix, model.alias or model.name])
        if model.config_schema:
            return dg.AssetKey([*view.key_prefix, model.config_schema, model.name])
        return dg.AssetKey([*view.key_prefix, model.name])

    # -- specs -------------------------------------------------------------------------------

    def get_table_spec(self, props: FivetranTableProps) -> dg.AssetSpec:
        shared = self._connection_parts(props)
        source = self.get_source_key(props)
        lineage = _column_lineage(source, props.columns)
        return dg.AssetSpec(
            key=self.get_table_key(props),
            deps=[source],
            description=shared.description,
            group_name=shared.group_name,
            kinds=shared.kinds,
            owners=shared.owners,
            tags=shared.tags,
            freshness_policy=shared.freshness_policy,
            metadata={
                **shared.metadata,
                "fivetran/source_table": f"{props.table.schema}.{props.table.table}",
                "dagster/table_name": props.destination.table_name(props.schema, props.name),
                "dagster/column_schema": _column_schema(props.columns),
                **({"dagster/column_lineage": lineage} if lineage else {}),
            },
        )

    def _connection_parts(self, props: FivetranTableProps) -> _ConnectionParts:
        """What every table of a connection shares, built once per connection (a thousand
        connections of twenty tables build 1,000 of these, not 20,000)."""
        view = props.connection
        key = (view.group, view.name, props.connection_id, props.dashboard_base_url, props.source)
        # In the instance's dict: a subclass need not call our __init__.
        cache: dict[tuple, tuple[ConnectionView, _ConnectionParts]] = self.__dict__.setdefault(
            "_connection_parts_cache", {}
        )
        cached = cache.get(key)
        if cached is not None and cached[0] is view:  # the same view object: same parts
            return cached[1]
        metadata: dict[str, object] = {
            "fivetran/connection_name": view.name,
            "fivetran/service": view.service,
            "fivetran/sync_frequency_minutes": view.sync_frequency,
            "fivetran/scheduled_by": view.scheduled_by.value,
        }
        if props.source:
            metadata["fivetran/source_uri"] = props.source
        if props.connection_id is not None:
            metadata["fivetran/connection_id"] = props.connection_id
            metadata.update(
                dashboard_metadata(dashboard_url(props.dashboard_base_url, props.connection_id))
            )
        parts = _ConnectionParts(
            description=(
                f"Table synced by Fivetran connection `{view.name}` ({view.group}). " + SUBSET_NOTE
            ),
            group_name=ident(f"{view.group}__{view.name}"),
            kinds={"fivetran", view.destination_service},
            owners=view.owners or None,
            tags={**view.tags, "fivetran/scheduled_by": view.scheduled_by.value},
            # Fivetran delays syncs under load: warn after one missed sync, fail after two.
            freshness_policy=dg.FreshnessPolicy.time_window(
                fail_window=timedelta(minutes=FRESHNESS_GRACE * view.sync_frequency),
                warn_window=timedelta(minutes=view.sync_frequency),
            ),
            metadata=metadata,
        )
        cache[key] = (view, parts)
        return parts

    def get_source_spec(self, props: FivetranTableProps) -> dg.AssetSpec:
        """The source table as an external asset: Fivetran reads it, nothing here writes it."""
        view, table = props.connection, props.table
        where = f" in `{props.source}`" if props.source else ""
        # TableMetadataSet's two keys, spelled out: validating a pydantic model per source
        # table is a measurable share of a large estate's definitions load.
        metadata: dict[str, object] = {
            "dagster/column_schema": dg.TableSchema(
                columns=[
                    dg.TableColumn(name=c.source, type="unknown") for c in props.columns if c.source
                ]
            ),
            "dagster/table_name": f"{table.schema}.{table.table}",
        }
        if props.source:
            metadata["fivetran/source_uri"] = props.source
        return dg.AssetSpec(
            key=self.get_source_key(props),
            description=(
                f"Source table `{table.schema}.{table.table}`{where}, synced by Fivetran "
                f"connection `{view.name}` ({view.group})."
            ),
            group_name=ident(f"{view.group}__{view.name}__source"),
            kinds={view.service},
            metadata=metadata,
        )

    def get_model_spec(self, props: FivetranModelProps) -> dg.AssetSpec:
        view, model = props.transformation, props.model
        metadata: dict[str, object] = {
            "fivetran/transformation": view.name,
            "fivetran/scheduled_by": view.scheduled_by.value,
            "dbt/unique_id": model.unique_id,
            **TableMetadataSet(
                table_name=props.destination.table_name(*model.relation),
                column_schema=(
                    dg.TableSchema(
                        columns=[dg.TableColumn(name=c, type="unknown") for c in model.columns]
                    )
                    if model.columns
                    else None
                ),
            ),
        }
        if props.transformation_id:
            metadata["fivetran/transformation_id"] = props.transformation_id
        if props.column_deps:
            metadata["dagster/column_lineage"] = dg.TableColumnLineage(
                deps_by_column={
                    column: [dg.TableColumnDep(asset_key=k, column_name=c) for k, c in reads]
                    for column, reads in props.column_deps
                    if reads
                }
            )
        return dg.AssetSpec(
            key=self.get_model_key(props),
            deps=props.deps,
            description=(
                model.description
                or f"dbt model `{model.name}` built by transformation `{view.name}`."
            ),
            group_name=ident(f"{view.group}__{view.name}"),
            kinds={"fivetran", "dbt", props.destination.service},
            owners=view.owners or None,
            tags={**view.tags, "fivetran/scheduled_by": view.scheduled_by.value},
            metadata={k: v for k, v in metadata.items() if v is not None},
        )


SpecHook = Callable[[dg.AssetSpec, AssetProps], dg.AssetSpec]
"""Applied to each spec after the translator (the component's `key_prefix` and `translation`)."""
