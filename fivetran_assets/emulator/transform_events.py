"""The webhook events of a transformation run, in both of Fivetran's families.

``transformation_run_start`` / ``_succeeded`` / ``_failed`` carry the local Fivetran's compact
shape: ``data = {transformation_id, transformation_name, project_id, run_id, status[, reason]}``.

``dbt_run_start`` / ``_succeeded`` / ``_failed`` (sent for dbt Core transformations) carry the
shape Fivetran's dbt events have in its logs and webhooks: ``data = {dbtJobId, dbtJobName,
startTime, startupDetails: {type, jobId}}``, plus on the end events ``endTime`` and ``result =
{stepResults: [{step: {name, processBuilderCommand}, success, successfulModelRuns,
failedModelRuns, commandResult: {exitCode, output, error}, startTime, endTime}], description}``
where ``output`` is dbt's console output of the step. A failed run adds ``data.reason``, as a
failed ``sync_end`` does ([assumed]: the spec has no body for these events). ``jobId`` is the
run's number, the same as ``run_id`` in the other family, so a receiver sees one run in both.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fivetran_assets.emulator.clock import Clock, iso
from fivetran_assets.emulator.dataplane.contract import DbtStepResult
from fivetran_assets.emulator.events import Event, Events


@dataclass(frozen=True)
class Run:
    """One run of a transformation, as its events describe it."""

    transformation_id: str
    name: str | None
    project_id: str | None
    group_id: str | None
    type: str
    number: int
    trigger: str  # transform_schedule.SCHEDULED | INTEGRATED | MANUAL
    started_at: datetime

    @property
    def run_id(self) -> str:
        return str(self.number)


def _transformation_data(run: Run, status: str, reason: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "transformation_id": run.transformation_id,
        "transformation_name": run.name,
        "project_id": run.project_id,
        "run_id": run.run_id,
        "status": status,
    }
    if reason:
        data["reason"] = reason
    return data


def _step(step: DbtStepResult, clock: Clock) -> dict[str, Any]:
    return {
        "step": {"name": step.name, "processBuilderCommand": shlex.split(step.command)},
        "success": step.succeeded,
        "successfulModelRuns": step.successful_models,
        "failedModelRuns": step.failed_models,
        "commandResult": {
            "exitCode": step.exit_code,
            "output": step.output,
            "error": step.error,
        },
        "startTime": iso(clock.at(step.started)),
        "endTime": iso(clock.at(step.ended)),
    }


def _dbt_data(run: Run) -> dict[str, Any]:
    return {
        "dbtJobId": run.transformation_id,
        "dbtJobName": run.name,
        "startTime": iso(run.started_at),
        "startupDetails": {"type": run.trigger, "jobId": run.number},
    }


def run_started(events: Events, run: Run) -> None:
    events.transformation(
        Event.TRANSFORMATION_RUN_START, run.group_id, _transformation_data(run, "RUNNING", "")
    )
    if run.type == "DBT_CORE":
        events.transformation(Event.DBT_RUN_START, run.group_id, _dbt_data(run))


def run_ended(
    events: Events,
    clock: Clock,
    run: Run,
    *,
    status: str,
    reason: str,
    ended_at: datetime,
    steps: Sequence[DbtStepResult],
) -> None:
    succeeded = status == "SUCCEEDED"
    events.transformation(
        Event.TRANSFORMATION_RUN_SUCCEEDED if succeeded else Event.TRANSFORMATION_RUN_FAILED,
        run.group_id,
        _transformation_data(run, status, reason),
    )
    if run.type != "DBT_CORE":
        return
    ok = sum(step.succeeded for step in steps)
    data = {
        **_dbt_data(run),
        "endTime": iso(ended_at),
        "result": {
            "stepResults": [_step(step, clock) for step in steps],
            "description": f"Steps: successful {ok}, failed {len(steps) - ok}",
        },
    }
    if not succeeded:
        data["reason"] = reason
    events.transformation(
        Event.DBT_RUN_SUCCEEDED if succeeded else Event.DBT_RUN_FAILED, run.group_id, data
    )
