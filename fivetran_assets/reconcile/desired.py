"""The desired state: the loaded Estate turned into the specs the differ and applier work with.

Each spec says what one Fivetran resource should look like, in API vocabulary (`schedule_type`,
`project_config`, ...), with secret leaves kept as the reference text written in the config. URLs
and paths with references (a webhook URL, a dbt project location) are configuration and are
resolved here; secrets are resolved only to fingerprint (plan) or send (apply) them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fivetran_assets.estate.checks import checked_url
from fivetran_assets.estate.estate import Connection, Estate, Selection, Transformation
from fivetran_assets.estate.references import Environment, has_reference
from fivetran_assets.estate.vocabulary import ScheduledBy, TransformationMode
from fivetran_assets.reconcile.values import resolve_text, split_secrets


@dataclass(frozen=True)
class DestinationSpec:
    group: str
    service: str
    time_zone_offset: str
    region: str | None = None
    plain: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    trust_certificates: bool | None = None
    trust_fingerprints: bool | None = None
    where: str = ""


@dataclass(frozen=True)
class WebhookSpec:
    group: str
    url: str
    events: tuple[str, ...]
    active: bool = True
    secret: str | None = None
    where: str = ""


@dataclass(frozen=True)
class ConnectionSpec:
    """A connection; `schedule_type` is manual when Dagster schedules it."""

    group: str
    name: str
    service: str
    schedule_type: str
    paused: bool
    selection: Selection
    sync_frequency: int | None = None
    daily_sync_time: str | None = None
    plain: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    where: str = ""


@dataclass(frozen=True)
class ProjectSpec:
    """The group's dbt project. `env_vars` holds `NAME=value` lines as written (may be secret)."""

    group: str
    project_config: Mapping[str, Any]
    env_vars: tuple[str, ...] = ()
    run_tests: bool = False
    where: str = ""

    @property
    def env_vars_secret(self) -> bool:
        return any(has_reference(line) for line in self.env_vars)


@dataclass(frozen=True)
class TransformationSpec:
    """A transformation; `schedule` names connections (`connections`), not ids."""

    group: str
    name: str
    steps: tuple[tuple[str, str], ...]
    schedule: Mapping[str, Any]
    paused: bool
    where: str = ""


@dataclass(frozen=True)
class GroupSpec:
    name: str
    destination: DestinationSpec
    webhooks: tuple[WebhookSpec, ...] = ()
    connections: tuple[ConnectionSpec, ...] = ()
    project: ProjectSpec | None = None
    transformations: tuple[TransformationSpec, ...] = ()


def schedule_type_for(scheduled_by: ScheduledBy) -> str:
    """Dagster-scheduled connections are `manual` in Fivetran, so only Dagster triggers syncs."""
    return "manual" if scheduled_by is ScheduledBy.DAGSTER else "auto"


def _connection(connection: Connection) -> ConnectionSpec:
    plain, secrets = split_secrets(dict(connection.config))
    plain.pop("schema_prefix", None)
    return ConnectionSpec(
        group=connection.group,
        name=connection.name,
        service=connection.service,
        schedule_type=schedule_type_for(connection.scheduled_by),
        paused=connection.paused,
        selection=connection.selection,
        sync_frequency=connection.sync_frequency,
        daily_sync_time=connection.daily_sync_time,
        plain=plain,
        secrets=secrets,
        where=connection.path,
    )


