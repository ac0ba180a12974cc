"""The contract between the local Fivetran's control plane (the API) and its data plane.

The API owns state (connections, schema configs, runs, webhooks); the data plane owns bytes:
it reads source catalogs and rows, writes destination tables with Fivetran's semantics, and runs
dbt. The API calls only the functions of `fivetran_assets.emulator.dataplane.api`, with these
records; the data plane never reads the API's store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any


class DataPlaneError(Exception):
    """A source, destination or dbt run failed; the message is the reason a user should read."""


@dataclass(frozen=True)
class SetupTest:
    """One setup test result, as Fivetran reports it in `setup_tests[]`."""

    title: str
    status: str  # PASSED | SKIPPED | WARNING | FAILED | JOB_FAILED
    message: str = ""


@dataclass(frozen=True)
class ConfigField:
    name: str
    description: str
    required: bool = False
    secret: bool = False


@dataclass(frozen=True)
class ServiceInfo:
    """A source or destination service the local Fivetran supports (connector-types metadata)."""

    id: str
    name: str
    type: str
    description: str
    fields: tuple[ConfigField, ...]
    local_only: bool = False

    @property
    def secret_fields(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields if f.secret)


@dataclass(frozen=True)
class ColumnInfo:
    type: str  # the source's declared type, e.g. INTEGER, TEXT, NUMERIC(10,2), DATE
    is_primary_key: bool = False


@dataclass(frozen=True)
class TableInfo:
    columns: dict[str, ColumnInfo]  # in source order


# source schema name -> table name -> table
Catalog = dict[str, dict[str, TableInfo]]


@dataclass(frozen=True)
class SyncRequest:
    connection_id: str
    source_service: str
    source_config: dict[str, Any]  # plaintext, as stored by the API
    destination_service: str
    destination_config: dict[str, Any]
    schema_prefix: str
    # The connection's schema config in the shape of GET /v1/connections/{id}/schemas `data`.
    # A blocked column with `drop_from_destination: true` is dropped from its destination table.
    schema_config: dict[str, Any]
    salt: str  # per destination; hashed columns are sha256(salt + value) in hex
    state_dir: Path  # where the data plane may keep per-connection incremental state
    full_resync: bool = False
    # (source schema, source table) pairs to re-read from scratch
    resync_tables: tuple[tuple[str, str], ...] = ()
    # The local Fivetran's (time-scaled) clock when the sync started: rows written are stamped
    # `_fivetran_synced` with it, so they compare with the API's `succeeded_at` as in Fivetran.
    # None: the wall clock.
    synced_at: datetime | None = None
    # Read every table row by row instead of columnar (what a columnar read falls back to on
    # mixed value types); benchmarks compare the two.
    read_by_rows: bool = False


@dataclass(frozen=True)
class TableSyncResult:
    schema: str
    table: str
    destination_schema: str
    destination_table: str
    rows_upserted: int
    rows_deleted: int


@dataclass(frozen=True)
class SyncReport:
    tables: tuple[TableSyncResult, ...]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DbtRunRequest:
    # The transformation project's `project_config` (git_remote_url, folder_path, git_branch,
    # default_schema, threads, target_name, environment_vars, dbt_version).
    project_config: dict[str, Any]
    destination_service: str
    destination_config: dict[str, Any]
    steps: tuple[dict[str, str], ...]  # ({"name": ..., "command": "dbt run --select ..."}, ...)
    work_dir: Path
    full_refresh: bool = False
    # Where to keep each step's run_results.json (``<n>-<step name>.json``), when set.
    results_dir: Path | None = None


@dataclass(frozen=True)
class DbtStepResult:
    """One step as Fivetran reports it in a dbt run's events (``result.stepResults[]``)."""

    name: str
    command: str
    exit_code: int | None  # None when the step was canceled
    output: str  # dbt's console output
    error: str  # why it failed ('' on success)
    started: float  # time.monotonic() when dbt started, and when it ended
    ended: float
    successful_models: int = 0
    failed_models: int = 0

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0


@dataclass(frozen=True)
class DbtRunReport:
    succeeded: bool
    output_model_names: tuple[str, ...]
    message: str  # dbt's own message on failure, a short summary on success
    steps: tuple[DbtStepResult, ...] = ()


Cancelled = Callable[[], bool]
