"""Dagster resources: the Fivetran API client and the destination warehouse.

`FivetranResource` holds no client at definition time (nothing connects while definitions load);
`get_client()` builds one per run with the configured base URL, timeouts, retries and rate
budget. Credentials come only through `dg.EnvVar`, so they never sit in code or run config.
"""

from __future__ import annotations

import os
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

    def get_client(self) -> Any:
        """A `FivetranClient` for this run (rate limiter shared per process and account)."""
        from fivetran_assets.fivetran.client import FivetranClient
        from fivetran_assets.fivetran.ratelimit import RateBudget
        from fivetran_assets.fivetran.retry import RetryPolicy

        return FivetranClient(
            self.api_key,
            self.api_secret,
            base_url=self.base_url,
            timeout=(self.connect_timeout, self.read_timeout),
            legacy_paths=self.legacy_paths,
            retry=RetryPolicy(max_retries=self.max_retries),
            rate_budget=RateBudget(
                requests_per_hour=self.requests_per_hour,
                time_scale=self.time_scale,
            ),
        )


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
