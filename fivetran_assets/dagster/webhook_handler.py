"""What the webhook sensor does with each Fivetran event; the sensor module only feeds it pages.

Kept apart from the sensor definition so the rules read in one place and tests can drive them
event by event. State that must survive restarts lives in `WebhookCursor` (stored as the
sensor's cursor, committed by Dagster together with the tick's results): the last event id
handled, which connections of each Dagster-run integrated transformation have synced since its
last run, the latest `sync_start` per connection (to report a sync's start time), and the new
tables already reported per connection.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dagster as dg

from fivetran_assets.dagster.estate_view import ScheduledBy, TransformationMode
from fivetran_assets.dagster.specs import ConnectionAssets, TransformationAssets
from fivetran_assets.dagster.translator import dashboard_metadata, dashboard_url
from fivetran_assets.dagster.webhook_record import (
    RUN_ENDED_KEY,
    RUN_ID_KEY,
    SYNC_ENDED_KEY,
    SYNC_ID_KEY,
    RunIdentity,
    unrecorded,
)
from fivetran_assets.snapshot.warehouse import TableStats
from fivetran_assets.webhooks import EventName, StoredEvent, SyncStatus

CURSOR_VERSION = 1
RECORDED_BY = "fivetran/recorded_by"
SENSOR_LABEL = "webhook sensor"
_RUN_STARTS = frozenset({EventName.TRANSFORMATION_RUN_START, EventName.DBT_RUN_START})
_RUN_SUCCESSES = frozenset({EventName.TRANSFORMATION_RUN_SUCCEEDED, EventName.DBT_RUN_SUCCEEDED})
_RUN_FAILURES = frozenset({EventName.TRANSFORMATION_RUN_FAILED, EventName.DBT_RUN_FAILED})
HANDLED_EVENTS = (
    EventName.SYNC_START,
    EventName.SYNC_END,
    EventName.EDIT_CONNECTOR,
    *sorted(_RUN_STARTS | _RUN_SUCCESSES | _RUN_FAILURES),
)

StatsReader = Callable[[str, list[tuple[str, str]]], dict[tuple[str, str], TableStats]]
"""(group, [(schema, table)]) -> warehouse stats; empty when the warehouse is unreachable."""


class CursorError(ValueError):
    """The sensor's stored cursor is not one this code wrote."""


