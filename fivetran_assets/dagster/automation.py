"""Jobs, schedules and automation conditions for Fivetran's three scheduling modes.

`scheduled_by: dagster` connections are `schedule_type: manual` in Fivetran (apply sets that),
so Dagster is their only trigger: a schedule per (group, cadence) runs their syncs. Dagster-run
transformations follow the seed's modes: integrated -> an automation condition that fires once
every upstream table has been updated since the models last ran; partially integrated -> that or
a schedule; independent -> a schedule only.

Sync jobs and sync schedules carry the run tag `fivetran_assets/sync` (`SYNC_RUN_TAG`), which the
run queue's tag limits in `deploy/dagster.yaml` and the local instance (`stack/home.py`) bound;
within a run, the executor runs at most `dagster.max_concurrent_syncs` sync steps at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

import dagster as dg

from fivetran_assets.dagster.estate_view import ScheduledBy, TransformationMode, TransformationView
from fivetran_assets.dagster.translator import SYNC_TAG, ConnectionAssets, TransformationAssets

SYNC_RUN_TAG = "fivetran_assets/sync"  # run tag the instance's tag concurrency limits match
SYNC_RUN_TAGS = {SYNC_RUN_TAG: "true"}
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
    """At most `limit` steps at once (not the CPU count), and at most `limit` of them syncs."""
    if not limit:
        return None
    return dg.multiprocess_executor.configured(
        {
            "max_concurrent": limit,
            "tag_concurrency_limits": [{"key": SYNC_TAG, "limit": limit}],
        }
    )


def build_jobs(
    conns: Sequence[ConnectionAssets],
    transforms: Sequence[TransformationAssets],
    *,
    sync_limit: int | None,
) -> list[dg.UnresolvedAssetJobDefinition]:
    """`sync_all`, `transform_all`, `pipeline` and one `group_<name>` job per estate group."""
    executor = _executor(sync_limit)
    jobs = [
        dg.define_asset_job(
            "sync_all",
            selection=dg.AssetSelection.assets(*_keys(conns)),
            description="Sync every connection of the estate.",
            executor_def=executor,
            tags=SYNC_RUN_TAGS,
        ),
        dg.define_asset_job(
            "transform_all",
            selection=dg.AssetSelection.assets(*_keys(transforms)),
            description="Run every transformation of the estate.",
        ),
        dg.define_asset_job(
            "pipeline",
            selection=dg.AssetSelection.assets(*_keys(conns), *_keys(transforms)),
            description="Sync every connection, then run the transformations that read them.",
            executor_def=executor,
            tags=SYNC_RUN_TAGS,
        ),
    ]
    groups: dict[str, list[ConnectionAssets | TransformationAssets]] = defaultdict(list)
    for item in (*conns, *transforms):
        groups[item.view.group].append(item)
    for group, items in groups.items():
        jobs.append(
            dg.define_asset_job(
                f"group_{group}",
                selection=dg.AssetSelection.assets(*_keys(items)),
                description=f"Sync the connections of group {group}, then its transformations.",
                executor_def=executor,
                tags=SYNC_RUN_TAGS,
            )
        )
    return jobs


def build_schedules(
    conns: Sequence[ConnectionAssets], transforms: Sequence[TransformationAssets]
) -> list[dg.ScheduleDefinition]:
    """Schedules for what Dagster schedules: connections by cadence, time-based transformations."""
    by_cadence: dict[tuple[str, str], list[ConnectionAssets]] = defaultdict(list)
    for ca in conns:
        if ca.view.scheduled_by is ScheduledBy.DAGSTER and not ca.view.paused and ca.specs:
            cron = ca.view.cron or frequency_cron(ca.view.sync_frequency, ca.view.daily_sync_time)
            by_cadence[(ca.view.group, cron)].append(ca)
    schedules: list[dg.ScheduleDefinition] = []
    for index, ((group, cron), items) in enumerate(sorted(by_cadence.items())):
        name = f"sync_{group}_schedule_{index}"
        schedules.append(
            dg.ScheduleDefinition(
                name=name,
                cron_schedule=cron,
                target=dg.AssetSelection.assets(*_keys(items)),
                description=f"Sync {len(items)} connection(s) of {group} on `{cron}`.",
                tags=SYNC_RUN_TAGS,
            )
        )
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
                name=f"transform_{view.group}_{view.name}_schedule",
                cron_schedule=cron,
                target=dg.AssetSelection.assets(*_keys([ta])),
                description=f"Run transformation {view.name} on `{cron}` ({view.mode.value}).",
            )
        )
    return schedules
