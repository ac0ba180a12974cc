"""Dagster resources: the Fivetran API client and the destination warehouse.

`FivetranResource` holds no client at definition time (nothing connects while definitions load);
`get_client()` builds one per run through the project's one client builder
(`estate.connect.build_client`), with the base URL, timeouts, retries and the whole rate budget
(requests and connection creates) of the estate's account section, paced by the budget every
process of the deployment shares. Credentials come only through `dg.EnvVar`, so they never sit
in code or run config; `rate_state` holds the account section's value with its references
unresolved (they resolve in the run's environment).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from fivetran_assets.dagster.estate_view import dashboard_base_for
from fivetran_assets.dagster.waiting import PollingSettings
from fivetran_assets.snapshot.warehouse import (
    DuckDBWarehouse,
    PostgresWarehouse,
    Warehouse,
)


class FivetranResource(dg.ConfigurableResource):
    """Reach the Fivetran REST API (or the local Fivetran) and wait for syncs."""

    api_key: str = Field(description="Use dg.EnvVar('FIVETRAN_API_KEY').", repr=False)
    api_secret: str = Field(description="Use dg.EnvVar('FIVETRAN_API_SECRET').", repr=False)
    base_url: str | None = Field(
        default=None, description="None: $FIVETRAN_BASE_URL, else https://api.fivetran.com."
    )
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_retries: int = 5
    requests_per_hour: int = Field(20_000, description="The account's rolling-hour API budget.")
    connection_creates_per_minute: int = 20
    connection_creates_per_hour: int = 100
    rate_state: str | None = Field(
        None,
        description="The shared state database (account.rate_state, references unresolved); "
        "$FIVETRAN_ASSETS_RATE_STATE wins; neither: state.sqlite in `state_dir`.",
    )
    state_dir: str | None = Field(
        None,
        description="The project's state folder; None with no rate_state: this process paces "
        "itself alone.",
    )
    legacy_paths: bool = False
    time_scale: float = Field(
        1.0, description="Fivetran seconds per real second (60 for the local Fivetran in tests)."
    )
    poll_first_look_seconds: float = Field(
        10.0, description="First poll after a trigger when no previous sync duration is known."
    )
    poll_max_interval_seconds: float = Field(60.0, description="Back-off ceiling while waiting.")
    poll_backoff: float = 2.0
    poll_jitter: float = Field(0.1, description="Fraction of each interval randomised.")
    sync_timeout_seconds: float = Field(3 * 3600, description="Default wait limit of a sync.")
    unpause_paused: bool = Field(
        False, description="Unpause a paused connection before syncing instead of failing."
    )
    dashboard_base_url: str | None = Field(
        None,
        description="Fivetran's dashboard for links in metadata; None: fivetran.com's for "
        'Fivetran\'s API, none for another (the local Fivetran); "": never link.',
    )

    def dashboard_base(self) -> str:
        """Where connection pages live ("" for none), from `dashboard_base_url` or the API."""
        if self.dashboard_base_url is not None:
            return self.dashboard_base_url
        return dashboard_base_for(self.base_url or os.environ.get("FIVETRAN_BASE_URL"))

    def polling(self) -> PollingSettings:
        return PollingSettings(
            first_look=self.poll_first_look_seconds,
            max_interval=self.poll_max_interval_seconds,
            backoff=self.poll_backoff,
            jitter=self.poll_jitter,
            time_scale=self.time_scale,
        )

    def client_settings(self) -> Any:
        """What `get_client` builds from (`estate.connect.ClientSettings`)."""
        from fivetran_assets.estate.connect import ClientSettings, state_location
        from fivetran_assets.state.shared import RATE_STATE_ENV

        shared = self.rate_state or os.environ.get(RATE_STATE_ENV)
        state = None
        if shared or self.state_dir:
            folder = Path(self.state_dir) if self.state_dir else None
            state = state_location(None, self.rate_state, folder=folder)
        return ClientSettings(
            self.api_key,
            self.api_secret,
            base_url=self.base_url,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            legacy_paths=self.legacy_paths,
            max_retries=self.max_retries,
            requests_per_hour=self.requests_per_hour,
            connection_creates_per_minute=self.connection_creates_per_minute,
            connection_creates_per_hour=self.connection_creates_per_hour,
            time_scale=self.time_scale,
            state=state,
        )

    def get_client(self) -> Any:
        """A `FivetranClient` for this run, paced by the account's shared budget."""
        from fivetran_assets.estate.connect import build_client

        return build_client(self.client_settings())


class DestinationResource(dg.ConfigurableResource):
    """The warehouse Fivetran writes to: row counts and column types for results and checks.

    `kind` is `auto` (the destination recorded in the snapshot, when Fivetran shows enough of
    its config to reach it: DuckDB's path), `duckdb` (`path`), `postgres` (`dsn`, via EnvVar),
    or `none` when Dagster cannot reach the warehouse (results then carry no row counts).
    """

    kind: str = Field("auto", description="auto | duckdb | postgres | none")
    path: str | None = Field(None, description="DuckDB file (kind duckdb).")
    dsn: str | None = Field(
        None, description="libpq DSN (kind postgres); use dg.EnvVar.", repr=False
    )

    def get_warehouse(self, *, recorded: Warehouse | None = None) -> Warehouse | None:
        """The configured warehouse; with `auto`, `recorded` (the snapshot's destination)."""
        if self.kind == "auto":
            return recorded
        if self.kind == "none":
            return None
        if self.kind == "duckdb":
            if not self.path:
                raise dg.Failure("DestinationResource(kind='duckdb') needs `path`")
            return DuckDBWarehouse(path=self.path)
        if self.kind == "postgres":
            if not self.dsn:
                raise dg.Failure("DestinationResource(kind='postgres') needs `dsn`")
            return PostgresWarehouse(dsn=self.dsn)
        raise dg.Failure(
            f"DestinationResource.kind {self.kind!r} is not one of auto, duckdb, postgres, none"
        )
