"""The data plane's entry points, called by the local Fivetran's API (see contract.py)."""

from __future__ import annotations

from typing import Any

from fivetran_assets.emulator.dataplane import dbt_runner, schema_config, sync
from fivetran_assets.emulator.dataplane.contract import (
    Cancelled,
    Catalog,
    DbtRunReport,
    DbtRunRequest,
    ServiceInfo,
    SetupTest,
    SyncReport,
    SyncRequest,
)
from fivetran_assets.emulator.dataplane.registry import make_destination, make_source
from fivetran_assets.emulator.dataplane.services import (
    DESTINATION_SERVICES as _DESTINATIONS,
)
from fivetran_assets.emulator.dataplane.services import (
    SOURCE_SERVICES as _SOURCES,
)

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
