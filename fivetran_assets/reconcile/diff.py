"""Diff the desired state against the live estate: `compute_plan(...) -> Plan`.

Identity is by name, never by a state file: a group by name; its destination; a webhook by
(group, url); a connection by (group, schema name); the group's transformation project; a
transformation by (group, name). Only declared values are compared. Secrets are compared by
keyed fingerprint (Fivetran masks them on read). Live resources the config does not declare,
inside managed groups, are unmanaged, or deletions when pruning; groups the config does not
name are listed and never touched. A group whose destination service changed moves to a new
group (`moves.py`).
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
from fivetran_assets.reconcile.plan import Create, FieldDiff, Kind, Plan, Unmanaged, Update
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


def _by_identity(ctx: DiffContext, kind: Kind, group: str, items: Any, key: Any) -> dict[str, Any]:
    """Live items by identity; a second item with the same identity (a duplicate some earlier
    tool created) is not managed: it is listed as unmanaged, or deleted when pruning."""
    found: dict[str, Any] = {}
    for item in items:
        name = key(item)
        if name in found:
            ctx.leftover(kind, group, name, item.id, item)
        else:
            found[name] = item
    return found


def _diff_group(ctx: DiffContext, spec: GroupSpec, live: LiveGroup | None) -> None:
    _diff_destination(ctx, spec.destination, live.destination if live else None)
    hooks = live.webhooks if live else ()
    live_hooks = _by_identity(ctx, Kind.WEBHOOK, spec.name, hooks, lambda w: w.url)
    for hook in spec.webhooks:
        _diff_webhook(ctx, hook, live_hooks.pop(hook.url, None))
    for url, hook in sorted(live_hooks.items()):
        ctx.leftover(Kind.WEBHOOK, spec.name, url, hook.id, hook)
    live_connections = {c.schema: c for c in live.connections} if live else {}
    names_by_id = {c.id: c.schema for c in live_connections.values()}
    for connection in spec.connections:
        found = live_connections.pop(connection.name, None)
        schema_config = live.schema_configs.get(found.id) if live and found else None
        _diff_connection(ctx, connection, found, schema_config)
    for name, connection in sorted(live_connections.items()):
        ctx.leftover(Kind.CONNECTION, spec.name, name, connection.id, connection)
    projects = list(live.projects) if live else []
    if spec.project is not None:
        diff_project(ctx, spec.project, projects.pop(0) if projects else None)
    for project in projects:
        ctx.leftover(Kind.TRANSFORMATION_PROJECT, spec.name, project.id, project.id, project)
    transformations = live.transformations if live else ()
    live_transformations = _by_identity(
        ctx, Kind.TRANSFORMATION, spec.name, transformations, lambda t: t.name or t.id
    )
    for transformation in spec.transformations:
        found_t = live_transformations.pop(transformation.name, None)
        diff_transformation(ctx, transformation, found_t, names_by_id)
    for name, transformation in sorted(live_transformations.items()):
        ctx.leftover(Kind.TRANSFORMATION, spec.name, name, transformation.id, transformation)


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
