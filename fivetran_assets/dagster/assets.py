"""Multi-assets: one per connection (a sync) and one per transformation (a dbt run).

Each asset function is thin: read run config, call `runs.run_sync` / `runs.run_transformation`,
read the warehouse, and yield one `MaterializeResult` per selected table or model. `RunFailed`
becomes `dagster.Failure` here and nowhere else.
"""

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import dagster as dg

from fivetran_assets.dagster.checks import DRIFT, drift_check_specs, drift_result
from fivetran_assets.dagster.resources import DestinationResource, FivetranResource
from fivetran_assets.dagster.runs import (
    RunFailed,
    SyncOutcome,
    SyncRequest,
    run_sync,
    run_transformation,
)
from fivetran_assets.dagster.specs import ConnectionAssets, TransformationAssets
from fivetran_assets.dagster.translator import dashboard_metadata, dashboard_url
from fivetran_assets.dagster.waiting import PollingWaiter, SyncWaiter, TransformationWaiter
from fivetran_assets.dagster.webhook_record import SYNC_ENDED_KEY
from fivetran_assets.snapshot.store import TableSnapshot
from fivetran_assets.snapshot.warehouse import (
    SyncWindow,
    TableStats,
    Warehouse,
    WarehouseError,
)

DURATION_KEY = "fivetran/sync_duration_seconds"
ROWS_SYNCED_KEY = "fivetran/rows_synced"
STARTED_KEY = "fivetran/sync_started_at"


# Run config as plain Dagster fields, built once: inferring a schema from a Config class (and
# resources from parameters) per op costs milliseconds that a thousand connections turn into
# seconds of code-server start.
SYNC_CONFIG = {
    "force": dg.Field(bool, default_value=False, description="Restart a running sync."),
    "resync": dg.Field(bool, default_value=False, description="Historical resync of it all."),
    "resync_tables": dg.Field(
        [str], default_value=[], description="Source tables to resync, as `schema.table`."
    ),
    "timeout_seconds": dg.Field(
        dg.Noneable(float), default_value=None, description="Wait limit (resource default)."
    ),
}
TRANSFORMATION_CONFIG = {
    "full_refresh": dg.Field(bool, default_value=False),
    "timeout_seconds": dg.Field(dg.Noneable(float), default_value=None),
}
_RESOURCES = {"fivetran", "destination"}


def _failure(exc: RunFailed) -> dg.Failure:
    meta = {k: v for k, v in exc.details.items() if v not in (None, [], "")}
    if isinstance(meta.get("dashboard_url"), str):
        meta["dashboard_url"] = dg.MetadataValue.url(meta["dashboard_url"])
    return dg.Failure(description=exc.message, metadata=meta)


def previous_duration(instance: dg.DagsterInstance, keys: list[dg.AssetKey]) -> float | None:
    """The connection's last sync duration (Fivetran seconds): times the first poll.

    A Dagster run records it (`fivetran/sync_duration_seconds`); a sync Fivetran ran on its own
    and the webhook sensor recorded carries its start and end instead, so a connection Dagster
    has never synced itself still gets a timed first look.
    """
    for key in keys[:1]:
        event = instance.get_latest_materialization_event(key)
        mat = event.asset_materialization if event else None
        if mat is None:
            return None
        value = mat.metadata.get(DURATION_KEY)
        if value is not None:
            return float(value.value)
        started = mat.metadata.get(STARTED_KEY)
        ended = mat.metadata.get(SYNC_ENDED_KEY)
        if started is not None and ended is not None:
            duration = float(ended.value) - float(started.value)
            return duration if duration > 0 else None
    return None


def _resync_scope(ca: ConnectionAssets, names: list[str]) -> dict[str, list[str]]:
    """`schema.table` (or a bare table when unambiguous) -> {schema: [tables]}; bad names fail."""
    known = {(t.schema, t.table) for t in ca.tables.values()}
    scope: dict[str, list[str]] = {}
    for name in names:
        schema, _, table = name.rpartition(".")
        matches = [k for k in known if k[1] == table and (not schema or k[0] == schema)]
        if len(matches) != 1:
            choices = ", ".join(sorted(f"{s}.{t}" for s, t in known))
            raise dg.Failure(
                f"resync_tables: {name!r} does not name exactly one table of connection "
                f"{ca.view.name}; choose from {choices}"
            )
        scope.setdefault(matches[0][0], []).append(matches[0][1])
    return scope


