"""A transformation run's outcome on its model assets: what each model's event says.

A model dbt built in the run gets a materialization; one it did not build (it failed, dbt
skipped it after a failed upstream, or the run did not select it) gets an observation instead,
so freshness and automation conditions never take an unbuilt table for an updated one. Both
carry `fivetran/built_in_run`, the run's start, end and duration, the run id, dbt's status and
time for the model and, when it failed, dbt's message. Per-model detail comes from the run's
`dbt_run_*` end event (the only place Fivetran reports it); without one, a successful run's
models count as built when `output_model_names` lists them (or lists nothing). The models'
`fivetran_dbt_tests` verdicts ride along (`checks.dbt_test_verdict`).

The asset op and the webhook sensor both record runs: `ModelReport`s are what they share, each
turning them into its own event types.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dagster as dg

from fivetran_assets.dagster.checks import TestVerdict, dbt_test_verdict
from fivetran_assets.dagster.specs import TransformationAssets
from fivetran_assets.dagster.webhook_record import RUN_ENDED_KEY, RUN_ID_KEY
from fivetran_assets.snapshot.store import ModelSnapshot
from fivetran_assets.webhooks.dbt_runs import SUCCESS, DbtRun, NodeResult

BUILT_KEY = "fivetran/built_in_run"


@dataclass(frozen=True)
class RunReport:
    """What is known of one ended run, whoever waited for it or heard of it."""

    status: str  # SUCCEEDED, FAILED, ...
    started_at: datetime
    ended_at: datetime
    run: DbtRun | None = None
    output_model_names: tuple[str, ...] = ()
    run_id: str | None = None
    joined: bool = False

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


@dataclass(frozen=True)
class ModelReport:
    key: dg.AssetKey
    built: bool
    metadata: dict[str, Any]
    description: str | None
    verdict: TestVerdict | None  # None when the check was not asked for or no test ran

    def op_events(self, *, selected: bool) -> Iterator[Any]:
        """For an asset op: a MaterializeResult carrying the check, or an observation."""
        check = self.verdict.result() if self.verdict else None
        if selected and self.built:
            yield dg.MaterializeResult(
                asset_key=self.key, metadata=self.metadata, check_results=[check] if check else None
            )
            return
        if selected:
            yield dg.AssetObservation(
                asset_key=self.key, metadata=self.metadata, description=self.description
            )
        if check is not None:
            yield check

    def sensor_events(self) -> list[Any]:
        """For a sensor: a materialization or an observation, then the check's evaluation."""
        event: Any = (
            dg.AssetMaterialization(asset_key=self.key, metadata=self.metadata)
            if self.built
            else dg.AssetObservation(
                asset_key=self.key, metadata=self.metadata, description=self.description
            )
        )
        return [event, *([self.verdict.evaluation()] if self.verdict else [])]


def _node(report: RunReport, model: ModelSnapshot) -> NodeResult | None:
    return report.run.models().get(model.relation[1]) if report.run is not None else None


def _built(report: RunReport, model: ModelSnapshot, node: NodeResult | None) -> bool:
    if report.run is not None:
        return node is not None and node.status == SUCCESS
    listed = set(report.output_model_names)
    return report.succeeded and (not listed or model.name in listed)


def _metadata(report: RunReport, node: NodeResult | None, *, built: bool) -> dict[str, Any]:
    duration = (report.ended_at - report.started_at).total_seconds()
    meta: dict[str, Any] = {
        BUILT_KEY: built,
        "fivetran/run_started_at": dg.MetadataValue.timestamp(report.started_at),
        RUN_ENDED_KEY: dg.MetadataValue.timestamp(report.ended_at),
        "fivetran/run_duration_seconds": max(0.0, duration),
        "fivetran/run_status": report.status,
    }
    run_id = report.run_id or (report.run.run_id if report.run else None)
    if run_id:
        meta[RUN_ID_KEY] = run_id
    if report.joined:
        meta["fivetran/joined_running_run"] = True
    if node is not None:
        meta["fivetran/dbt_status"] = node.status
        if node.duration_seconds is not None:
            meta["fivetran/dbt_seconds"] = node.duration_seconds
        if node.message:
            meta["fivetran/dbt_message"] = node.message
    elif report.run is not None:
        meta["fivetran/dbt_status"] = "not run"
    return meta


def _not_built(node: NodeResult | None) -> str:
    if node is None:
        return "not built in this Fivetran transformation run"
    detail = f": {node.message}" if node.message else ""
    return f"not built in this Fivetran transformation run (dbt {node.status}){detail}"


def model_reports(
    ta: TransformationAssets,
    report: RunReport,
    *,
    keys: Collection[dg.AssetKey],
    checked: Collection[dg.AssetKey],
    table_metadata: Callable[[dg.AssetKey], dict[str, Any]],
    extra: dict[str, Any] | None = None,
) -> list[ModelReport]:
    """One report per model of `keys` or `checked`, in dependency order. `table_metadata(key)`
    adds what the warehouse says of built models; `extra` goes on every event."""
    out = []
    for key, model in ta.models.items():
        if key not in keys and key not in checked:
            continue
        node = _node(report, model)
        built = _built(report, model, node)
        meta = {**_metadata(report, node, built=built), **(extra or {})}
        if built and key in keys:
            meta.update(table_metadata(key))
        verdict = dbt_test_verdict(key, model, report.run) if key in checked else None
        out.append(ModelReport(key, built, meta, None if built else _not_built(node), verdict))
    return out