@dataclass
class WebhookCursor:
    after: int = 0
    synced: dict[str, dict[str, str]] = field(default_factory=dict)  # op name -> {conn: created}
    starts: dict[str, list[str]] = field(default_factory=dict)  # conn -> [sync_id, created]
    reported: dict[str, list[str]] = field(default_factory=dict)  # conn -> ["schema.table"]

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": CURSOR_VERSION,
                "after": self.after,
                "synced": self.synced,
                "starts": self.starts,
                "reported": self.reported,
            },
            separators=(",", ":"),
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, raw: str | None) -> WebhookCursor | None:
        """The stored cursor, or None when the sensor has none yet."""
        if not raw:
            return None
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise CursorError(f"webhook sensor cursor is not JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("v") != CURSOR_VERSION:
            version = data.get("v") if isinstance(data, dict) else None
            raise CursorError(
                f"webhook sensor cursor has version {version!r}, expected {CURSOR_VERSION}: "
                "reset the sensor's cursor"
            )
        after = data.get("after")
        if not isinstance(after, int) or after < 0:
            raise CursorError(f"webhook sensor cursor: 'after' must be an id >= 0, got {after!r}")
        return cls(
            after=after,
            synced={k: dict(v) for k, v in (data.get("synced") or {}).items()},
            starts={k: list(v) for k, v in (data.get("starts") or {}).items()},
            reported={k: list(v) for k, v in (data.get("reported") or {}).items()},
        )


@dataclass(frozen=True)
class Integrated:
    """A Dagster-run integrated transformation and the connection ids it follows."""

    assets: TransformationAssets
    connection_ids: frozenset[str]

    @property
    def name(self) -> str:
        return self.assets.op_name


@dataclass(frozen=True)
class EstateIndex:
    """The estate's assets by the ids Fivetran's events carry."""

    connections: Mapping[str, ConnectionAssets]
    transformations: Mapping[str, TransformationAssets]
    integrated: tuple[Integrated, ...]
    unresolved: tuple[str, ...]  # integrated transformations we cannot follow, and why

    @classmethod
    def build(
        cls, conns: Sequence[ConnectionAssets], transforms: Sequence[TransformationAssets]
    ) -> EstateIndex:
        by_id = {ca.connection_id: ca for ca in conns if ca.connection_id}
        by_name = {(ca.view.group, ca.view.name): ca.connection_id for ca in conns}
        integrated: list[Integrated] = []
        unresolved: list[str] = []
        for ta in transforms:
            view = ta.view
            if view.scheduled_by is not ScheduledBy.DAGSTER or not ta.models:
                continue
            if view.mode is TransformationMode.INDEPENDENT:
                continue
            ids = [by_name.get((view.group, name)) for name in view.connections]
            missing = [n for n, i in zip(view.connections, ids, strict=True) if not i]
            if not ids:
                unresolved.append(f"{view.group}/{view.name}: it lists no connections")
                continue
            if missing:
                unresolved.append(
                    f"{view.group}/{view.name}: connection(s) {', '.join(missing)} of group "
                    f"{view.group} are not in the snapshot (run `fivetran-assets refresh`)"
                )
                continue
            integrated.append(Integrated(ta, frozenset(i for i in ids if i)))
        return cls(
            connections=by_id,
            transformations={
                ta.snapshot.id: ta for ta in transforms if ta.snapshot and ta.snapshot.id
            },
            integrated=tuple(integrated),
            unresolved=tuple(unresolved),
        )


@dataclass
class TickResult:
    asset_events: list[dg.AssetMaterialization | dg.AssetObservation] = field(default_factory=list)
    run_requests: list[dg.RunRequest] = field(default_factory=list)
    schema_changes: list[str] = field(default_factory=list)  # human-readable reasons
    new_table_checks: dict[str, ConnectionAssets] = field(default_factory=dict)
    skipped: int = 0


@dataclass
class EventHandler:
    """Applies one tick's events to the cursor and collects what to record and request."""

    index: EstateIndex
    instance: dg.DagsterInstance
    cursor: WebhookCursor
    dashboard_base: str
    stats: StatsReader
    log: Any
    request_integrated_runs: bool = True
    result: TickResult = field(default_factory=TickResult)

    def handle(self, stored: StoredEvent) -> None:
        event = stored.event
        name = event.event
        if name == EventName.SYNC_START and event.connector_id and event.sync_id:
            self.cursor.starts[event.connector_id] = [event.sync_id, event.created.isoformat()]
        elif name == EventName.SYNC_END:
            self._sync_end(stored)
        elif name == EventName.EDIT_CONNECTOR:
            ca = self.index.connections.get(event.connector_id or "")
            if ca is not None:
                self.result.schema_changes.append(f"connection {ca.view.name} was edited")
        elif name in _RUN_STARTS:
            for item in self.index.integrated:
                if item.assets.snapshot and item.assets.snapshot.id == event.transformation_id:
                    self.cursor.synced.pop(item.name, None)
        elif name in _RUN_SUCCESSES or name in _RUN_FAILURES:
            self._transformation_end(stored, succeeded=name in _RUN_SUCCESSES)
        self.cursor.after = max(self.cursor.after, stored.id)

    # -- connections -------------------------------------------------------------------------

    def _sync_end(self, stored: StoredEvent) -> None:
        event = stored.event
        cid = event.connector_id or ""
        ca = self.index.connections.get(cid)
        start = self.cursor.starts.pop(cid, None)
        if ca is None:
            self.result.skipped += 1
            return
        url = dashboard_url(self.dashboard_base, cid)
        if event.status != SyncStatus.SUCCESSFUL:
            self._sync_problem(stored, ca, url)
            return
        if ca.view.scheduled_by is ScheduledBy.FIVETRAN:
            started = start[1] if start and start[0] == event.sync_id else None
            self._record_sync(stored, ca, url, started)
        self.result.new_table_checks[cid] = ca
        if self.request_integrated_runs:
            self._advance_integrated(stored, cid)

    def _record_sync(
        self, stored: StoredEvent, ca: ConnectionAssets, url: str, started: str | None
    ) -> None:
        event = stored.event
        keys = unrecorded(
            self.instance, list(ca.tables), RunIdentity.sync(event.created, event.sync_id)
        )
        if not keys:
            return
        tables = {k: ca.tables[k] for k in keys}
        stats = self.stats(
            ca.view.group, [(t.destination_schema, t.destination_table) for t in tables.values()]
        )
        for key, table in tables.items():
            meta: dict[str, Any] = {
                SYNC_ENDED_KEY: dg.MetadataValue.timestamp(event.created),
                RECORDED_BY: SENSOR_LABEL,
                "fivetran/webhook_event_id": stored.id,
                **dashboard_metadata(url),
            }
            if event.sync_id:
                meta[SYNC_ID_KEY] = event.sync_id
            if started:
                meta["fivetran/sync_started_at"] = dg.MetadataValue.timestamp(
                    datetime.fromisoformat(started)
                )
            st = stats.get((table.destination_schema, table.destination_table))
            if st is not None and st.exists:
                meta["dagster/row_count"] = st.row_count
            self.result.asset_events.append(dg.AssetMaterialization(asset_key=key, metadata=meta))

    def _sync_problem(self, stored: StoredEvent, ca: ConnectionAssets, url: str) -> None:
        event = stored.event
        status = str(event.status or "unknown")
        reason = event.reason or "(no reason given)"
        self.log.warning(
            f"Fivetran sync of {ca.view.group}/{ca.view.name} ended {status}: {reason} "
            f"(sync {event.sync_id})" + (f"; see {url}" if url else "")
        )
        for key in ca.tables:
            meta: dict[str, Any] = {
                "fivetran/sync_status": status,
                "fivetran/reason": reason,
                "fivetran/sync_event_at": dg.MetadataValue.timestamp(event.created),
                **dashboard_metadata(url),
                RECORDED_BY: SENSOR_LABEL,
            }
            if event.sync_id:
                meta[SYNC_ID_KEY] = event.sync_id
            self.result.asset_events.append(
                dg.AssetObservation(
                    asset_key=key,
                    description=f"Fivetran sync ended {status}: {reason}",
                    metadata=meta,
                )
            )

    def _advance_integrated(self, stored: StoredEvent, cid: str) -> None:
        for item in self.index.integrated:
            if cid not in item.connection_ids:
                continue
            synced = self.cursor.synced.setdefault(item.name, {})
            synced[cid] = stored.event.created.isoformat()
            if not item.connection_ids <= synced.keys():
                continue
            self.cursor.synced[item.name] = {}
            self.result.run_requests.append(
                dg.RunRequest(
                    run_key=f"{item.name}:{stored.id}",
                    asset_selection=list(item.assets.models),
                    tags={
                        "fivetran/requested_by": "fivetran_webhook_sensor",
                        "fivetran/webhook_event_id": str(stored.id),
                    },
                )
            )

    # -- transformations ---------------------------------------------------------------------

    def _transformation_end(self, stored: StoredEvent, *, succeeded: bool) -> None:
        event = stored.event
        ta = self.index.transformations.get(event.transformation_id or "")
        if ta is None:
            self.result.skipped += 1
            return
        if not succeeded:
            reason = event.reason or "(no reason given)"
            self.log.warning(
                f"Fivetran transformation {ta.view.group}/{ta.view.name} failed: {reason}"
            )
            self.result.asset_events.extend(
                dg.AssetObservation(
                    asset_key=key,
                    description=f"Fivetran transformation run failed: {reason}",
                    metadata={
                        "fivetran/run_status": str(event.status or "FAILED"),
                        "fivetran/reason": reason,
                        RUN_ID_KEY: event.transformation_run_id or "",
                        RECORDED_BY: SENSOR_LABEL,
                    },
                )
                for key in ta.models
            )
            return
        if ta.view.scheduled_by is not ScheduledBy.FIVETRAN:
            return  # the Dagster run that started it records its models
        identity = RunIdentity.transformation(event.created, event.transformation_run_id)
        keys = unrecorded(self.instance, list(ta.models), identity)
        relations = ta.relations(keys)
        stats = self.stats(ta.view.group, list(relations.values())) if keys else {}
        for key in keys:
            meta: dict[str, Any] = {
                RUN_ENDED_KEY: dg.MetadataValue.timestamp(event.created),
                RECORDED_BY: SENSOR_LABEL,
                "fivetran/webhook_event_id": stored.id,
            }
            if event.transformation_run_id:
                meta[RUN_ID_KEY] = event.transformation_run_id
            st = stats.get(relations[key])
            if st is not None and st.exists:
                meta["dagster/row_count"] = st.row_count
            self.result.asset_events.append(dg.AssetMaterialization(asset_key=key, metadata=meta))
