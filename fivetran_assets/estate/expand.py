"""From validated sections to the concrete `Estate`: templates, defaults and cross-references.

Connection templates: an entry with `for_each` is a template. Each item gives the connection's
`name`, values for the template's variables, and optional overrides of any connection field.
In the template's strings (and the item's), `{variable}` is replaced by the item's value;
`{name}` and `{group}` are always available; `{{` and `}}` write literal braces. References
(`${env:NAME}`) are not variables and are left for apply time. Overrides are merged into the
template key by key (so `config` and `schema` can be partly overridden); other values replace.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fivetran_assets.estate.checks import cron_problem, placeholder_problem, url_problem, walk
from fivetran_assets.estate.errors import Location, Problem, did_you_mean
from fivetran_assets.estate.estate import Connection, Group, Transformation
from fivetran_assets.estate.models import (
    ConnectionFields,
    DagsterSettings,
    GroupModel,
    SharedSelection,
    TransformationModel,
    Webhook,
)
from fivetran_assets.estate.selection import build_selection
from fivetran_assets.estate.source import KeyPath, SourceMap
from fivetran_assets.estate.transformations import build_transformations
from fivetran_assets.estate.validation import display_path, validate
from fivetran_assets.estate.vocabulary import ScheduledBy

_VARIABLE = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
FIELD_KEYS = tuple(f.alias or n for n, f in ConnectionFields.model_fields.items())
BUILTIN_VARIABLES = ("name", "group")


def template_variables(value: Any) -> set[str]:
    """The `{variable}` names used in a value's strings."""
    if isinstance(value, str):
        return {m.group(1) for m in _VARIABLE.finditer(value) if m.group(1)}
    if isinstance(value, dict):
        return set().union(*(template_variables(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(template_variables(v) for v in value))
    return set()


def substitute(value: Any, variables: dict[str, str]) -> Any:
    """Replace `{variable}` in every string (unknown names are left as written)."""
    if isinstance(value, str):

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name is None:
                return match.group(0)[0]
            return variables.get(name, match.group(0))

        return _VARIABLE.sub(one, value)
    if isinstance(value, dict):
        return {k: substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    return value


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass
class Context:
    """What expanding one document needs: the raw data, its source map, shared settings."""

    data: dict[str, Any]
    source: SourceMap
    dagster: DagsterSettings
    shared: dict[str, SharedSelection]
    problems: list[Problem] = field(default_factory=list)
    transformations: dict[str, Transformation] = field(default_factory=dict)

    def problem(self, path: KeyPath, message: str, **extra: Any) -> None:
        self.problems.append(
            Problem(
                message,
                path=display_path(path, self.data),
                location=self.source.locate(path),
                **extra,
            )
        )


def _origin(ctx: Context, origins: tuple[KeyPath, ...], sub: tuple[str | int, ...]) -> KeyPath:
    """The first origin (item, then template) where `sub` was written."""
    for origin in origins:
        if (*origin, *sub) in ctx.source.keys:
            return (*origin, *sub)
    return (*origins[0], *sub)


def _connection(
    ctx: Context, group: GroupModel, written: ConnectionFields, origins: tuple[KeyPath, ...]
) -> Connection | None:
    """Check one expanded connection and build its concrete record."""
    at: Callable[..., KeyPath] = lambda *sub: _origin(ctx, origins, sub)  # noqa: E731
    if written.service is None:
        ctx.problem(origins[0], "missing required key 'service' (in the connection or template)")
        return None
    assert written.name is not None
    config = dict(written.config or {})
    for key in ("schema_prefix", "schema"):
        if key in config:
            ctx.problem(
                at("config", key),
                f"config.{key} comes from the connection's name; remove it",
                value=config[key],
            )
    scheduled_by = written.scheduled_by or ctx.dagster.scheduled_by
    if written.daily_sync_time is not None and written.sync_frequency != 1440:
        ctx.problem(
            at("daily_sync_time"),
            "daily_sync_time is only allowed with sync_frequency 1440",
            value=written.daily_sync_time,
            expected=f"sync_frequency: 1440 (it is {written.sync_frequency or 'not set'})",
        )
    if written.cron is not None:
        if scheduled_by is not ScheduledBy.DAGSTER:
            ctx.problem(
                at("cron"),
                "cron is Dagster's schedule; it needs scheduled_by: dagster",
                value=written.cron,
            )
        elif written.sync_frequency is not None:
            ctx.problem(at("cron"), "give either cron or sync_frequency, not both")
        reason = cron_problem(written.cron)
        if reason:
            ctx.problem(at("cron"), reason, value=written.cron)
    schema_at = at("schema")

    def report(sub: tuple[str, ...], message: str) -> Problem:
        path = _origin(ctx, origins, ("schema", *sub))
        return Problem(
            message,
            path=display_path(path, ctx.data),
            location=ctx.source.locate(path),
        )

    selection, found = build_selection(
        written.selection,
        shared=ctx.shared,
        service=written.service,
        report=report,
        use_location=ctx.source.locate((*schema_at, "use"), value=True),
        use_path=display_path((*schema_at, "use"), ctx.data),
    )
    ctx.problems.extend(found)
    return Connection(
        group=group.name,
        name=written.name,
        service=written.service,
        config=config,
        selection=selection,
        scheduled_by=scheduled_by,
        paused=bool(written.paused),
        sync_frequency=written.sync_frequency,
        daily_sync_time=written.daily_sync_time,
        cron=written.cron,
        description=written.description,
        owners=tuple(written.owners or group.owners or ctx.dagster.owners),
        tags={**ctx.dagster.tags, **(group.tags or {}), **(written.tags or {})},
        members=None if written.members is None else tuple(written.members),
        certificates=None if written.certificates is None else tuple(written.certificates),
        fingerprints=None if written.fingerprints is None else tuple(written.fingerprints),
        path=display_path(origins[0], ctx.data),
        location=ctx.source.locate(origins[0]),
    )


def _expand_entry(
    ctx: Context, group: GroupModel, raw: dict[str, Any], entry_path: KeyPath
) -> list[Connection]:
    template = {k: v for k, v in raw.items() if k != "for_each"}
    if "for_each" not in raw or raw["for_each"] is None:
        if "name" not in template:
            ctx.problem(entry_path, "missing required key 'name' (or a for_each list)")
            return []
        written, _ = validate(
            ConnectionFields, template, prefix=entry_path, data=ctx.data, source=ctx.source
        )
        built = _connection(ctx, group, written, (entry_path,)) if written else None
        return [built] if built else []
    if "name" in template:
        ctx.problem(
            (*entry_path, "name"),
            "a template takes its names from its for_each items; remove 'name' here",
        )
    _check_placeholders(ctx, raw, entry_path)
    used = template_variables(template)
    connections = []
    for index, item in enumerate(raw["for_each"]):
        item_path = (*entry_path, "for_each", index)
        if not isinstance(item, dict):
            ctx.problem(item_path, "a for_each item must be a mapping", value=item)
            continue
        built = _expand_item(ctx, group, template, used, item, item_path, entry_path)
        if built is not None:
            connections.append(built)
    return connections


def _check_placeholders(ctx: Context, raw: dict[str, Any], entry_path: KeyPath) -> None:
    """Every string of a template and its items has balanced `{variable}` braces."""
    for sub, value in walk(raw):
        if isinstance(value, str):
            reason = placeholder_problem(value)
            if reason:
                ctx.problem((*entry_path, *sub), reason, value=value)


def _expand_item(
    ctx: Context,
    group: GroupModel,
    template: dict[str, Any],
    used: set[str],
    item: dict[str, Any],
    item_path: KeyPath,
    entry_path: KeyPath,
) -> Connection | None:
    overrides = {k: v for k, v in item.items() if k in FIELD_KEYS}
    variables = {k: v for k, v in item.items() if k not in FIELD_KEYS}
    ok = True
    for key, value in variables.items():
        if key not in used:
            hint = did_you_mean(key, [*FIELD_KEYS, *sorted(used)])
            ctx.problem(
                (*item_path, key),
                f"unknown key '{key}'{hint}: it is neither a connection field nor a "
                "variable the template uses",
                expected="template variables: "
                + (", ".join(sorted(used - set(BUILTIN_VARIABLES))) or "(none)"),
            )
            ok = False
        elif not isinstance(value, str | int | float) or isinstance(value, bool):
            ctx.problem(
                (*item_path, key), "a template variable must be text or a number", value=value
            )
            ok = False
    if "name" not in item:
        ctx.problem(item_path, "missing required key 'name' in this for_each item")
        return None
    checked, problems = validate(
        ConnectionFields, overrides, prefix=item_path, data=ctx.data, source=ctx.source
    )
    ctx.problems.extend(problems)
    values = {
        "group": group.name,
        **{k: str(v) for k, v in variables.items()},
        "name": item["name"],
    }
    for missing in sorted(used - values.keys()):
        ctx.problem(
            item_path,
            f"the template uses {{{missing}}} but this item does not set '{missing}'",
            expected=f"'{missing}: ...' in the item, or {{{{{missing}}}}} for literal braces",
        )
        ok = False
    if checked is None or not ok:
        return None
    merged = deep_merge(substitute(template, values), substitute(overrides, values))
    written, problems = validate(
        ConnectionFields, merged, prefix=item_path, data=ctx.data, source=ctx.source
    )
    ctx.problems.extend(problems)
    if written is None:
        return None
    return _connection(ctx, group, written, (item_path, entry_path))


def _written_names(ctx: Context, group_path: KeyPath) -> dict[str, KeyPath]:
    """Every connection name written in a group, valid or not, reporting duplicates.

    Working from what was written means a broken connection is neither missed as a duplicate
    nor reported as unknown where a transformation follows it.
    """
    entries = ctx.data["groups"][group_path[1]].get("connections") or []
    names: dict[str, KeyPath] = {}
    for entry_index, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, dict):
            continue
        entry_path = (*group_path, "connections", entry_index)
        items = entry.get("for_each")
        if isinstance(items, list):
            written = [(i, (*entry_path, "for_each", n)) for n, i in enumerate(items)]
        else:
            written = [(entry, entry_path)]
        for item, path in written:
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str):
                continue
            if name in names:
                first = names[name]
                ctx.problem(
                    path,
                    f"duplicate connection name '{name}' in this group (it is the schema name, "
                    "unique per group)",
                    related=(
                        (
                            f"first defined at {display_path(first, ctx.data)}",
                            ctx.source.locate(first) or Location(None),
                        ),
                    ),
                )
                continue
            names[name] = path
    return names


def build_group(
    ctx: Context,
    index: int,
    group: GroupModel,
    *,
    webhooks: list[tuple[int, Webhook]],
    entries: set[int],
    transformations: list[tuple[int, TransformationModel]],
) -> Group:
    """Expand one group into its concrete record; only the valid list items are passed in."""
    group_path: KeyPath = ("groups", index)
    raw = ctx.data["groups"][index]
    names = _written_names(ctx, group_path)
    connections: list[Connection] = []
    for entry_index, entry in enumerate(raw.get("connections") or []):
        if entry_index not in entries:
            continue
        for connection in _expand_entry(
            ctx, group, entry, (*group_path, "connections", entry_index)
        ):
            if connection.path == display_path(names[connection.name], ctx.data):
                connections.append(connection)
    urls: dict[str, int] = {}
    for hook_index, webhook in webhooks:
        hook_path = (*group_path, "webhooks", hook_index)
        reason = url_problem(webhook.url)
        if reason:
            ctx.problem((*hook_path, "url"), f"webhook url: {reason}", value=webhook.url)
        if webhook.url in urls:
            first_path = (*group_path, "webhooks", urls[webhook.url])
            ctx.problem(
                (*hook_path, "url"),
                f"duplicate webhook url in group '{group.name}' (webhooks are identified by url)",
                related=(("first defined at", ctx.source.locate(first_path) or Location(None)),),
            )
        urls.setdefault(webhook.url, hook_index)
    built = build_transformations(ctx, group, group_path, transformations, list(names))
    return Group(
        name=group.name,
        destination=group.destination,
        webhooks=tuple(webhook for _, webhook in webhooks),
        connections=tuple(connections),
        transformation_project=group.transformation_project,
        transformations=tuple(built),
        description=group.description,
        owners=tuple(group.owners or ctx.dagster.owners),
        tags={**ctx.dagster.tags, **(group.tags or {})},
        members=None if group.members is None else tuple(group.members),
        log_service=group.log_service,
        path=display_path(group_path, ctx.data),
        location=ctx.source.locate(group_path),
        key_prefix=tuple(group.key_prefix),
    )
