"""Jobs, schedules and automation conditions for Fivetran's three scheduling modes.

`scheduled_by: dagster` connections are `schedule_type: manual` in Fivetran (apply sets that),
so Dagster is their only trigger: a schedule per (group, cadence) runs their syncs. Dagster-run
transformations follow the seed's modes: integrated -> an automation condition that fires once
every upstream table has been updated since the models last ran; partially integrated -> that or
a schedule; independent -> a schedule only.

Names last: jobs are `sync_all`, `transform_all`, `pipeline` and `group_<group>` (after
`job_prefix`); a schedule is named from what it does, never from its position:
`<group>__sync_every_<n>m` for the connections of a group sharing a `sync_frequency` (with
`_at_HHMM` for a daily time), `<group>__<connection>__sync_schedule` for a connection with its own
`cron`, `<group>__<transformation>__transform_schedule` for a transformation's clock. Adding a
cadence adds a schedule; it renames none, so none loses its on/off state.

Concurrent syncs are bounded one way: every connection asset sits in the `fivetran_syncs` pool,
whose limit the instance holds (`deploy/dagster.yaml`'s `concurrency.pools.default_limit`, or
`dagster instance concurrency set fivetran_syncs N`). `dagster.max_concurrent_syncs` only sizes
the sync jobs' executor (at most that many steps of one run at once, instead of the CPU count).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

import dagster as dg

from fivetran_assets.dagster.estate_view import ScheduledBy, TransformationMode, TransformationView
from fivetran_assets.dagster.specs import ConnectionAssets, TransformationAssets
from fivetran_assets.dagster.translator import ident

_STEP_HOURS = {60: 1, 120: 2, 180: 3, 360: 6, 480: 8, 720: 12}


def frequency_cron(minutes: int, daily_sync_time: str | None = None) -> str:
    """Fivetran's sync frequency (minutes) as a cron expression Dagster can schedule."""
    if minutes < 60:
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    if minutes in _STEP_HOURS:
        step = _STEP_HOURS[minutes]
        return "0 * * * *" if step == 1 else f"0 */{step} * * *"
    if minutes == 1440:
        hour, minute = (daily_sync_time or "00:00").split(":")
        return f"{int(minute)} {int(hour)} * * *"
    raise ValueError(f"sync_frequency {minutes} is not one of Fivetran's frequencies")


def transformation_cron(view: TransformationView) -> str | None:
    if view.cron:
        return view.cron
    if view.interval_minutes:
        return frequency_cron(view.interval_minutes)
    if view.time_of_day:
        hour, minute = view.time_of_day.split(":")
        return f"{int(minute)} {int(hour)} * * *"
    return None


def integrated_condition(tables: Sequence[dg.AssetKey]) -> dg.AutomationCondition:
    """True once every table in `tables` was updated since these models were last requested.

    Each "updated since" is tracked in the models' own condition state (`asset_matches`), so a
    table synced twice before its sibling connections does not trigger a run on its own.
    """
    handled = dg.AutomationCondition.newly_requested() | dg.AutomationCondition.newly_updated()
    condition = (
        ~dg.AutomationCondition.any_deps_in_progress() & ~dg.AutomationCondition.in_progress()
    )
    for key in tables:
        updated = dg.AutomationCondition.asset_matches(key, dg.AutomationCondition.newly_updated())
        condition = updated.since(handled) & condition
    return condition.with_label("all upstream tables updated since the last run")


def model_conditions(
    views: Sequence[TransformationView],
) -> dict[tuple[str, str], Callable[[Sequence[dg.AssetKey]], dg.AutomationCondition]]:
    return {
        (v.group, v.name): integrated_condition
        for v in views
        if v.scheduled_by is ScheduledBy.DAGSTER
        and v.mode in (TransformationMode.INTEGRATED, TransformationMode.PARTIALLY_INTEGRATED)
    }


def _keys(items: Sequence[ConnectionAssets | TransformationAssets]) -> list[dg.AssetKey]:
    return [spec.key for item in items for spec in item.specs]