def _describe(
    warehouse: Warehouse | None,
    wanted: list[tuple[str, str]],
    log: Any,
    *,
    window: SyncWindow | None = None,
) -> dict[tuple[str, str], TableStats]:
    if warehouse is None:
        return {}
    try:
        return warehouse.describe(wanted, window=window)
    except WarehouseError as exc:
        log.warning(f"row counts unavailable: {exc}")
        return {}


def _table_schema(stats: TableStats, hashed: set[str]) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=name,
                type=type_,
                description="SHA-256 hashed by Fivetran" if name in hashed else None,
            )
            for name, type_ in (stats.columns or {}).items()
        ]
    )


def table_names(specs: Iterable[dg.AssetSpec]) -> dict[dg.AssetKey, str]:
    """Each spec's `dagster/table_name`: a materialization records where the asset lives now
    (after a warehouse switch, the new database)."""
    return {
        spec.key: str(spec.metadata["dagster/table_name"])
        for spec in specs
        if "dagster/table_name" in spec.metadata
    }


def connection_multi_asset(
    ca: ConnectionAssets,
    *,
    pool: str | None,
    waiter_factory: Any = None,
    warehouse_default: Warehouse | None = None,
    checks: bool = True,
) -> dg.AssetsDefinition:
    """The multi-asset syncing one connection; `waiter_factory(resource) -> SyncWaiter`.

    With only its drift checks selected it syncs nothing and just reads the warehouse.
    """
    view = ca.view
    names = table_names(ca.specs)

    @dg.multi_asset(
        name=ca.op_name,
        specs=list(ca.specs),
        check_specs=drift_check_specs(list(ca.tables)) if checks else None,
        can_subset=True,
        pool=pool,
        description=f"Sync Fivetran connection `{view.name}` of group `{view.group}`.",
        config_schema=SYNC_CONFIG,
        required_resource_keys=_RESOURCES,
    )
    def _sync(context: dg.AssetExecutionContext) -> Iterator[Any]:
        fivetran: FivetranResource = context.resources.fivetran
        destination: DestinationResource = context.resources.destination
        selected = [k for k in ca.tables if k in context.selected_asset_keys]
        checked = {c.asset_key for c in context.selected_asset_check_keys if c.name == DRIFT}
        outcome = _sync_connection(context, ca, fivetran, waiter_factory) if selected else None
        warehouse = destination.get_warehouse(recorded=warehouse_default)
        tables = {k: t for k, t in ca.tables.items() if k in checked or k in selected}
        stats = _describe(
            warehouse,
            [(t.destination_schema, t.destination_table) for t in tables.values()],
            context.log,
            window=SyncWindow(outcome.previous_end, outcome.ended_at) if outcome else None,
        )
        for key, table in tables.items():
            st = stats.get((table.destination_schema, table.destination_table))
            check = drift_result(key, table, st if warehouse else None)
            if outcome is None or key not in selected:
                yield check
                continue
            metadata = _table_metadata(outcome, table, st, fivetran, ca)
            if key in names:
                metadata["dagster/table_name"] = names[key]
            yield dg.MaterializeResult(
                asset_key=key,
                metadata=metadata,
                check_results=[check] if key in checked else None,
            )

    return _sync


def _sync_connection(
    context: dg.AssetExecutionContext,
    ca: ConnectionAssets,
    fivetran: FivetranResource,
    waiter_factory: Any,
) -> SyncOutcome:
    """Run (or join) the sync through the seam; `RunFailed` becomes `dg.Failure` here."""
    config = context.op_execution_context.op_config
    if ca.connection_id is None:
        raise dg.Failure(
            f"connection {ca.view.group}/{ca.view.name} is not in the snapshot: run "
            "`fivetran-assets apply` or `fivetran-assets refresh`"
        )
    waiter: SyncWaiter = (
        waiter_factory(fivetran) if waiter_factory else PollingWaiter(fivetran.polling())
    )
    request = SyncRequest(
        connection_id=ca.connection_id,
        force=config["force"],
        resync=config["resync"],
        resync_tables=_resync_scope(ca, config["resync_tables"]),
        timeout=config["timeout_seconds"] or fivetran.sync_timeout_seconds,
        unpause=fivetran.unpause_paused,
        expected_duration=previous_duration(context.instance, list(ca.tables)),
        dashboard_url=dashboard_url(fivetran.dashboard_base(), ca.connection_id),
    )
    try:
        outcome = run_sync(
            fivetran.get_client(), request, waiter=waiter, time_scale=fivetran.time_scale
        )
    except RunFailed as exc:
        raise _failure(exc) from exc
    context.log.info(
        f"{'joined' if outcome.joined else 'ran'} sync of {ca.view.name}: "
        f"{outcome.duration_seconds:.1f} s"
    )
    return outcome


