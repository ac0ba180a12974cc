"""Build a source or destination object from a service id and its config."""

from __future__ import annotations

from typing import Any

from fivetran_assets.emulator.dataplane.contract import DataPlaneError
from fivetran_assets.emulator.dataplane.destinations.base import Destination
from fivetran_assets.emulator.dataplane.services import DESTINATION_SERVICES, SOURCE_SERVICES
from fivetran_assets.emulator.dataplane.sources.base import Source


def make_source(service: str, config: dict[str, Any]) -> Source:
    if service == "sqlite":
        from fivetran_assets.emulator.dataplane.sources.sqlite import SqliteSource

        return SqliteSource(config)
    if service == "postgres":
        from fivetran_assets.emulator.dataplane.sources.postgres import PostgresSource

        return PostgresSource(config)
    raise DataPlaneError(
        f"unknown source service {service!r}; the local Fivetran supports "
        f"{', '.join(sorted(SOURCE_SERVICES))}"
    )


def make_destination(service: str, config: dict[str, Any]) -> Destination:
    if service == "duckdb":
        from fivetran_assets.emulator.dataplane.destinations.duckdb import DuckDBDestination

        return DuckDBDestination(config)
    if service == "postgres_warehouse":
        from fivetran_assets.emulator.dataplane.destinations.postgres import PostgresDestination

        return PostgresDestination(config)
    raise DataPlaneError(
        f"unknown destination service {service!r}; the local Fivetran supports "
        f"{', '.join(sorted(DESTINATION_SERVICES))}"
    )


def source_identity(service: str, config: dict[str, Any]) -> str:
    """Which database a source config points at (no secrets), to scope saved cursors."""
    if service == "sqlite":
        return f"sqlite:{config.get('database')}"
    return f"{service}:{config.get('host')}:{config.get('port')}/{config.get('database')}"
