"""Estate view + snapshot -> the specs of every connection and transformation, keys checked.

Fetching (the snapshot) and translating (`FivetranEstateTranslator`) are separate, as in
dagster-fivetran, but translation is one pass over connections x tables with dictionary lookups:
no spec filtering per connection, so a thousand connections of twenty tables load in time linear
in their product. Models are translated after every table, in dependency order, so their deps
are the translated keys of the tables they read and the models they ref.

Two assets with one key would make Dagster refuse the code location with a message naming
neither; `DuplicateAssetKeyError` names both owners and the fix (a group's `key_prefix`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import dagster as dg

from fivetran_assets.dagster.estate_view import (
    ConnectionView,
    EstateView,
    ScheduledBy,
    TransformationView,
)
from fivetran_assets.dagster.translator import (
    AssetProps,
    DestinationProps,
    FivetranEstateTranslator,
    FivetranModelProps,
    FivetranTableProps,
    SpecHook,
    ident,
)
from fivetran_assets.snapshot.store import (
    ConnectionSnapshot,
    ModelSnapshot,
    Snapshot,
    TableSnapshot,
    TransformationSnapshot,
    upstream_first,
)

ConditionFactory = Callable[[Sequence[dg.AssetKey]], dg.AutomationCondition]


class DuplicateAssetKeyError(ValueError):
    """Two tables or models of the estate would have the same asset key."""


def op_name(kind: str, group: str, name: str) -> str:
    """A valid, collision-safe op name: the group is part of it, so schemas may repeat."""
    return ident(f"fivetran_{kind}__{group}__{name}")


@dataclass(frozen=True)
class ConnectionAssets:
    """The specs of one connection, with what the materialization needs to map results back."""

    view: ConnectionView
    snapshot: ConnectionSnapshot | None
    specs: tuple[dg.AssetSpec, ...]
    tables: dict[dg.AssetKey, TableSnapshot]
    # the source tables, as external assets upstream of the tables (column lineage)
    sources: tuple[dg.AssetSpec, ...] = ()

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
    models: dict[dg.AssetKey, ModelSnapshot]

    @property
    def op_name(self) -> str:
        return op_name("transform", self.view.group, self.view.name)

    def relations(self, keys: Sequence[dg.AssetKey] | None = None) -> dict[dg.AssetKey, tuple]:
        """(schema, table) each model (of `keys`, default all) builds in the warehouse."""
        wanted = self.models if keys is None else keys
        return {key: self.models[key].relation for key in wanted}


class _Keys:
    """Every key handed out so far and who owns it; a second owner is an error naming both."""

    def __init__(self) -> None:
        self.owner: dict[dg.AssetKey, tuple[str, str]] = {}

    def claim(self, key: dg.AssetKey, group: str, what: str) -> None:
        first = self.owner.setdefault(key, (group, what))
        if first == (group, what):
            return
        fix = (
            "give one of the groups a `key_prefix` in the estate config "
            "(groups[].key_prefix), or override FivetranEstateTranslator.get_asset_spec"
            if first[0] != group
            else "override FivetranEstateTranslator.get_asset_spec to tell them apart"
        )
        raise DuplicateAssetKeyError(
            f"asset key {key.to_user_string()} is produced by {first[1]} of group {first[0]} "
            f"and by {what} of group {group}: {fix}"
        )


@dataclass
class _Translation:
    translator: FivetranEstateTranslator
    hook: SpecHook | None
    keys: _Keys

    def spec(self, props: AssetProps, owner: str) -> dg.AssetSpec:
        spec = self.translator.get_asset_spec(props)
        if self.hook is not None:
            spec = self.hook(spec, props)
        self.keys.claim(spec.key, props.group, owner)
        return spec

    def table(self, props: FivetranTableProps, owner: str) -> tuple[dg.AssetSpec, dg.AssetSpec]:
        """A synced table's spec and its source table's (an external asset upstream). A prefix
        the hook put before the table's key (the component's `key_prefix`) goes before the
        source's too, so two estates with the same group and connection names stay apart."""
        translated = self.translator.get_asset_spec(props)
        spec = self.hook(translated, props) if self.hook is not None else translated
        source = self.translator.get_source_spec(props)
        prefix = _added_prefix(translated.key, spec.key)
        if prefix:
            moved = source.key.with_prefix(prefix)
            spec = _repoint(spec, source.key, moved)
            source = source.replace_attributes(key=moved)
        self.keys.claim(spec.key, props.group, owner)
        self.keys.claim(source.key, props.group, f"the source of {owner}")
        return spec, source


def _added_prefix(before: dg.AssetKey, after: dg.AssetKey) -> list[str]:
    """What was put before `before` to make `after` ([] when the key was not just prefixed)."""
    extra = len(after.path) - len(before.path)
    return list(after.path[:extra]) if extra > 0 and after.path[extra:] == before.path else []


