"""Live Fivetran records in the config's vocabulary: what each resource is written as.

Each function takes typed records from the client and returns the plain data of one config
entry, exactly as `config/README.md` documents it, declaring what the reconciler compares so
that `plan` on the result is empty: declared values are the live ones, defaults are left out.
What the config cannot express is not written; the reason is added to `skipped` (printed, and
kept in the file's header) so nothing is dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fivetran_assets.estate.models import HHMM_PATTERN, NAME_PATTERN
from fivetran_assets.estate.vocabulary import (
    SINGLE_SCHEMA_SOURCES,
    SYNC_FREQUENCIES,
    TIME_ZONE_OFFSETS,
    Region,
    WebhookEvent,
    Weekday,
)
from fivetran_assets.fivetran.enums import ScheduleType, SyncMode, TransformationScheduleType
from fivetran_assets.fivetran.models import Connection, ConnectorType, Destination, Webhook
from fivetran_assets.fivetran.schema_config import SchemaConfig, TableSettings
from fivetran_assets.fivetran.transformations import Transformation, TransformationProject
from fivetran_assets.importer.secrets import Secrets, is_secret_leaf, key_part, name_part
from fivetran_assets.reconcile.values import flatten, unflatten

GROUP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
STEP_COMMAND = re.compile(r"^dbt\s+\S")


class Masked:
    """A config leaf Fivetran masks: written as `${env:...}` once its variable is named."""

    def __repr__(self) -> str:
        return "MASKED"


MASKED = Masked()


@dataclass
class Skipped:
    """What an import leaves out, each with the reason (the config cannot express it)."""

    items: list[str] = field(default_factory=list)

    def add(self, what: str, reason: str) -> None:
        self.items.append(f"{what}: {reason}")


def _value(enum_or_str: Any) -> Any:
    return getattr(enum_or_str, "value", enum_or_str)


def escaped(value: Any) -> Any:
    """A read value as config text: a literal `${` is written `$${` (not a reference)."""
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, Mapping):
        return {k: escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [escaped(v) for v in value]
    return value


def secret_leaves(config: Mapping[str, Any]) -> dict[str, Any]:
    """Flattened config (dotted paths, as the reconciler compares it), credentials MASKED."""
    return {
        path: MASKED if is_secret_leaf(path.rsplit(".", 1)[-1], value) else value
        for path, value in flatten(config).items()
    }


def with_references(
    leaves: Mapping[str, Any], secrets: Secrets, variable: str, where: str
) -> dict[str, Any]:
    """Leaves back to nested config; MASKED ones become `${env:<variable>_<KEY>}`."""
    out: dict[str, Any] = {}
    for path, value in leaves.items():
        if value is MASKED:
            out[path] = secrets.add(f"{variable}_{key_part(path)}", f"{where} config.{path}")
        else:
            out[path] = escaped(value)
    return unflatten(out)


# ------------------------------------------------------------------------------- groups


def group_problem(name: str) -> str | None:
    if not GROUP_NAME.match(name):
        return "its name is not a valid config group name (letters, digits, underscores)"
    return None


def written_destination(
    destination: Destination, group: str, secrets: Secrets, skipped: Skipped
) -> dict[str, Any]:
    out: dict[str, Any] = {"service": destination.service}
    region = destination.region
    if region in {r.value for r in Region}:
        out["region"] = region
    elif region:
        skipped.add(f"group {group} destination region", f"'{region}' is not a known region")
    offset = _offset(destination.time_zone_offset)
    if offset in TIME_ZONE_OFFSETS:
        out["time_zone_offset"] = offset
    leaves = secret_leaves(destination.config)
    if leaves:
        variable = f"{name_part(group)}_DESTINATION"
        out["config"] = with_references(leaves, secrets, variable, f"group {group} destination")
    return out


def _offset(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip().lstrip("+")
    if text in ("0", "-0", ""):
        return "0"
    return text if text.startswith("-") else f"+{text}"


def written_webhooks(
    hooks: tuple[Webhook, ...], group: str, secrets: Secrets, skipped: Skipped
) -> list[dict[str, Any]]:
    """Group webhooks, one per URL (identity is (group, url)); unknown events are left out."""
    known = {e.value for e in WebhookEvent}
    written: list[dict[str, Any]] = []
    urls: set[str] = set()
    for hook in sorted(hooks, key=lambda h: (h.url, h.created_at is None, h.created_at, h.id)):
        if hook.url in urls:
            skipped.add(f"group {group} webhook {hook.id}", f"a second webhook for {hook.url}")
            continue
        urls.add(hook.url)
        events = [str(_value(e)) for e in hook.events]
        unknown = [e for e in events if e not in known]
        if unknown:
            skipped.add(f"group {group} webhook {hook.url} events", ", ".join(unknown))
        entry: dict[str, Any] = {
            "url": escaped(hook.url),
            "events": [e for e in events if e in known],
        }
        if hook.has_secret:
            suffix = "" if not written else f"_{len(written) + 1}"
            where = f"group {group} webhook {hook.url} secret"
            entry["secret"] = secrets.add(f"{name_part(group)}_WEBHOOK_SECRET{suffix}", where)
        if not hook.active:
            entry["active"] = False
        if entry["events"]:
            written.append(entry)
        else:
            skipped.add(f"group {group} webhook {hook.url}", "none of its events is known")
    return written


# -------------------------------------------------------------------------- connections


@dataclass
class ConnectionRecord:
    """One live connection in config terms, before templates are found.

    `leaves` is the flattened config (without `schema_prefix`, secrets MASKED); `fields` the
    scheduling settings it declares; `selection` its schema selection as written (None when
    the source schema was never captured); `known` whether Fivetran describes the service.
    """

    group: str
    name: str
    service: str
    leaves: dict[str, Any]
    fields: dict[str, Any]
    selection: dict[str, Any] | None
    known: bool
    notes: list[str] = field(default_factory=list)


def connection_record(
    group: str,
    connection: Connection,
    schema_config: SchemaConfig | None,
    service: ConnectorType | None,
    skipped: Skipped,
) -> ConnectionRecord | None:
    name = connection.schema
    if not re.match(NAME_PATTERN, name):
        skipped.add(f"connection {group}/{name}", "its name is not a valid config name")
        return None
    config = dict(connection.config)
    config.pop("schema_prefix", None)
    notes: list[str] = []
    if "schema" in config and config.pop("schema") != name:
        notes.append("config.schema is left out: the config takes it from the name")
    if service is not None and service.config_properties:
        extra = sorted(k for k in config if k not in service.config_properties)
        for key in extra:
            config.pop(key)
        if extra:
            notes.append(f"read-only fields left out: {', '.join(extra)}")
    fields: dict[str, Any] = {}
    if connection.sync_frequency in SYNC_FREQUENCIES:
        fields["sync_frequency"] = connection.sync_frequency
        daily = connection.daily_sync_time
        if connection.sync_frequency == 1440 and daily and re.match(HHMM_PATTERN, daily):
            fields["daily_sync_time"] = daily
    if connection.schedule_type == ScheduleType.MANUAL:
        fields["scheduled_by"] = "dagster"
    if connection.paused:
        fields["paused"] = True
    return ConnectionRecord(
        group=group,
        name=name,
        service=connection.service,
        leaves=secret_leaves(config),
        fields=fields,
        selection=written_selection(connection.service, schema_config),
        known=service is not None,
        notes=notes,
    )


def _table(table: TableSettings) -> dict[str, Any]:
    rule: dict[str, Any] = {}
    if not table.enabled:
        rule["enabled"] = False
    mode = _value(table.sync_mode)
    if mode is not None and mode != SyncMode.SOFT_DELETE.value:
        rule["sync_mode"] = mode
    columns: dict[str, Any] = {}
    for name, column in sorted(table.columns.items()):
        if not column.enabled:
            columns[name] = {"enabled": False}
        elif column.hashed:
            columns[name] = {"hashed": True}
    if columns:
        rule["columns"] = columns
    return rule


def written_selection(service: str, config: SchemaConfig | None) -> dict[str, Any] | None:
    """What a schema config deviates from Fivetran's defaults in: the selection to declare.

    Schema change handling, disabled schemas and tables, non-default sync modes, blocked and
    hashed columns. A single-schema source (sqlite: `main`) uses `tables`.
    """
    if config is None:
        return None
    selection: dict[str, Any] = {}
    if config.schema_change_handling is not None:
        selection["schema_change_handling"] = _value(config.schema_change_handling)
    schemas: dict[str, Any] = {}
    for schema_name, schema in sorted(config.schemas.items()):
        rule: dict[str, Any] = {} if schema.enabled else {"enabled": False}
        tables = {t: r for t, r in ((n, _table(t)) for n, t in sorted(schema.tables.items())) if r}
        if tables:
            rule["tables"] = tables
        if rule:
            schemas[schema_name] = rule
    only = SINGLE_SCHEMA_SOURCES.get(service)
    if only is not None and list(config.schemas) == [only] and set(schemas) <= {only}:
        tables = schemas.get(only, {}).get("tables")
        if tables and "enabled" not in schemas[only]:
            selection["tables"] = tables
            return selection
    if schemas:
        selection["schemas"] = schemas
    return selection


# ----------------------------------------------------------------------- transformations


def written_project(
    project: TransformationProject, group: str, secrets: Secrets, skipped: Skipped
) -> dict[str, Any] | None:
    pc = project.project_config
    what = f"group {group} transformation project"
    if _value(project.type) not in (None, "DBT_CORE"):
        skipped.add(what, f"type {_value(project.type)} (only DBT_CORE is supported)")
        return None
    if not pc.git_remote_url or not pc.default_schema:
        skipped.add(what, "it has no git_remote_url or default_schema")
        return None
    if not re.match(NAME_PATTERN, pc.default_schema):
        skipped.add(what, f"default_schema '{pc.default_schema}' is not a valid config name")
        return None
    out: dict[str, Any] = {
        "git_remote_url": escaped(pc.git_remote_url),
        "default_schema": pc.default_schema,
    }
    if pc.threads is not None:
        out["threads"] = pc.threads
    for key in ("git_branch", "folder_path", "target_name", "dbt_version"):
        value = getattr(pc, key)
        if value:
            out[key] = escaped(value)
    env_vars: dict[str, Any] = {}
    for line in pc.environment_vars:
        variable, _, value = line.partition("=")
        if is_secret_leaf(variable, value):
            infix = "" if variable.upper().startswith("DBT_") else "DBT_"
            name = f"{name_part(group)}_{infix}{name_part(variable)}"
            env_vars[variable] = secrets.add(name, f"{what} environment_vars.{variable}")
        else:
            env_vars[variable] = escaped(value)
    if env_vars:
        out["environment_vars"] = env_vars
    return out


def written_steps(transformation: Transformation) -> list[Any] | None:
    """Steps as commands when their names are the ones the config would give; else named."""
    commands = [s.command for s in transformation.steps]
    if not commands or not all(STEP_COMMAND.match(c) for c in commands):
        return None
    defaults: list[str] = []
    for command in commands:
        base, counter = command.split()[1], 2
        name = base
        while name in defaults:
            name, counter = f"{base}_{counter}", counter + 1
        defaults.append(name)
    if defaults == [s.name for s in transformation.steps]:
        return commands
    return [{"name": s.name, "command": s.command} for s in transformation.steps]


def written_schedule(
    transformation: Transformation, names_by_id: Mapping[str, str]
) -> tuple[dict[str, Any] | None, str]:
    """The config schedule of a live one, or (None, why it cannot be written)."""
    schedule = transformation.schedule
    kind = _value(schedule.schedule_type)
    if kind == TransformationScheduleType.INTEGRATED:
        names = sorted(names_by_id[i] for i in schedule.connection_ids if i in names_by_id)
        if not names:
            return None, "its integrated schedule follows no connection of its group"
        if len(names) < len(schedule.connection_ids):
            return None, "its schedule follows connections outside its group"
        if schedule.interval:
            return {
                "mode": "partially_integrated",
                "connections": names,
                "interval": schedule.interval,
            }, ""
        return {"mode": "integrated", "connections": names}, ""
    if kind == TransformationScheduleType.INTERVAL and schedule.interval:
        return {"mode": "independent", "interval": schedule.interval}, ""
    if kind == TransformationScheduleType.TIME_OF_DAY and schedule.time_of_day:
        days = list(schedule.days_of_week)
        if any(d not in {w.value for w in Weekday} for d in days):
            return None, f"unknown days_of_week {days}"
        out: dict[str, Any] = {"mode": "independent", "time_of_day": schedule.time_of_day}
        if days:
            out["days_of_week"] = days
        return out, ""
    if kind == TransformationScheduleType.CRON and len(schedule.cron) == 1:
        return {"mode": "independent", "cron": schedule.cron[0]}, ""
    return None, f"its schedule ({kind}) cannot be written as a config schedule"


def written_transformation(
    transformation: Transformation, group: str, names_by_id: Mapping[str, str], skipped: Skipped
) -> dict[str, Any] | None:
    name = transformation.name or transformation.id
    what = f"transformation {group}/{name}"
    if _value(transformation.type) not in (None, "DBT_CORE"):
        skipped.add(what, f"type {_value(transformation.type)} (only DBT_CORE is supported)")
        return None
    if not re.match(NAME_PATTERN, name):
        skipped.add(what, "its name is not a valid config name")
        return None
    steps = written_steps(transformation)
    if steps is None:
        skipped.add(what, "it has no steps, or a step that is not a dbt command")
        return None
    schedule, reason = written_schedule(transformation, names_by_id)
    if schedule is None:
        skipped.add(what, reason)
        return None
    out: dict[str, Any] = {"name": name, "steps": steps, "schedule": schedule}
    if transformation.paused:
        out["paused"] = True
    return out
