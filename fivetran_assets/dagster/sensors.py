"""The polling sensor: records syncs that Fivetran ran on its own schedule as materializations.

For connections `scheduled_by: fivetran` Dagster triggers nothing; it observes. Each tick reads
at most `per_tick` connections (one GET each, concurrently), starting where the previous tick
stopped so every connection gets its turn however many there are. The cursor keeps, per
connection, the last `succeeded_at` seen. Before recording, it asks `webhook_record.unrecorded`,
the rule every recorder shares: a table whose latest materialization already stands for this
sync (a Dagster run triggered or joined it, or the webhook sensor recorded it) is skipped, and
so is a table an unfinished Dagster run is waiting on (that run records it). So the polling
and webhook sensors together never record one sync twice.
"""

import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import dagster as dg

from fivetran_assets.dagster.estate_view import ScheduledBy
from fivetran_assets.dagster.resources import DestinationResource, FivetranResource
from fivetran_assets.dagster.specs import ConnectionAssets
from fivetran_assets.dagster.translator import dashboard_metadata, dashboard_url
from fivetran_assets.dagster.webhook_record import RunIdentity, unrecorded
from fivetran_assets.snapshot.warehouse import Warehouse, WarehouseError

ENDED_KEY = "fivetran/sync_ended_at"


def _load_cursor(raw: str | None) -> tuple[int, dict[str, str]]:
    if not raw:
        return 0, {}
    data = json.loads(raw)
    return int(data.get("offset", 0)), dict(data.get("seen", {}))


def sync_materializations(
    ca: ConnectionAssets,
    connection: Any,
    *,
    dashboard_base: str,
    stats: dict[tuple[str, str], Any] | None = None,
    keys: Sequence[dg.AssetKey] | None = None,
) -> list[dg.AssetMaterialization]:
    """One materialization per table (of `keys`, default all) for the sync that ended at
    `connection.succeeded_at`."""
    ended: datetime = connection.succeeded_at
    wanted = set(ca.tables if keys is None else keys)
    out = []
    for key, table in ca.tables.items():
        if key not in wanted:
            continue
        meta: dict[str, Any] = {
            ENDED_KEY: dg.MetadataValue.timestamp(ended),
            "fivetran/recorded_by": "polling sensor",
            **dashboard_metadata(dashboard_url(dashboard_base, connection.id)),
        }
        st = (stats or {}).get((table.destination_schema, table.destination_table))
        if st is not None and st.exists:
            meta["dagster/row_count"] = st.row_count
        out.append(dg.AssetMaterialization(asset_key=key, metadata=meta))
    return out


def build_polling_sensor(
    conns: Sequence[ConnectionAssets],
    *,
    name: str = "fivetran_sync_polling_sensor",
    per_tick: int = 100,
    workers: int = 8,
    minimum_interval_seconds: int = 60,
    warehouses: Mapping[str, Warehouse | None] | None = None,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition | None:
    watched = [
        ca
        for ca in conns
        if ca.view.scheduled_by is ScheduledBy.FIVETRAN and ca.connection_id and ca.tables
    ]
    if not watched:
        return None
    if per_tick < 1:
        raise ValueError(f"per_tick must be at least 1, got {per_tick}")

    @dg.sensor(
        name=name,
        minimum_interval_seconds=minimum_interval_seconds,
        asset_selection=dg.AssetSelection.assets(*[s.key for ca in watched for s in ca.specs]),
        default_status=default_status,
        description=(
            "Records syncs Fivetran ran on its own schedule (connections scheduled_by fivetran) "
            "as materializations; one GET per connection per tick at most."
        ),
    )
    def _sensor(
        context: dg.SensorEvaluationContext,
        fivetran: FivetranResource,
        destination: DestinationResource,
    ) -> dg.SensorResult:
        offset, seen = _load_cursor(context.cursor)
        count = min(per_tick, len(watched))
        batch = [watched[(offset + i) % len(watched)] for i in range(count)]
        client = fivetran.get_client()
        with ThreadPoolExecutor(max_workers=min(workers, count)) as pool:
            results = list(pool.map(lambda ca: _read(client, ca), batch))
        events: list[dg.AssetMaterialization] = []
        for ca, connection in results:
            if connection is None or connection.succeeded_at is None:
                continue
            cid = ca.connection_id or ""
            ended = connection.succeeded_at
            if seen.get(cid) == ended.isoformat():
                continue
            seen[cid] = ended.isoformat()
            keys = unrecorded(context.instance, list(ca.tables), RunIdentity.sync(ended, None))
            if not keys:
                continue  # recorded already, or an unfinished Dagster run will record it
            stats = None
            warehouse = destination.get_warehouse(recorded=(warehouses or {}).get(ca.view.group))
            if warehouse is not None:
                try:
                    stats = warehouse.describe(
                        [
                            (ca.tables[k].destination_schema, ca.tables[k].destination_table)
                            for k in keys
                        ]
                    )
                except WarehouseError as exc:
                    context.log.warning(f"row counts unavailable: {exc}")
            events.extend(
                sync_materializations(
                    ca,
                    connection,
                    dashboard_base=fivetran.dashboard_base(),
                    stats=stats,
                    keys=keys,
                )
            )
        cursor = json.dumps({"offset": (offset + count) % len(watched), "seen": seen})
        if not events:
            return dg.SensorResult(skip_reason="no new Fivetran-run syncs", cursor=cursor)
        return dg.SensorResult(asset_events=events, cursor=cursor)

    return _sensor


def _read(client: Any, ca: ConnectionAssets) -> tuple[ConnectionAssets, Any]:
    """`GET /v1/connections/{id}`; a failure skips this connection for this tick only."""
    from fivetran_assets.fivetran.errors import FivetranError

    try:
        return ca, client.get_connection(ca.connection_id)
    except FivetranError:
        return ca, None
