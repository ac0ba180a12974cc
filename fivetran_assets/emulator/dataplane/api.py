"""The data plane's entry points, called by the local Fivetran's API (see contract.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fivetran_assets.emulator.dataplane import dbt_runner, schema_config, sync, types
from fivetran_assets.emulator.dataplane.contract import (
    Cancelled,
    Catalog,
    DataPlaneError,
    DbtRunReport,
    DbtRunRequest,
    ServiceInfo,
    SetupTest,
    SyncReport,
    SyncRequest,
)
from fivetran_assets.emulator.dataplane.registry import (
    make_destination,
    make_source,
    source_identity,
)
from fivetran_assets.emulator.dataplane.services import (
    DESTINATION_SERVICES as _DESTINATIONS,
)
from fivetran_assets.emulator.dataplane.services import (
    SOURCE_SERVICES as _SOURCES,
)
from fivetran_assets.emulator.dataplane.state import SyncState

SOURCE_SERVICES: dict[str, ServiceInfo] = _SOURCES
DESTINATION_SERVICES: dict[str, ServiceInfo] = _DESTINATIONS


def test_source(service: str, config: dict[str, Any]) -> list[SetupTest]:
    """Really connect to the source; FAILED tests carry the driver's reason."""
    return make_source(service, config).test()


def test_destination(service: str, config: dict[str, Any]) -> list[SetupTest]:
    """Really connect to the destination; FAILED tests carry the driver's reason."""
    return make_destination(service, config).test()


def capture_catalog(service: str, config: dict[str, Any]) -> Catalog:
    """Schemas, tables, columns (declared types, primary keys) in source order."""
    return make_source(service, config).catalog()


def merge_schema_config(
    current: dict[str, Any] | None,
    catalog: Catalog,
    *,
    schema_change_handling: str,
    exclude_mode: str = "PRESERVE",
    schema_prefix: str | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Fivetran's reload rules; see schema_config.merge_schema_config."""
    return schema_config.merge_schema_config(
        current,
        catalog,
        schema_change_handling=schema_change_handling,
        exclude_mode=exclude_mode,
        schema_prefix=schema_prefix,
    )


def run_sync(request: SyncRequest, *, cancelled: Cancelled) -> SyncReport:
    """Sync one connection. `SyncReport.extra` holds `schema_config` (the config after applying
    `schema_change_handling` to what appeared at the source) and `schema_changes`."""
    return sync.run_sync(request, cancelled=cancelled)


def test_transformation_project(project_config: dict[str, Any]) -> list[SetupTest]:
    """Check the dbt project can be found locally (the local Fivetran cannot clone git)."""
    return dbt_runner.test_project(project_config)


def run_dbt(request: DbtRunRequest, *, cancelled: Cancelled) -> DbtRunReport:
    """Run the steps' dbt commands against the destination; see dbt_runner."""
    return dbt_runner.run_dbt(request, cancelled=cancelled)


def destination_type(destination_service: str, source_type: str | None) -> str | None:
    """The SQL type a column of declared ``source_type`` gets in the destination (None when
    the source type is unknown): what the metadata API reports as `type_in_destination`."""
    if source_type is None:
        return None
    sql = types.postgres_type if "postgres" in destination_service else types.duckdb_type
    return sql(types.logical_type(source_type))


def read_sync_state(state_dir: Path, connection_id: str, service: str, config: dict) -> dict:
    """What the next incremental sync of a connection starts from: ``{"tables": {"<schema>.
    <table>": {"cursor": ..., "columns": [...]}}}`` (the API's `GET .../state`)."""
    state = SyncState.for_connection(state_dir, connection_id, source_identity(service, config))
    return {"tables": state.tables}


def write_sync_state(
    state_dir: Path, connection_id: str, service: str, config: dict, value: Any
) -> dict:
    """Replace the saved cursors (the API's `PATCH .../state`); the shape is checked whole."""
    tables = value.get("tables") if isinstance(value, dict) else None
    if not isinstance(tables, dict) or set(value) != {"tables"}:
        raise DataPlaneError('state must be {"tables": {"<schema>.<table>": {...}}}')
    for name, entry in tables.items():
        columns = entry.get("columns") if isinstance(entry, dict) else None
        if (
            "." not in name
            or not isinstance(entry, dict)
            or set(entry) != {"cursor", "columns"}
            or not isinstance(columns, list)
            or not all(isinstance(c, str) for c in columns)
        ):
            raise DataPlaneError(
                f'state.tables.{name} must be {{"cursor": ..., "columns": [names]}}'
            )
    state = SyncState.for_connection(state_dir, connection_id, source_identity(service, config))
    state.replace(tables)
    return {"tables": state.tables}