def transformation_schedule(transformation: Transformation) -> dict[str, Any]:
    """The seed's three modes in Fivetran's schedule vocabulary (connections still by name).

    integrated -> INTEGRATED after the listed connections; partially integrated -> INTERVAL with
    `smart_syncing` and the connections (the definition takes `connection_ids` on INTEGRATED, or
    on INTERVAL/TIME_OF_DAY with smart syncing: the only way to say "after syncs and every N
    minutes"); independent -> INTERVAL or TIME_OF_DAY (with days, smart syncing off) or CRON.
    """
    schedule = transformation.schedule
    if schedule.mode is TransformationMode.INTEGRATED:
        return {"schedule_type": "INTEGRATED", "connections": sorted(schedule.connections or [])}
    if schedule.mode is TransformationMode.PARTIALLY_INTEGRATED:
        return {
            "schedule_type": "INTERVAL",
            "interval": schedule.interval,
            "smart_syncing": True,
            "connections": sorted(schedule.connections or []),
        }
    if schedule.cron:
        return {"schedule_type": "CRON", "cron": [schedule.cron]}
    if schedule.time_of_day:
        days = [d.value for d in schedule.days_of_week or []]
        return {
            "schedule_type": "TIME_OF_DAY",
            "time_of_day": schedule.time_of_day,
            "days_of_week": days,
            "smart_syncing": False,
        }
    return {"schedule_type": "INTERVAL", "interval": schedule.interval, "smart_syncing": False}


def _transformation(transformation: Transformation) -> TransformationSpec:
    steps = tuple(
        (step.name or step.command.split()[1], step.command) for step in transformation.steps
    )
    # Dagster-scheduled transformations stay paused in Fivetran: they run only when Dagster asks.
    paused = transformation.paused or transformation.scheduled_by is ScheduledBy.DAGSTER
    return TransformationSpec(
        group=transformation.group,
        name=transformation.name,
        steps=steps,
        schedule=transformation_schedule(transformation),
        paused=paused,
        where=transformation.path,
    )


def _git_location(url: str, estate: Estate, environment: Environment, where: str) -> str:
    """A git URL as written, or a local project path made absolute against the project root."""
    value = resolve_text(url, environment, where=where)
    if "://" in value or value.startswith("git@"):
        return value
    return str(estate.project_path(value).resolve())


def desired_groups(estate: Estate, environment: Environment) -> dict[str, GroupSpec]:
    """Every group of the estate as specs, keyed by group name."""
    groups: dict[str, GroupSpec] = {}
    for group in estate.groups:
        dest = group.destination
        plain, secrets = split_secrets(dict(dest.config))
        destination = DestinationSpec(
            group=group.name,
            service=dest.service,
            time_zone_offset=dest.time_zone_offset,
            region=dest.region.value if dest.region is not None else None,
            plain=plain,
            secrets=secrets,
            trust_certificates=dest.trust_certificates,
            trust_fingerprints=dest.trust_fingerprints,
            where=f"{group.path}.destination",
        )
        webhooks = tuple(
            WebhookSpec(
                group=group.name,
                url=checked_url(
                    resolve_text(hook.url, environment, where=f"{group.path}.webhooks[{i}].url"),
                    where=f"{group.path}.webhooks[{i}].url",
                ),
                events=tuple(sorted(e.value for e in hook.events)),
                active=hook.active,
                secret=hook.secret,
                where=f"{group.path}.webhooks[{i}]",
            )
            for i, hook in enumerate(group.webhooks)
        )
        project = None
        if group.transformation_project is not None:
            tp = group.transformation_project
            where = f"{group.path}.transformation_project"
            config: dict[str, Any] = {
                "git_remote_url": _git_location(tp.git_remote_url, estate, environment, where),
                "default_schema": tp.default_schema,
                "threads": tp.threads,
            }
            for key in ("git_branch", "folder_path", "target_name", "dbt_version"):
                value = getattr(tp, key)
                if value is not None:
                    config[key] = value
            env_vars = tuple(sorted(f"{k}={v}" for k, v in tp.environment_vars.items()))
            project = ProjectSpec(group.name, config, env_vars, tp.run_tests, where)
        groups[group.name] = GroupSpec(
            name=group.name,
            destination=destination,
            webhooks=webhooks,
            connections=tuple(_connection(c) for c in group.connections),
            project=project,
            transformations=tuple(_transformation(t) for t in group.transformations),
        )
    return groups
