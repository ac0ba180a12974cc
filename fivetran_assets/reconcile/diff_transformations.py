"""Diff a group's transformation project and transformations against the live ones.

The project is compared by its declared `project_config` fields (environment variables by
fingerprint when they hold references); a transformation by its steps, paused flag and
schedule, with the schedule's connection ids read back as connection names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fivetran_assets.fivetran.transformations import Transformation, TransformationProject
from fivetran_assets.reconcile.desired import ProjectSpec, TransformationSpec
from fivetran_assets.reconcile.diff_context import ENV_VARS_PATH, DiffContext, field_diff
from fivetran_assets.reconcile.plan import Create, FieldDiff, Kind, Update


def diff_project(ctx: DiffContext, spec: ProjectSpec, live: TransformationProject | None) -> None:
    group = spec.group
    secrets = {ENV_VARS_PATH: "\n".join(spec.env_vars)} if spec.env_vars_secret else {}
    if live is None:
        fields = [
            FieldDiff(f"project_config.{k}", None, v)
            for k, v in sorted(spec.project_config.items())
        ]
        if spec.env_vars and not secrets:
            fields.append(FieldDiff(ENV_VARS_PATH, None, list(spec.env_vars)))
        fields += ctx.secret_diffs(
            Kind.TRANSFORMATION_PROJECT, group, "", None, secrets, spec.where
        )
        ctx.changes.append(
            Create(Kind.TRANSFORMATION_PROJECT, group, fields=tuple(fields), desired=spec)
        )
        return
    ctx.ids[f"project:{group}"] = live.id
    config = live.project_config
    fields = []
    for key, value in sorted(spec.project_config.items()):
        fields += field_diff(f"project_config.{key}", getattr(config, key, None), value)
    if not secrets:
        fields += field_diff(ENV_VARS_PATH, sorted(config.environment_vars), list(spec.env_vars))
    fields += ctx.secret_diffs(Kind.TRANSFORMATION_PROJECT, group, "", live.id, secrets, spec.where)
    if fields:
        ctx.changes.append(
            Update(
                Kind.TRANSFORMATION_PROJECT,
                group,
                "",
                tuple(fields),
                live.id,
                desired=spec,
                existing=live,
            )
        )


def live_schedule(live: Transformation, names_by_id: Mapping[str, str]) -> dict[str, Any]:
    """A live schedule in the desired spec's vocabulary (connection names instead of ids)."""
    schedule = live.schedule
    kind = getattr(schedule.schedule_type, "value", schedule.schedule_type)
    return {
        "schedule_type": kind,
        "connections": sorted(names_by_id.get(i, i) for i in schedule.connection_ids),
        "interval": schedule.interval,
        "time_of_day": schedule.time_of_day,
        "days_of_week": list(schedule.days_of_week),
        "cron": list(schedule.cron),
        "smart_syncing": bool(schedule.smart_syncing),  # unset reads as off
    }


def diff_transformation(
    ctx: DiffContext,
    spec: TransformationSpec,
    live: Transformation | None,
    names_by_id: Mapping[str, str],
) -> None:
    group, name = spec.group, spec.name
    steps = [f"{n}: {c}" for n, c in spec.steps]
    if live is None:
        fields = [FieldDiff("steps", None, steps), FieldDiff("paused", None, spec.paused)]
        fields += [FieldDiff(f"schedule.{k}", None, v) for k, v in sorted(spec.schedule.items())]
        ctx.changes.append(
            Create(Kind.TRANSFORMATION, group, name, fields=tuple(fields), desired=spec)
        )
        return
    fields = field_diff("steps", [f"{s.name}: {s.command}" for s in live.steps], steps)
    fields += field_diff("paused", live.paused, spec.paused)
    current = live_schedule(live, names_by_id)
    for key, value in sorted(spec.schedule.items()):
        fields += field_diff(f"schedule.{key}", current.get(key), value)
    if fields:
        ctx.changes.append(
            Update(
                Kind.TRANSFORMATION,
                group,
                name,
                tuple(fields),
                live.id,
                desired=spec,
                existing=live,
            )
        )
