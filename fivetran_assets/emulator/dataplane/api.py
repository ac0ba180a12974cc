"""The data plane's entry points, called by the local Fivetran's API (see contract.py)."""

from __future__ import annotations

from typing import Any

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

SOURCE_SERVICES: dict[str, ServiceInfo] = {}
DESTINATION_SERVICES: dict[str, ServiceInfo] = {}


def test_source(service: str, config: dict[str, Any]) -> list[SetupTest]:
    raise NotImplementedError


def test_destination(service: str, config: dict[str, Any]) -> list[SetupTest]:
    raise NotImplementedError


def capture_catalog(service: str, config: dict[str, Any]) -> Catalog:
    raise NotImplementedError


def merge_schema_config(
    current: dict[str, Any] | None,
    catalog: Catalog,
    *,
    schema_change_handling: str,
    exclude_mode: str = "PRESERVE",
) -> tuple[dict[str, Any], list[str]]:
    raise NotImplementedError


def run_sync(request: SyncRequest, *, cancelled: Cancelled) -> SyncReport:
    raise NotImplementedError


def test_transformation_project(project_config: dict[str, Any]) -> list[SetupTest]:
    raise NotImplementedError


def run_dbt(request: DbtRunRequest, *, cancelled: Cancelled) -> DbtRunReport:
    raise NotImplementedError
