"""Diff the desired state against the live estate: `compute_plan(...) -> Plan`.

Identity is by name, never by a state file: a group by name; its destination; a webhook by
(group, url); a connection by (group, schema name); the group's transformation project; a
transformation by (group, name). Only declared values are compared. Secrets are compared by
keyed fingerprint (Fivetran masks them on read). Live resources the config does not declare,
inside managed groups, are unmanaged, or deletions when pruning; groups the config does not
name are listed and never touched. When several live webhooks, connections or transformations
share the identity of one declared resource, the oldest is the managed one and the others are
`Duplicate`s (drift, deleted by apply without pruning): Fivetran would deliver each event twice
or sync each table twice. A group whose destination service changed moves to a new group
(`moves.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fivetran_assets.estate.references import Environment
from fivetran_assets.fivetran.models import Connection, Destination, Webhook
from fivetran_assets.reconcile.desired import (
    ConnectionSpec,
    DestinationSpec,
    GroupSpec,
    WebhookSpec,
)
from fivetran_assets.reconcile.diff_context import DiffContext, field_diff, plain_diffs
from fivetran_assets.reconcile.diff_transformations import diff_project, diff_transformation
from fivetran_assets.reconcile.fingerprints import FingerprintStore
from fivetran_assets.reconcile.moves import for_group, is_moving, move_change, staging_name
from fivetran_assets.reconcile.plan import (
    Create,
    Duplicate,
    FieldDiff,
    Kind,
    Plan,
    Unmanaged,
    Update,
)
from fivetran_assets.reconcile.reader import LiveEstate, LiveGroup
from fivetran_assets.reconcile.selection import diff_selection, needs_capture


def compute_plan(
    desired: Mapping[str, GroupSpec],
    live: LiveEstate,
    *,
    fingerprints: FingerprintStore,
    environment: Environment,
    prune: bool = False,
) -> Plan:
    """The plan that makes `live` match `desired` (see the module docstring for the rules)."""
    ctx = DiffContext(fingerprints, environment, prune)
    for name, spec in desired.items():
        live_group = live.groups.get(name)
        new_name = staging_name(name, spec.destination.service)
        staging = live.groups.get(new_name)
        if is_moving(spec, live_group, staging):
            # The new group is diffed like any other; the move's change finishes it.
            ctx.changes.append(move_change(spec, live_group, staging, new_name=new_name))
            _diff_named_group(ctx, for_group(spec, new_name), staging)
            continue
        if staging is not None:
            ctx.unmanaged.append(Unmanaged(Kind.GROUP, new_name, "", staging.group.id))
        _diff_named_group(ctx, spec, live_group)
    for group in live.unmanaged_groups:
        ctx.unmanaged.append(Unmanaged(Kind.GROUP, group.name, "", group.id))
    return Plan(
        tuple(ctx.changes),
        tuple(ctx.unmanaged),
        tuple(ctx.warnings),
        existing_count=live.count(),
        ids=ctx.ids,
    )


def _diff_named_group(ctx: DiffContext, spec: GroupSpec, live: LiveGroup | None) -> None:
    if live is None:
        ctx.changes.append(Create(Kind.GROUP, spec.name, desired=spec))
    else:
        ctx.ids[f"group:{spec.name}"] = live.group.id
    _diff_group(ctx, spec, live)


class _Identities:
    """Live items of one kind in one group, by identity, oldest first within each identity."""

    def __init__(self, ctx: DiffContext, kind: Kind, group: str, items: Any, key: Any) -> None:
        self.ctx, self.kind, self.group = ctx, kind, group
        self.found: dict[str, list[Any]] = {}
        for item in sorted(items, key=_age):
            self.found.setdefault(key(item), []).append(item)

    def take(self, name: str) -> Any:
        """The managed item for a declared `name` (the oldest); the others are duplicates."""
        items = self.found.pop(name, [])
        if not items:
            return None
        kept, *copies = items
        for copy in copies:
            created = copy.created_at.timestamp() if copy.created_at else 0.0
            fields = [FieldDiff("duplicate_of", None, kept.id)]
            if copy.created_at:
                fields.append(FieldDiff("created_at", None, copy.created_at.isoformat()))
            self.ctx.changes.append(
                Duplicate(self.kind, self.group, name, tuple(fields), copy.id, existing=copy,
                          created_at=created)
            )  # fmt: skip
        return kept

    def leftovers(self) -> None:
        """Undeclared identities: unmanaged, or deleted when pruning (every copy)."""
        for name, items in sorted(self.found.items()):
            for item in items:
                self.ctx.leftover(self.kind, self.group, name, item.id, item)


def _age(item: Any) -> tuple[bool, float, str]:
    created = getattr(item, "created_at", None)
    return (created is None, created.timestamp() if created else 0.0, item.id)


def _diff_group(ctx: DiffContext, spec: GroupSpec, live: LiveGroup | None) -> None:
    _diff_destination(ctx, spec.destination, live.destination if live else None)
    hooks = _Identities(ctx, Kind.WEBHOOK, spec.name, live.webhooks if live else (), _url)
    for hook in spec.webhooks:
        _diff_webhook(ctx, hook, hooks.take(hook.url))
    hooks.leftovers()
    connections = _Identities(
        ctx, Kind.CONNECTION, spec.name, live.connections if live else (), lambda c: c.schema
    )
    names_by_id = {c.id: c.schema for c in live.connections} if live else {}
    for connection in spec.connections:
        found = connections.take(connection.name)
        schema_config = live.schema_configs.get(found.id) if live and found else None
        _diff_connection(ctx, connection, found, schema_config)
    connections.leftovers()
    projects = list(live.projects) if live else []
    if spec.project is not None:
        diff_project(ctx, spec.project, projects.pop(0) if projects else None)
    for project in projects:
        ctx.leftover(Kind.TRANSFORMATION_PROJECT, spec.name, project.id, project.id, project)
    transformations = _Identities(
        ctx,
        Kind.TRANSFORMATION,
        spec.name,
        live.transformations if live else (),
        lambda t: t.name or t.id,
    )
    for transformation in spec.transformations:
        found_t = transformations.take(transformation.name)
        diff_transformation(ctx, transformation, found_t, names_by_id)
    transformations.leftovers()


def _url(hook: Webhook) -> str:
    return hook.url


def _diff_destination(ctx: DiffContext, spec: DestinationSpec, live: Destination | None) -> None:
    group = spec.group
    if live is None:
        fields = [
            FieldDiff("service", None, spec.service),
            FieldDiff("time_zone_offset", None, spec.time_zone_offset),
        ]
        fields += field_diff("region", None, spec.region)
        fields += [FieldDiff(f"config.{p}", None, v) for p, v in sorted(spec.plain.items())]
        fields += ctx.secret_diffs(
            Kind.DESTINATION, group, "", None, spec.secrets, spec.where, prefix="config."
        )
        ctx.changes.append(Create(Kind.DESTINATION, group, fields=tuple(fields), desired=spec))
        return
    ctx.ids[f"destination:{group}"] = live.id
    if live.service != spec.service:
        fields = [FieldDiff("service", live.service, spec.service)]
        ctx.changes.append(
            Update(
                Kind.DESTINATION,
                group,
                fields=tuple(fields),
                live_id=live.id,
                replace=True,
                desired=spec,
                existing=live,
            )
        )
        return
    fields = field_diff("region", live.region, spec.region)
    fields += field_diff(
        "time_zone_offset", _offset(live.time_zone_offset), _offset(spec.time_zone_offset)
    )
    fields += plain_diffs(spec.plain, live.config, "config.")
    fields += ctx.secret_diffs(
        Kind.DESTINATION, group, "", live.id, spec.secrets, spec.where, prefix="config."
    )
    if fields:
        ctx.changes.append(
            Update(
                Kind.DESTINATION,
                group,
                fields=tuple(fields),
                live_id=live.id,
                desired=spec,
                existing=live,
            )
        )


def _offset(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    return (
        "0"
        if text in ("+0", "-0", "0")
        else text
        if text.startswith("-")
        else "+" + text.lstrip("+")
    )


def _diff_webhook(ctx: DiffContext, spec: WebhookSpec, live: Webhook | None) -> None:
    secrets = {"secret": spec.secret} if spec.secret else {}
    if live is None:
        fields = [
            FieldDiff("events", None, list(spec.events)),
            FieldDiff("active", None, spec.active),
        ]
        fields += ctx.secret_diffs(Kind.WEBHOOK, spec.group, spec.url, None, secrets, spec.where)
        ctx.changes.append(
            Create(Kind.WEBHOOK, spec.group, spec.url, fields=tuple(fields), desired=spec)
        )
        return
    live_events = sorted(str(getattr(e, "value", e)) for e in live.events)
    fields = field_diff("events", live_events, list(spec.events))
    fields += field_diff("active", live.active, spec.active)
    fields += ctx.secret_diffs(Kind.WEBHOOK, spec.group, spec.url, live.id, secrets, spec.where)
    if fields:
        ctx.changes.append(
            Update(
                Kind.WEBHOOK,
                spec.group,
                spec.url,
                tuple(fields),
                live.id,
                desired=spec,
                existing=live,
            )
        )


def _connection_fields(spec: ConnectionSpec, live: Connection | None) -> list[FieldDiff]:
    get = (lambda attr: getattr(live, attr)) if live else (lambda attr: None)
    schedule_type = get("schedule_type")
    fields = field_diff(
        "schedule_type", getattr(schedule_type, "value", schedule_type), spec.schedule_type
    )
    fields += field_diff("sync_frequency", get("sync_frequency"), spec.sync_frequency)
    fields += field_diff("daily_sync_time", get("daily_sync_time"), spec.daily_sync_time)
    fields += field_diff("paused", get("paused"), spec.paused)
    return fields


def _diff_connection(
    ctx: DiffContext, spec: ConnectionSpec, live: Connection | None, schema_config: Any
) -> None:
    group, name = spec.group, spec.name
    if live is None:
        fields = [FieldDiff("service", None, spec.service), *_connection_fields(spec, None)]
        fields += [FieldDiff(f"config.{p}", None, v) for p, v in sorted(spec.plain.items())]
        fields += ctx.secret_diffs(
            Kind.CONNECTION, group, name, None, spec.secrets, spec.where, prefix="config."
        )
        if needs_capture(spec.selection):
            fields.append(
                FieldDiff("schema", None, "capture the source schema, then apply the selection")
            )
        ctx.changes.append(Create(Kind.CONNECTION, group, name, fields=tuple(fields), desired=spec))
        return
    ctx.ids[f"connection:{group}/{name}"] = live.id
    if live.service != spec.service:
        fields = (FieldDiff("service", live.service, spec.service),)
        ctx.changes.append(
            Update(
                Kind.CONNECTION,
                group,
                name,
                fields,
                live.id,
                replace=True,
                desired=spec,
                existing=live,
            )
        )
        return
    fields = _connection_fields(spec, live)
    fields += plain_diffs(spec.plain, live.config, "config.")
    fields += ctx.secret_diffs(
        Kind.CONNECTION, group, name, live.id, spec.secrets, spec.where, prefix="config."
    )
    if fields:
        ctx.changes.append(
            Update(
                Kind.CONNECTION, group, name, tuple(fields), live.id, desired=spec, existing=live
            )
        )
    if schema_config is None:
        if needs_capture(spec.selection):
            capture = (
                FieldDiff("schema", None, "capture the source schema, then apply the selection"),
            )
            ctx.changes.append(
                Update(
                    Kind.SCHEMA_CONFIG, group, name, capture, live.id, desired=spec, existing=live
                )
            )
        return
    result = diff_selection(spec.selection, schema_config)
    for message in result.warnings:
        ctx.warn(Kind.SCHEMA_CONFIG, group, name, message)
    if not result.empty:
        ctx.changes.append(
            Update(
                Kind.SCHEMA_CONFIG,
                group,
                name,
                tuple(result.fields),
                live.id,
                desired=spec,
                existing=live,
            )
        )