def _table_metadata(
    outcome: SyncOutcome,
    table: TableSnapshot,
    st: TableStats | None,
    fivetran: FivetranResource,
    ca: ConnectionAssets,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        STARTED_KEY: dg.MetadataValue.timestamp(outcome.started_at),
        SYNC_ENDED_KEY: dg.MetadataValue.timestamp(outcome.ended_at),
        DURATION_KEY: outcome.duration_seconds,
        "fivetran/joined_running_sync": outcome.joined,
        **dashboard_metadata(dashboard_url(fivetran.dashboard_base(), ca.connection_id or "")),
    }
    if outcome.sync_id:
        meta["fivetran/sync_id"] = outcome.sync_id
    if st is not None and st.exists:
        meta["dagster/row_count"] = st.row_count
        meta["fivetran/active_row_count"] = st.active_row_count
        if st.synced_rows is not None:
            meta[ROWS_SYNCED_KEY] = st.synced_rows  # what this sync wrote, beside the total
        hashed = {c.name for c in table.columns if c.hashed}
        meta["dagster/column_schema"] = _table_schema(st, hashed)
    elif st is not None:
        meta["fivetran/table_missing_in_warehouse"] = True
    return meta


def transformation_multi_asset(
    ta: TransformationAssets,
    *,
    pool: str | None,
    warehouse_default: Warehouse | None = None,
    failure_reason: Callable[[str], str | None] | None = None,
    waiter_factory: Callable[[FivetranResource], TransformationWaiter] | None = None,
) -> dg.AssetsDefinition:
    """The multi-asset running one transformation; `waiter_factory(resource)` waits for the run
    (default: polling), `failure_reason(id)` supplies dbt's message of a failed run when the
    waiter did not see it (the REST resource has none; the webhook event log does)."""
    view = ta.view
    transformation_id = ta.snapshot.id if ta.snapshot else None
    names = table_names(ta.specs)

    @dg.multi_asset(
        name=ta.op_name,
        specs=list(ta.specs),
        pool=pool,
        description=(
            f"Run Fivetran transformation `{view.name}` of group `{view.group}` (dbt); "
            "a run builds all of its models."
        ),
        config_schema=TRANSFORMATION_CONFIG,
        required_resource_keys=_RESOURCES,
    )
    def _transform(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
        config = context.op_execution_context.op_config
        fivetran: FivetranResource = context.resources.fivetran
        destination: DestinationResource = context.resources.destination
        if transformation_id is None:
            raise dg.Failure(
                f"transformation {view.group}/{view.name} is not in the snapshot: run "
                "`fivetran-assets apply` or `fivetran-assets refresh`"
            )
        try:
            outcome = run_transformation(
                fivetran.get_client(),
                transformation_id,
                full_refresh=config["full_refresh"],
                timeout=config["timeout_seconds"] or fivetran.sync_timeout_seconds,
                waiter=waiter_factory(fivetran)
                if waiter_factory
                else PollingWaiter(fivetran.polling()),
                failure_reason=failure_reason,
            )
        except RunFailed as exc:
            raise _failure(exc) from exc
        built = set(outcome.transformation.output_model_names or ())
        warehouse = destination.get_warehouse(recorded=warehouse_default)
        relations = ta.relations()
        stats = _describe(warehouse, list(relations.values()), context.log)
        duration = (outcome.ended_at - outcome.started_at).total_seconds()
        for key, model in ta.models.items():
            meta: dict[str, Any] = {
                "fivetran/run_started_at": dg.MetadataValue.timestamp(outcome.started_at),
                "fivetran/run_ended_at": dg.MetadataValue.timestamp(outcome.ended_at),
                "fivetran/run_duration_seconds": max(0.0, duration),
                "fivetran/in_output_models": model.name in built or not built,
            }
            if key in names:
                meta["dagster/table_name"] = names[key]
            st = stats.get(relations[key])
            if st is not None and st.exists:
                meta["dagster/row_count"] = st.row_count
                meta["dagster/column_schema"] = _table_schema(st, set())
            yield dg.MaterializeResult(asset_key=key, metadata=meta)

    return _transform
