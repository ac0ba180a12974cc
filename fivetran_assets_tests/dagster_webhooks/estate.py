"""A small estate built in code, an event log to feed, and sensor ticks recorded like the daemon.

Two Fivetran-scheduled connections (`crm`, `erp`), one Dagster-scheduled (`web`), an integrated
transformation run by Dagster over `crm` and `web`, and one scheduled by Fivetran.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from fivetran_assets.dagster.estate_view import (
    ConnectionView,
    EstateView,
    ScheduledBy,
    TransformationMode,
    TransformationView,
)
from fivetran_assets.dagster.resources import DestinationResource, FivetranResource
from fivetran_assets.dagster.specs import translate
from fivetran_assets.snapshot.store import (
    ColumnSnapshot,
    ConnectionSnapshot,
    ModelSnapshot,
    Snapshot,
    TableSnapshot,
    TransformationSnapshot,
)
from fivetran_assets.webhooks import EventLog, WebhookEvent

GROUP = "sales_ops"
DASHBOARD = "http://local/dashboard"
T0 = datetime(2026, 5, 22, tzinfo=UTC)


def _conn(name: str, cid: str, tables: tuple[str, ...]) -> ConnectionSnapshot:
    return ConnectionSnapshot(
        group=GROUP,
        name=name,
        id=cid,
        service="sqlite",
        tables=tuple(
            TableSnapshot("main", t, f"{name}_main", t, columns=(ColumnSnapshot("id"),))
            for t in tables
        ),
    )


def small_estate() -> tuple[list, list]:
    view = EstateView(
        connections=(
            ConnectionView(GROUP, "crm", "sqlite", "duckdb", scheduled_by=ScheduledBy.FIVETRAN),
            ConnectionView(GROUP, "erp", "sqlite", "duckdb", scheduled_by=ScheduledBy.FIVETRAN),
            ConnectionView(GROUP, "web", "sqlite", "duckdb", scheduled_by=ScheduledBy.DAGSTER),
        ),
        transformations=(
            TransformationView(
                GROUP,
                "reporting",
                scheduled_by=ScheduledBy.DAGSTER,
                mode=TransformationMode.INTEGRATED,
                connections=("crm", "web"),
            ),
            TransformationView(GROUP, "finance", scheduled_by=ScheduledBy.FIVETRAN),
        ),
        dashboard_base_url=DASHBOARD,
    )
    snapshot = Snapshot(
        written_at="2026-05-22T00:00:00Z",
        connections=(
            _conn("crm", "c_crm", ("accounts", "deals")),
            _conn("erp", "c_erp", ("invoices",)),
            _conn("web", "c_web", ("visits",)),
        ),
        transformations=(
            TransformationSnapshot(
                GROUP,
                "reporting",
                "t_reporting",
                models=(
                    ModelSnapshot(
                        "pipeline", "analytics", "model.x.pipeline", (("crm_main", "deals"),)
                    ),
                ),
            ),
            TransformationSnapshot(
                GROUP,
                "finance",
                "t_finance",
                models=(
                    ModelSnapshot(
                        "revenue", "analytics", "model.x.revenue", (("erp_main", "invoices"),)
                    ),
                ),
            ),
        ),
    )
    return translate(view, snapshot)


def key(*path: str) -> dg.AssetKey:
    """A table's key (`schema`, `table`) or a model's (its name)."""
    return dg.AssetKey(list(path))


@dataclass
class Feed:
    """Appends Fivetran-shaped events to an event log with increasing `created` times."""

    log: EventLog
    at: datetime = T0
    seq: int = 0
    ids: list[int] = field(default_factory=list)

    def _append(self, payload: dict[str, Any]) -> int:
        self.seq += 1
        self.at += timedelta(minutes=1)
        payload = {"created": self.at.isoformat().replace("+00:00", "Z"), **payload}
        raw = json.dumps(payload).encode()
        appended = self.log.append(raw, WebhookEvent.from_json(raw))
        self.ids.append(appended.id)
        return appended.id

    def connection(self, event: str, cid: str, *, sync: str | None = None, **data: Any) -> int:
        return self._append(
            {
                "event": event,
                "connector_type": "sqlite",
                "connector_id": cid,
                "connector_name": cid,
                "sync_id": sync,
                "destination_group_id": "g1",
                "data": data,
            }
        )

    def sync(self, cid: str, status: str = "SUCCESSFUL", **data: Any) -> str:
        sync_id = f"{cid}-sync-{self.seq}"
        self.connection("sync_start", cid, sync=sync_id)
        self.connection("sync_end", cid, sync=sync_id, status=status, **data)
        return sync_id

    def transformation(self, event: str, tid: str, *, run: str, **data: Any) -> int:
        return self._append(
            {
                "event": event,
                "destination_group_id": "g1",
                "data": {"transformation_id": tid, "run_id": run, **data},
            }
        )


def resources(**destination: Any) -> dict[str, Any]:
    return {
        "fivetran": FivetranResource(api_key="k", api_secret="s", dashboard_base_url=DASHBOARD),
        "destination": DestinationResource(**(destination or {"kind": "none"})),
    }


@dataclass
class Ticker:
    """Evaluates a sensor the way the daemon does: results stored, cursor carried over."""

    sensor: dg.SensorDefinition
    instance: dg.DagsterInstance
    resources: dict[str, Any]
    cursor: str | None = None

    def tick(self) -> dg.SensorResult:
        context = dg.build_sensor_context(
            instance=self.instance, cursor=self.cursor, resources=self.resources
        )
        result = self.sensor(context)
        assert isinstance(result, dg.SensorResult)
        for event in result.asset_events:
            self.instance.report_runless_asset_event(event)
        self.cursor = result.cursor
        return result


def latest(instance: dg.DagsterInstance, asset: dg.AssetKey) -> dict[str, Any] | None:
    event = instance.get_latest_materialization_event(asset)
    mat = event.asset_materialization if event else None
    return {k: v.value for k, v in mat.metadata.items()} if mat else None


def materializations(instance: dg.DagsterInstance, asset: dg.AssetKey) -> int:
    return len(
        instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=asset), limit=100).records
    )


def event_log(tmp_path: Path) -> EventLog:
    return EventLog(tmp_path / "events.sqlite")


@dg.op
def _noop() -> None:
    pass


@dg.job(name="refresh_fivetran_state")
def refresh_job() -> None:
    """Stands in for the component's state refresh job, which the webhook sensor requests."""
    _noop()
