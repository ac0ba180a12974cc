"""Estate view + snapshot -> AssetSpecs: one spec per synced table and per dbt model.

Fetching (the snapshot) and translating (this module) are separate, as in dagster-fivetran, but
translation is one pass over connections x tables with dictionary lookups: no spec filtering per
connection, so a thousand connections of twenty tables load in time linear in their product.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

import dagster as dg

from fivetran_assets.dagster.estate_view import (
    ConnectionView,
    EstateView,
    ScheduledBy,
    TransformationView,
)
from fivetran_assets.snapshot.store import (
    ConnectionSnapshot,
    ModelSnapshot,
    Snapshot,
    TableSnapshot,
    TransformationSnapshot,
)

SUBSET_NOTE = (
    "Fivetran syncs whole connections: materializing any subset of these tables runs one sync "
    "of the whole connection and records results for the selected tables only."
)
ConditionFactory = Callable[[Sequence[dg.AssetKey]], dg.AutomationCondition]
FRESHNESS_GRACE = 2  # sync periods before a table counts as stale
SYNC_TAG = "fivetran/sync"  # op tag bounding concurrent syncs within a run
_NON_IDENT = re.compile(r"[^A-Za-z0-9_]")


def op_name(kind: str, group: str, name: str) -> str:
    """A valid, collision-safe op name: the group is part of it, so schemas may repeat."""
    return _NON_IDENT.sub("_", f"fivetran_{kind}__{group}__{name}")


def dashboard_url(base: str, connection_id: str) -> str:
    return f"{base.rstrip('/')}/connectors/{connection_id}/status"


def table_key(prefix: tuple[str, ...], group: str, schema: str, table: str) -> dg.AssetKey:
    return dg.AssetKey([*prefix, group, schema, table])


@dataclass(frozen=True)
class ConnectionAssets:
    """The specs of one connection, with what the materialization needs to map results back."""

    view: ConnectionView
    snapshot: ConnectionSnapshot | None
    specs: tuple[dg.AssetSpec, ...]
    tables: dict[dg.AssetKey, TableSnapshot]

    @property
    def op_name(self) -> str:
        return op_name("sync", self.view.group, self.view.name)

    @property
    def connection_id(self) -> str | None:
        return self.snapshot.id if self.snapshot else None


@dataclass(frozen=True)
class TransformationAssets:
    view: TransformationView
    snapshot: TransformationSnapshot | None
    specs: tuple[dg.AssetSpec, ...]
    models: dict[dg.AssetKey, str]  # key -> dbt model name

    @property
    def op_name(self) -> str:
        return op_name("transform", self.view.group, self.view.name)


def column_schema(table: TableSnapshot) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=col.name,
                type=col.type or "unknown",
                description="SHA-256 hashed by Fivetran" if col.hashed else None,
                tags={"fivetran/hashed": "true"} if col.hashed else None,
            )
            for col in table.columns
        ]
    )


def connection_specs(
    view: ConnectionView, snap: ConnectionSnapshot | None, *, dashboard_base: str
) -> ConnectionAssets:
    """One spec per enabled table the snapshot recorded (disabled tables were never recorded)."""
    kinds = {"fivetran", view.destination_service}
    tags = {**view.tags, "fivetran/scheduled_by": view.scheduled_by.value}
    base_meta: dict[str, object] = {
        "fivetran/connection_name": view.name,
        "fivetran/service": view.service,
        "fivetran/sync_frequency_minutes": view.sync_frequency,
        "fivetran/scheduled_by": view.scheduled_by.value,
    }
    if snap is not None:
        base_meta["fivetran/connection_id"] = snap.id
        base_meta["fivetran/dashboard_url"] = dg.MetadataValue.url(
            dashboard_url(dashboard_base, snap.id)
        )
    description = (
        f"Table synced by Fivetran connection `{view.name}` ({view.group}). " + SUBSET_NOTE
    )
    # Fivetran delays syncs under load: warn after one missed sync, fail after two.
    freshness = dg.FreshnessPolicy.time_window(
        fail_window=timedelta(minutes=FRESHNESS_GRACE * view.sync_frequency),
        warn_window=timedelta(minutes=view.sync_frequency),
    )
    specs: list[dg.AssetSpec] = []
    tables: dict[dg.AssetKey, TableSnapshot] = {}
    for table in snap.tables if snap else ():
        key = table_key(
            view.key_prefix, view.group, table.destination_schema, table.destination_table
        )
        tables[key] = table
        specs.append(
            dg.AssetSpec(
                key=key,
                description=description,
                group_name=view.group,
                kinds=kinds,
                owners=view.owners or None,
                tags=tags,
                freshness_policy=freshness,
                metadata={
                    **base_meta,
                    "fivetran/source_table": f"{table.schema}.{table.table}",
                    "dagster/table_name": f"{table.destination_schema}.{table.destination_table}",
                    "dagster/column_schema": column_schema(table),
                },
            )
        )
    return ConnectionAssets(view=view, snapshot=snap, specs=tuple(specs), tables=tables)


def transformation_specs(
    view: TransformationView,
    snap: TransformationSnapshot | None,
    *,
    source_keys: dict[tuple[str, str, str], dg.AssetKey],
    destination_service: str,
    condition: ConditionFactory | None = None,
) -> TransformationAssets:
    """One spec per dbt model; deps are the tables its sources name and the models it refs.

    `source_keys` maps (group, destination schema, table) to the table's asset key; a source the
    estate does not sync stays a plain dep on `[group, schema, table]` so lineage is not lost.
    """
    if snap is None:
        return TransformationAssets(view=view, snapshot=None, specs=(), models={})
    ordered = _topological(snap.models)
    by_name = {m.name: table_key(view.key_prefix, view.group, m.schema, m.name) for m in ordered}
    tables = {
        source_keys.get(
            (view.group, schema, table), table_key(view.key_prefix, view.group, schema, table)
        )
        for m in ordered
        for schema, table in m.sources
    }
    # One condition for every model: a transformation runs all of its models together.
    automation_condition = condition(sorted(tables, key=str)) if condition else None
    tags = {**view.tags, "fivetran/scheduled_by": view.scheduled_by.value}
    specs: list[dg.AssetSpec] = []
    models: dict[dg.AssetKey, str] = {}
    for model in ordered:
        key = by_name[model.name]
        deps = [
            source_keys.get(
                (view.group, schema, table), table_key(view.key_prefix, view.group, schema, table)
            )
            for schema, table in model.sources
        ]
        deps.extend(by_name[ref] for ref in model.refs if ref in by_name)
        models[key] = model.name
        meta: dict[str, object] = {
            "dagster/table_name": f"{model.schema}.{model.name}",
            "fivetran/transformation": view.name,
            "fivetran/scheduled_by": view.scheduled_by.value,
            "dbt/unique_id": model.unique_id,
        }
        if snap.id:
            meta["fivetran/transformation_id"] = snap.id
        if model.columns:
            meta["dagster/column_schema"] = dg.TableSchema(
                columns=[dg.TableColumn(name=c, type="unknown") for c in model.columns]
            )
        specs.append(
            dg.AssetSpec(
                key=key,
                deps=deps,
                description=(
                    model.description
                    or f"dbt model `{model.name}` built by transformation `{view.name}`."
                ),
                group_name=view.group,
                kinds={"fivetran", "dbt", destination_service},
                owners=view.owners or None,
                tags=tags,
                metadata=meta,
                automation_condition=automation_condition,
            )
        )
    return TransformationAssets(view=view, snapshot=snap, specs=tuple(specs), models=models)


def _topological(models: tuple[ModelSnapshot, ...]) -> list[ModelSnapshot]:
    """Models after the models they ref: a multi-asset must yield results in that order."""
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


def translate(
    view: EstateView,
    snapshot: Snapshot | None,
    *,
    conditions: Mapping[tuple[str, str], ConditionFactory] | None = None,
) -> tuple[list[ConnectionAssets], list[TransformationAssets]]:
    """All specs of the estate, in config order."""
    conns = [
        connection_specs(
            c,
            snapshot.connection(c.group, c.name) if snapshot else None,
            dashboard_base=view.dashboard_base_url,
        )
        for c in view.connections
    ]
    source_keys: dict[tuple[str, str, str], dg.AssetKey] = {}
    dest_service: dict[str, str] = {}
    for ca in conns:
        dest_service.setdefault(ca.view.group, ca.view.destination_service)
        for key, table in ca.tables.items():
            source_keys[(ca.view.group, table.destination_schema, table.destination_table)] = key
    conditions = conditions or {}
    transforms = [
        transformation_specs(
            t,
            snapshot.transformation(t.group, t.name) if snapshot else None,
            source_keys=source_keys,
            destination_service=dest_service.get(t.group, "warehouse"),
            condition=conditions.get((t.group, t.name)),
        )
        for t in view.transformations
    ]
    return conns, transforms


def scheduled_by_dagster(ca: ConnectionAssets) -> bool:
    return ca.view.scheduled_by is ScheduledBy.DAGSTER