def _repoint(spec: dg.AssetSpec, old: dg.AssetKey, new: dg.AssetKey) -> dg.AssetSpec:
    """`spec` with its dep on `old` and its column lineage from `old` pointing at `new`."""
    deps = [
        dg.AssetDep(new, partition_mapping=d.partition_mapping) if d.asset_key == old else d
        for d in spec.deps
    ]
    metadata = dict(spec.metadata)
    lineage = metadata.get("dagster/column_lineage")
    if isinstance(lineage, dg.TableColumnLineage):
        metadata["dagster/column_lineage"] = dg.TableColumnLineage(
            deps_by_column={
                column: [
                    dg.TableColumnDep(
                        asset_key=new if d.asset_key == old else d.asset_key,
                        column_name=d.column_name,
                    )
                    for d in column_deps
                ]
                for column, column_deps in lineage.deps_by_column.items()
            }
        )
    return spec.replace_attributes(deps=deps, metadata=metadata)


def _connection(
    t: _Translation,
    view: ConnectionView,
    snap: ConnectionSnapshot | None,
    destination: DestinationProps,
    dashboard_base: str,
) -> ConnectionAssets:
    """One spec per enabled table the snapshot recorded (disabled tables were never recorded)."""
    specs: list[dg.AssetSpec] = []
    tables: dict[dg.AssetKey, TableSnapshot] = {}
    owner = f"connection {view.name}"
    cid = snap.id if snap else None
    sources: list[dg.AssetSpec] = []
    source = snap.source if snap else None
    for table in snap.tables if snap else ():
        props = FivetranTableProps(view, cid, table, destination, dashboard_base, source)
        spec, source_spec = t.table(props, owner)
        tables[spec.key] = table
        specs.append(spec)
        sources.append(source_spec)
    return ConnectionAssets(
        view=view, snapshot=snap, specs=tuple(specs), tables=tables, sources=tuple(sources)
    )


def _transformation(
    t: _Translation,
    view: TransformationView,
    snap: TransformationSnapshot | None,
    *,
    table_keys: Mapping[tuple[str, str, str], dg.AssetKey],
    destination: DestinationProps,
    condition: ConditionFactory | None,
) -> TransformationAssets:
    """One spec per dbt model; deps are the tables its sources name and the models it refs.

    A source the estate does not sync stays a plain dep on `[schema, table]` (the ecosystem
    key of that relation) so lineage is not lost.
    """
    if snap is None:
        return TransformationAssets(view=view, snapshot=None, specs=(), models={})
    owner = f"transformation {view.name}"
    by_name: dict[str, dg.AssetKey] = {}
    specs: list[dg.AssetSpec] = []
    models: dict[dg.AssetKey, ModelSnapshot] = {}
    for model in upstream_first(snap.models):
        reads = {
            (schema, table): table_keys.get((view.group, schema, table))
            or dg.AssetKey([schema, table])
            for schema, table in model.sources
        }
        deps = list(reads.values())
        for ref in model.refs:
            if ref in by_name:
                deps.append(by_name[ref])
                reads[models[by_name[ref]].relation] = by_name[ref]
        column_deps = tuple(
            (column, tuple((reads[s, tb], c) for s, tb, c in sources if (s, tb) in reads))
            for column, sources in model.column_lineage
        )
        props = FivetranModelProps(view, snap.id, model, destination, tuple(deps), column_deps)
        spec = t.spec(props, owner)
        by_name[model.name] = spec.key
        models[spec.key] = model
        specs.append(spec)
    if condition is not None:
        # One condition for every model: a transformation runs all of its models together.
        sources = {
            dep for spec in specs for dep in (d.asset_key for d in spec.deps) if dep not in models
        }
        automation = condition(sorted(sources, key=str))
        specs = [spec.replace_attributes(automation_condition=automation) for spec in specs]
    return TransformationAssets(view=view, snapshot=snap, specs=tuple(specs), models=models)


def translate(
    view: EstateView,
    snapshot: Snapshot | None,
    *,
    conditions: Mapping[tuple[str, str], ConditionFactory] | None = None,
    translator: FivetranEstateTranslator | None = None,
    hook: SpecHook | None = None,
) -> tuple[list[ConnectionAssets], list[TransformationAssets]]:
    """All specs of the estate, in config order; raises `DuplicateAssetKeyError`."""
    t = _Translation(translator or FivetranEstateTranslator(), hook, _Keys())
    destinations: dict[str, DestinationProps] = {}
    for c in (*view.connections, *view.transformations):
        if c.group in destinations:
            continue
        group = snapshot.group(c.group) if snapshot else None
        service = c.destination_service if isinstance(c, ConnectionView) else None
        destinations[c.group] = DestinationProps(
            c.group,
            group.destination_service if group else service or "warehouse",
            group.database if group else None,
        )
    conns = [
        _connection(
            t,
            c,
            snapshot.connection(c.group, c.name) if snapshot else None,
            destinations[c.group],
            view.dashboard_base_url,
        )
        for c in view.connections
    ]
    table_keys = {
        (ca.view.group, table.destination_schema, table.destination_table): key
        for ca in conns
        for key, table in ca.tables.items()
    }
    conditions = conditions or {}
    transforms = [
        _transformation(
            t,
            tv,
            snapshot.transformation(tv.group, tv.name) if snapshot else None,
            table_keys=table_keys,
            destination=destinations[tv.group],
            condition=conditions.get((tv.group, tv.name)),
        )
        for tv in view.transformations
    ]
    return conns, transforms


def scheduled_by_dagster(ca: ConnectionAssets) -> bool:
    return ca.view.scheduled_by is ScheduledBy.DAGSTER
