"""One rule for "has this Fivetran run already been recorded?", shared by every recorder.

Three things may record the same sync (or transformation run) as materializations: the asset
run that triggered or joined it, the polling sensor, and the webhook sensor. They never talk to
each other, so each asks the Dagster instance before recording:

- the latest materialization of the asset carries the run's id (`fivetran/sync_id`,
  `fivetran/run_id`) or its end time (`fivetran/sync_ended_at`, `fivetran/run_ended_at`); the
  same id, or an end time no earlier than this one minus a small tolerance, means recorded.
  The tolerance covers Fivetran stamping `succeeded_at` a moment before the `sync_end` event's
  `created`; two different syncs of one connection end minutes apart (the shortest frequency);
- an unfinished Dagster run that planned to materialize the asset will record it itself when
  its wait returns, so a sensor that sees the end first leaves it alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import dagster as dg

SYNC_ENDED_KEY = "fivetran/sync_ended_at"  # the polling sensor's and the sync asset's key
SYNC_ID_KEY = "fivetran/sync_id"
RUN_ENDED_KEY = "fivetran/run_ended_at"  # the transformation asset's key
RUN_ID_KEY = "fivetran/run_id"
SAME_RUN_TOLERANCE = timedelta(seconds=30)
RECORDED_BY = "fivetran/recorded_by"  # which sensor recorded an event it did not run
SENSOR_LABEL = "webhook sensor"

_UNFINISHED = frozenset(
    {
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
    }
)


@dataclass(frozen=True)
class RunIdentity:
    """What identifies one sync or transformation run in materialization metadata."""

    ended_at: datetime
    run_id: str | None = None
    id_key: str = SYNC_ID_KEY
    ended_key: str = SYNC_ENDED_KEY

    @classmethod
    def sync(cls, ended_at: datetime, sync_id: str | None) -> RunIdentity:
        return cls(ended_at=ended_at, run_id=sync_id)

    @classmethod
    def transformation(cls, ended_at: datetime, run_id: str | None) -> RunIdentity:
        return cls(ended_at=ended_at, run_id=run_id, id_key=RUN_ID_KEY, ended_key=RUN_ENDED_KEY)


def _metadata_value(mat: dg.AssetMaterialization, key: str) -> object | None:
    value = mat.metadata.get(key)
    return value.value if value is not None else None


def recorded(
    instance: dg.DagsterInstance,
    key: dg.AssetKey,
    identity: RunIdentity,
    *,
    tolerance: timedelta = SAME_RUN_TOLERANCE,
) -> bool:
    """True when the latest materialization of `key` stands for this run or a later one."""
    event = instance.get_latest_materialization_event(key)
    mat = event.asset_materialization if event else None
    if mat is None:
        return False
    if identity.run_id is not None and _metadata_value(mat, identity.id_key) == identity.run_id:
        return True
    ended = _metadata_value(mat, identity.ended_key)
    if not isinstance(ended, int | float):
        return False
    return float(ended) >= (identity.ended_at - tolerance).timestamp()


def claimed_by_run(instance: dg.DagsterInstance, keys: Iterable[dg.AssetKey]) -> str | None:
    """The id of an unfinished run that planned to materialize one of `keys`, if any.

    Such a run triggered or joined the sync and records it when its wait returns; a sensor
    recording the same end meanwhile would record it twice.
    """
    for key in keys:
        planned = instance.get_latest_planned_materialization_info(key)
        if planned is None:
            continue
        run = instance.get_run_by_id(planned.run_id)
        if run is not None and run.status in _UNFINISHED:
            return run.run_id
    return None


def unrecorded(
    instance: dg.DagsterInstance,
    keys: Iterable[dg.AssetKey],
    identity: RunIdentity,
    *,
    tolerance: timedelta = SAME_RUN_TOLERANCE,
) -> list[dg.AssetKey]:
    """The keys a sensor should record this run for: not recorded yet, and no unfinished run
    will record them (a subset run records only the tables it selected; the others are ours).
    """
    return [
        key
        for key in keys
        if not recorded(instance, key, identity, tolerance=tolerance)
        and claimed_by_run(instance, [key]) is None
    ]