def _executor(limit: int | None) -> dg.ExecutorDefinition | None:
    """At most `limit` steps at once (not the CPU count)."""
    if not limit:
        return None
    return dg.multiprocess_executor.configured({"max_concurrent": limit})


def build_jobs(
    conns: Sequence[ConnectionAssets],
    transforms: Sequence[TransformationAssets],
    *,
    sync_limit: int | None,
    job_prefix: str = "",
) -> list[dg.UnresolvedAssetJobDefinition]:
    """`sync_all`, `transform_all`, `pipeline` and one `group_<name>` job per estate group,
    each name after `job_prefix`."""
    executor = _executor(sync_limit)
    jobs = [
        dg.define_asset_job(
            f"{job_prefix}sync_all",
            selection=dg.AssetSelection.assets(*_keys(conns)),
            description="Sync every connection of the estate.",
            executor_def=executor,
        ),
        dg.define_asset_job(
            f"{job_prefix}transform_all",
            selection=dg.AssetSelection.assets(*_keys(transforms)),
            description="Run every transformation of the estate.",
        ),
        dg.define_asset_job(
            f"{job_prefix}pipeline",
            selection=dg.AssetSelection.assets(*_keys(conns), *_keys(transforms)),
            description="Sync every connection, then run the transformations that read them.",
            executor_def=executor,
        ),
    ]
    groups: dict[str, list[ConnectionAssets | TransformationAssets]] = defaultdict(list)
    for item in (*conns, *transforms):
        groups[item.view.group].append(item)
    for group, items in groups.items():
        jobs.append(
            dg.define_asset_job(
                f"{job_prefix}group_{group}",
                selection=dg.AssetSelection.assets(*_keys(items)),
                description=f"Sync the connections of group {group}, then its transformations.",
                executor_def=executor,
            )
        )
    return jobs


def _cadence_name(group: str, minutes: int, daily_sync_time: str | None) -> str:
    at = f"_at_{daily_sync_time.replace(':', '')}" if daily_sync_time and minutes == 1440 else ""
    return f"{group}__sync_every_{minutes}m{at}"


def build_schedules(
    conns: Sequence[ConnectionAssets],
    transforms: Sequence[TransformationAssets],
    *,
    prefix: str = "",
) -> list[dg.ScheduleDefinition]:
    """Schedules for what Dagster schedules: connections by cadence, time-based transformations
    (names in the module docstring, after `prefix`)."""
    by_name: dict[str, tuple[str, list[ConnectionAssets]]] = defaultdict(lambda: ("", []))
    for ca in conns:
        view = ca.view
        if view.scheduled_by is not ScheduledBy.DAGSTER or view.paused or not ca.specs:
            continue
        if view.cron:
            name, cron = f"{view.group}__{view.name}__sync_schedule", view.cron
        else:
            name = _cadence_name(view.group, view.sync_frequency, view.daily_sync_time)
            cron = frequency_cron(view.sync_frequency, view.daily_sync_time)
        by_name[ident(name)] = (cron, [*by_name[ident(name)][1], ca])
    schedules = [
        dg.ScheduleDefinition(
            name=f"{prefix}{name}",
            cron_schedule=cron,
            target=dg.AssetSelection.assets(*_keys(items)),
            description=f"Sync {len(items)} connection(s) of {items[0].view.group} on `{cron}`.",
        )
        for name, (cron, items) in sorted(by_name.items())
    ]
    for ta in transforms:
        view = ta.view
        if view.scheduled_by is not ScheduledBy.DAGSTER or not ta.specs:
            continue
        if view.mode is TransformationMode.INTEGRATED:
            continue
        cron = transformation_cron(view)
        if cron is None:
            continue
        schedules.append(
            dg.ScheduleDefinition(
                name=prefix + ident(f"{view.group}__{view.name}__transform_schedule"),
                cron_schedule=cron,
                target=dg.AssetSelection.assets(*_keys([ta])),
                description=f"Run transformation {view.name} on `{cron}` ({view.mode.value}).",
            )
        )
    return schedules
