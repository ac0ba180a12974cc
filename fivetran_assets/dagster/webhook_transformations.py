"""What the webhook sensor records when a transformation run ends, from either event family.

`transformation_run_succeeded` / `_failed` and `dbt_run_succeeded` / `_failed` are read alike;
the `dbt_run_*` ones also carry the run's step results, so the models' events say which were
built, with dbt's message for those that failed, and the models' `fivetran_dbt_tests` checks
are evaluated (`model_results`). A run is recorded once: the handler skips the second family's
event of a run it handled (same transformation and run id), and nothing is recorded that a
Dagster run is waiting to record itself or that the instance already holds (`webhook_record`);
the successes of transformations Dagster schedules are its runs' to record.
A failure without step results leaves an observation per model with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dagster as dg

from fivetran_assets.dagster.estate_view import ScheduledBy
from fivetran_assets.dagster.model_results import RunReport, model_reports
from fivetran_assets.dagster.specs import TransformationAssets
from fivetran_assets.dagster.webhook_record import (
    RECORDED_BY,
    RUN_ID_KEY,
    SENSOR_LABEL,
    RunIdentity,
    claimed_by_run,
    recorded,
)
from fivetran_assets.snapshot.warehouse import TableStats
from fivetran_assets.webhooks import StoredEvent
from fivetran_assets.webhooks.dbt_runs import DbtRun

Stats = Callable[[str, list[tuple[str, str]]], dict[tuple[str, str], TableStats]]


def transformation_end_events(
    ta: TransformationAssets,
    stored: StoredEvent,
    *,
    succeeded: bool,
    instance: dg.DagsterInstance,
    stats: Stats,
    log: Any,
) -> list[Any]:
    event = stored.event
    run = DbtRun.from_payload(stored.payload())
    keys = list(ta.models)
    where = f"{ta.view.group}/{ta.view.name}"
    if not succeeded:
        log.warning(
            f"Fivetran transformation {where} failed: {event.reason or '(no reason given)'}"
        )
    if succeeded and ta.view.scheduled_by is ScheduledBy.DAGSTER:
        return []  # only Dagster runs it (it is paused in Fivetran), and that run records it
    if claimed_by_run(instance, keys) is not None:
        return []  # the Dagster run waiting on it records it
    ended = (run.ended_at if run else None) or event.created
    identity = RunIdentity.transformation(ended, event.transformation_run_id)
    fresh = [k for k in keys if not recorded(instance, k, identity)]
    if not fresh:
        return []
    extra = {RECORDED_BY: SENSOR_LABEL, "fivetran/webhook_event_id": stored.id}
    if run is None and not succeeded:
        return [_failure(key, event, extra) for key in fresh]
    report = RunReport(
        status="SUCCEEDED" if succeeded else str(event.status or "FAILED"),
        started_at=(run.started_at if run else None) or ended,
        ended_at=ended,
        run=run,
        run_id=event.transformation_run_id,
    )
    relations = ta.relations(fresh)
    found = stats(ta.view.group, list(relations.values()))
    out: list[Any] = []
    for model in model_reports(
        ta,
        report,
        keys=fresh,
        checked=fresh if ta.view.runs_tests else (),
        table_metadata=lambda key: _rows(found.get(relations[key])),
        extra=extra,
    ):
        out.extend(model.sensor_events())
    return out


def _rows(st: TableStats | None) -> dict[str, Any]:
    return {"dagster/row_count": st.row_count} if st is not None and st.exists else {}


def _failure(key: dg.AssetKey, event: Any, extra: dict[str, Any]) -> dg.AssetObservation:
    reason = event.reason or "(no reason given)"
    return dg.AssetObservation(
        asset_key=key,
        description=f"Fivetran transformation run failed: {reason}",
        metadata={
            "fivetran/run_status": str(event.status or "FAILED"),
            "fivetran/reason": reason,
            RUN_ID_KEY: event.transformation_run_id or "",
            **extra,
        },
    )
