"""Transformations: the seed's three scheduling modes, step names, and connection references.

integrated: runs after the listed connections' syncs (`schedule.connections`, required);
partially_integrated: that, plus its own `interval`; independent: exactly one of `interval`,
`time_of_day` (with optional `days_of_week`) or `cron`, and no connections. Connections are named
as in the same group; an unknown name is an error with the nearest valid one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fivetran_assets.estate.checks import cron_problem
from fivetran_assets.estate.errors import Location, did_you_mean
from fivetran_assets.estate.estate import Transformation
from fivetran_assets.estate.models import GroupModel, Schedule, Step, TransformationModel
from fivetran_assets.estate.source import KeyPath
from fivetran_assets.estate.validation import display_path
from fivetran_assets.estate.vocabulary import TransformationMode

if TYPE_CHECKING:
    from fivetran_assets.estate.expand import Context

_CLOCKS = ("interval", "time_of_day", "cron")


def _schedule_checks(ctx: Context, schedule: Schedule, path: KeyPath, names: list[str]) -> None:
    mode = schedule.mode
    here = (*path, "schedule")
    set_clocks = [c for c in _CLOCKS if getattr(schedule, c) is not None]
    if mode is TransformationMode.INDEPENDENT:
        if len(set_clocks) != 1:
            ctx.problem(
                here,
                f"an independent schedule needs exactly one of {', '.join(_CLOCKS)}"
                + (f" (got {', '.join(set_clocks)})" if set_clocks else ""),
            )
        if schedule.connections:
            ctx.problem(
                (*here, "connections"),
                "an independent schedule follows no connections; use mode integrated or "
                "partially_integrated",
            )
    else:
        if not schedule.connections:
            ctx.problem(
                here,
                f"a {mode.value} schedule needs 'connections': the connections it runs after",
                expected="connections: [<connection name>, ...]",
            )
        allowed = ("interval",) if mode is TransformationMode.PARTIALLY_INTEGRATED else ()
        for clock in set_clocks:
            if clock not in allowed:
                ctx.problem(
                    (*here, clock),
                    f"'{clock}' is not used by a {mode.value} schedule"
                    + (" (only interval is)" if allowed else ""),
                )
        if mode is TransformationMode.PARTIALLY_INTEGRATED and schedule.interval is None:
            ctx.problem(
                here,
                "a partially_integrated schedule needs an 'interval' (minutes) besides its "
                "connections",
            )
    if schedule.time_of_day is not None and schedule.time_of_day[3:] not in ("00", "30"):
        ctx.problem(
            (*here, "time_of_day"),
            "Fivetran runs transformations on the hour or the half hour",
            value=schedule.time_of_day,
            expected="'HH:00' or 'HH:30' (UTC)",
        )
    if schedule.days_of_week is not None and schedule.time_of_day is None:
        ctx.problem((*here, "days_of_week"), "days_of_week is only used with time_of_day")
    if schedule.cron is not None:
        reason = cron_problem(schedule.cron)
        if reason:
            ctx.problem((*here, "cron"), reason, value=schedule.cron)
    seen: set[str] = set()
    for index, name in enumerate(schedule.connections or []):
        if name in seen:
            ctx.problem((*here, "connections", index), f"connection '{name}' is listed twice")
        seen.add(name)
        if name not in names:
            ctx.problem(
                (*here, "connections", index),
                f"unknown connection '{name}'{did_you_mean(name, names)}",
                value=name,
                expected=f"a connection of this group: {', '.join(names) or '(none)'}",
            )


def _steps(ctx: Context, model: TransformationModel, path: KeyPath) -> tuple[Step, ...]:
    """Steps with names: explicit ones must be unique; defaults are the dbt verb (run, test)."""
    taken = {s.name for s in model.steps if s.name}
    named: list[Step] = []
    explicit: set[str] = set()
    for index, step in enumerate(model.steps):
        if step.name:
            if step.name in explicit:
                ctx.problem((*path, "steps", index, "name"), f"duplicate step name '{step.name}'")
            explicit.add(step.name)
            named.append(step)
            continue
        base = step.command.split()[1]
        name, counter = base, 2
        while name in taken:
            name, counter = f"{base}_{counter}", counter + 1
        taken.add(name)
        named.append(Step(name=name, command=step.command))
    return tuple(named)


def build_transformations(
    ctx: Context,
    group: GroupModel,
    group_path: KeyPath,
    models: list[tuple[int, TransformationModel]],
    names: list[str],
) -> list[Transformation]:
    """Check and build a group's transformations (names are unique across the estate).

    `names` are the group's connection names as written, for checking references.
    """
    if models and group.transformation_project is None:
        ctx.problem(
            (*group_path, "transformations"),
            "transformations need a transformation_project in the same group",
        )
    built = []
    for index, model in models:
        path = (*group_path, "transformations", index)
        _schedule_checks(ctx, model.schedule, path, names)
        transformation = Transformation(
            group=group.name,
            name=model.name,
            steps=_steps(ctx, model, path),
            schedule=model.schedule,
            scheduled_by=model.scheduled_by or ctx.dagster.scheduled_by,
            paused=model.paused,
            description=model.description,
            owners=tuple(model.owners or group.owners or ctx.dagster.owners),
            tags={**ctx.dagster.tags, **(group.tags or {}), **(model.tags or {})},
            path=display_path(path, ctx.data),
            location=ctx.source.locate(path),
        )
        first = ctx.transformations.get(model.name)
        if first is not None:
            ctx.problem(
                (*path, "name"),
                f"duplicate transformation name '{model.name}' (names are unique in the estate)",
                related=((f"first defined at {first.path}", first.location or Location(None)),),
            )
            continue
        ctx.transformations[model.name] = transformation
        built.append(transformation)
    return built
