"""`fivetran_webhook_sensor`: Fivetran webhooks, read from the receiver's event log, drive Dagster.

The receiver (`fivetran_assets.webhooks`) stores every signed event durably; this sensor reads
the events after its cursor (the last event id it handled) on a short interval and makes no
Fivetran API call for them:

- `sync_end` SUCCESSFUL of a connection scheduled by Fivetran -> one materialization per table,
  with the sync id, start and end; of one scheduled by Dagster -> nothing to record (the run
  that triggered the sync records it; its wait reads the same log, see `webhook_waiter`);
- `sync_end` FAILURE or RESCHEDULED -> an observation per table with the reason, and a warning
  with the connection's dashboard URL;
- transformation events -> materializations of the models of Fivetran-scheduled
  transformations, observations with dbt's message when a run failed;
- integrated (and partially integrated) transformations scheduled by Dagster -> a run request
  as soon as every connection they follow has synced since their last run;
- `edit_connector`, or tables in a connection's destination schemas that the snapshot lacks ->
  a run of the state refresh job (`refresh_fivetran_state`, see `webhook_schema`). The sensor
  never writes the snapshot itself: the run captures it and stores it through Dagster's defs
  state storage, so the code server, the daemon and the run workers may live apart, and the
  refresh shows in the UI as a run that succeeded or failed.

Exactly once: the cursor and the tick's results are committed together by Dagster; a tick that
failed is re-read from the same cursor; a run request's `run_key` names the event that
completed it; and nothing is recorded that the instance already holds for the same sync
(`webhook_record`), which is also how this sensor and the polling one share the work.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

from fivetran_assets.dagster.estate_view import EstateView
from fivetran_assets.dagster.resources import DestinationResource, FivetranResource
from fivetran_assets.dagster.specs import ConnectionAssets, TransformationAssets
from fivetran_assets.dagster.webhook_handler import (
    HANDLED_EVENTS,
    EstateIndex,
    EventHandler,
    TickResult,
    WebhookCursor,
)
from fivetran_assets.dagster.webhook_schema import new_tables
from fivetran_assets.snapshot.store import Snapshot
from fivetran_assets.snapshot.warehouse import TableStats, Warehouse, WarehouseError
from fivetran_assets.webhooks import EventLog, EventLogLocation

DEFAULT_NAME = "fivetran_webhook_sensor"
log = logging.getLogger("fivetran_assets.dagster")


def build_webhook_sensor(
    conns: Sequence[ConnectionAssets],
    transforms: Sequence[TransformationAssets] = (),
    *,
    event_log: EventLogLocation,
    name: str = DEFAULT_NAME,
    minimum_interval_seconds: int = 5,
    request_integrated_runs: bool = True,
    refresh_job: dg.JobDefinition | None = None,
    detect_new_tables: bool = True,
    warehouses: Mapping[str, Warehouse | None] | None = None,
    page_size: int = 500,
    max_events_per_tick: int = 5000,
    start_from_latest: bool = False,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    """The webhook sensor over `event_log` (the receiver's `--db` file).

    `request_integrated_runs` makes this sensor the trigger of Dagster-run integrated
    transformations; turn the models' automation condition off when it is on, or both request.
    `refresh_job` is requested on a schema change (it refreshes the component's state);
    without it a schema change is only logged.
    `start_from_latest` makes the first tick skip the events already in the log instead of
    handling them (their syncs are then not recorded).
    """
    if page_size < 1 or max_events_per_tick < page_size:
        raise ValueError(
            f"build_webhook_sensor: need 1 <= page_size <= max_events_per_tick, got "
            f"page_size={page_size}, max_events_per_tick={max_events_per_tick}"
        )
    if minimum_interval_seconds < 1:
        raise ValueError(
            f"build_webhook_sensor: minimum_interval_seconds must be >= 1, got "
            f"{minimum_interval_seconds}"
        )
    index = EstateIndex.build(conns, transforms)
    for problem in index.unresolved:
        log.warning("%s cannot request integrated transformation %s", name, problem)
    targets = [key for item in index.integrated for key in item.assets.models]
    selection = dg.AssetSelection.assets(*targets) if targets and request_integrated_runs else None
    if selection is not None and refresh_job is not None:
        raise ValueError(
            "build_webhook_sensor: a sensor targets assets or jobs, not both: pass "
            "request_integrated_runs=False (automation conditions request them) with refresh_job"
        )

    @dg.sensor(
        name=name,
        minimum_interval_seconds=minimum_interval_seconds,
        asset_selection=selection,
        jobs=[refresh_job] if refresh_job is not None else None,
        default_status=default_status,
        description=(
            "Reacts to Fivetran webhooks stored by the receiver: records Fivetran-run syncs and "
            "transformations, observes failures, requests integrated transformations, refreshes "
            "the asset snapshot on schema changes. No Fivetran API calls per event."
        ),
    )
    def _sensor(
        context: dg.SensorEvaluationContext,
        fivetran: FivetranResource,
        destination: DestinationResource,
    ) -> dg.SensorResult:
        events = EventLog(event_log)
        cursor = WebhookCursor.from_json(context.cursor)
        if cursor is None:
            cursor = WebhookCursor(after=events.latest_id() if start_from_latest else 0)
        _warn_on_gap(context, events, cursor.after)

        def stats(
            group: str, relations: list[tuple[str, str]]
        ) -> dict[tuple[str, str], TableStats]:
            warehouse = destination.get_warehouse(recorded=(warehouses or {}).get(group))
            if warehouse is None or not relations:
                return {}
            try:
                return warehouse.describe(relations)
            except WarehouseError as exc:
                context.log.warning(f"row counts unavailable: {exc}")
                return {}

        handler = EventHandler(
            index=index,
            instance=context.instance,
            cursor=cursor,
            dashboard_base=fivetran.dashboard_base(),
            stats=stats,
            log=context.log,
            request_integrated_runs=request_integrated_runs,
        )
        handled = 0
        while handled < max_events_per_tick:
            page = events.read_page(cursor.after, limit=page_size, events=HANDLED_EVENTS)
            for stored in page.events:
                handler.handle(stored)
            handled += len(page.events)
            cursor.after = max(cursor.after, page.cursor)
            if len(page.events) < page_size:
                break
        result = handler.result
        if detect_new_tables:
            _check_new_tables(result, cursor, destination, warehouses or {})
        if result.schema_changes:
            result.run_requests.extend(
                _refresh(context, refresh_job, result.schema_changes, cursor.after)
            )
        if not result.asset_events and not result.run_requests:
            return dg.SensorResult(
                skip_reason=(
                    f"{handled} event(s), {result.skipped} of them outside this estate; "
                    "nothing to record or request"
                ),
                cursor=cursor.to_json(),
            )
        return dg.SensorResult(
            asset_events=result.asset_events,
            run_requests=result.run_requests,
            cursor=cursor.to_json(),
        )

    return _sensor


def build_webhook_definitions(
    view: EstateView,
    snapshot: Snapshot | None,
    *,
    event_log: EventLogLocation,
    **sensor_kwargs: Any,
) -> dg.Definitions:
    """Definitions holding only the webhook sensor, to merge with the Fivetran definitions
    (`dg.Definitions.merge(fivetran_defs, webhook_defs)`; resources come from those).

    Row counts come from the destinations the snapshot recorded unless `warehouses` is given.
    """
    from fivetran_assets.dagster.specs import translate
    from fivetran_assets.snapshot.warehouse import warehouse_for

    conns, transforms = translate(view, snapshot)
    sensor_kwargs.setdefault(
        "warehouses",
        {
            g.name: warehouse_for(g.destination_service, g.destination_config)
            for g in (snapshot.groups if snapshot else ())
        },
    )
    sensor = build_webhook_sensor(conns, transforms, event_log=event_log, **sensor_kwargs)
    return dg.Definitions(sensors=[sensor])


def _warn_on_gap(context: dg.SensorEvaluationContext, events: EventLog, after: int) -> None:
    """Retention pruned events this sensor never read: say so instead of pretending."""
    if after == 0:
        return
    oldest = events.oldest_id()
    if oldest is not None and oldest > after + 1:
        context.log.warning(
            f"webhook events {after + 1}..{oldest - 1} were pruned from {events.location} before "
            "this sensor read them; the polling sensor or a refresh must cover that gap"
        )


def _check_new_tables(
    result: TickResult,
    cursor: WebhookCursor,
    destination: DestinationResource,
    warehouses: Mapping[str, Warehouse | None],
) -> None:
    for cid, ca in result.new_table_checks.items():
        warehouse = destination.get_warehouse(recorded=warehouses.get(ca.view.group))
        found = new_tables(ca, warehouse, cursor.reported.get(cid, ()))
        if found:
            cursor.reported[cid] = sorted({*cursor.reported.get(cid, ()), *found})
            result.schema_changes.append(
                f"connection {ca.view.name} landed new table(s) {', '.join(found)}"
            )


def _refresh(
    context: dg.SensorEvaluationContext,
    refresh_job: dg.JobDefinition | None,
    reasons: list[str],
    after: int,
) -> list[dg.RunRequest]:
    """A run of the refresh job for this tick's schema changes (the event id keys it: a tick
    re-read after a failure asks once); without a job, a warning saying what to run."""
    summary = "; ".join(dict.fromkeys(reasons))
    if refresh_job is None:
        context.log.warning(
            f"schema change ({summary}): refresh the definitions' state "
            "(`dg utils refresh-defs-state` or `fivetran-assets refresh`)"
        )
        return []
    context.log.info(f"schema change ({summary}): requesting {refresh_job.name}")
    return [
        dg.RunRequest(
            run_key=f"{refresh_job.name}:{after}",
            job_name=refresh_job.name,
            tags={"fivetran/requested_by": "fivetran_webhook_sensor"},
        )
    ]
