"""The estate config as written: pydantic models that reject unknown keys.

These models describe the YAML (and generate `config/schema.json`); they hold values exactly as
written, references unresolved. Templates, shared selections and cross-references are handled
afterwards by `expand`, which turns them into the concrete `Estate`. Every model forbids unknown
keys (the loader suggests the nearest valid one) and is frozen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from fivetran_assets.estate.access import (
    CertificateModel,
    FingerprintModel,
    LogServiceModel,
    Member,
    TeamModel,
    UserModel,
)
from fivetran_assets.estate.vocabulary import (
    DEFAULT_API_KEY_ENV,
    DEFAULT_API_SECRET_ENV,
    DEFAULT_BASE_URL,
    SYNC_FREQUENCIES,
    TIME_ZONE_OFFSETS,
    Region,
    ScheduledBy,
    SchemaChangeHandling,
    SyncMode,
    TransformationMode,
    WebhookEvent,
    Weekday,
)

NAME_PATTERN = r"^[a-z_][a-z0-9_]*$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
HHMM_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"

Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=100)]
HHMM = Annotated[str, Field(pattern=HHMM_PATTERN, description="A time of day, HH:MM (24 h, UTC).")]
if TYPE_CHECKING:
    SyncFrequency = int
else:  # the allowed values, for validation and the JSON schema
    SyncFrequency = Literal[SYNC_FREQUENCIES]
Owner = Annotated[
    str,
    Field(pattern=r"^(team:[^\s]+|[^\s@]+@[^\s@]+)$", description="An email or `team:name`."),
]
Tags = dict[Annotated[str, Field(max_length=63)], str]


class Strict(BaseModel):
    """Base of every config model: unknown keys are errors; values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


# ---------------------------------------------------------------------------------- account


class RateBudget(Strict):
    """The API budget the client's rate limiter keeps under (Fivetran's documented limits)."""

    requests_per_hour: int = Field(default=20_000, gt=0)
    connection_creates_per_minute: int = Field(default=20, gt=0)
    connection_creates_per_hour: int = Field(default=100, gt=0)


class Account(Strict):
    """How to reach the Fivetran API. Credentials are named by environment variable only."""

    base_url: str = Field(
        default=DEFAULT_BASE_URL,
        description="API root; may hold references, e.g. ${env:X:-http://...}.",
    )
    api_key_env: str = Field(default=DEFAULT_API_KEY_ENV, pattern=ENV_NAME_PATTERN)
    api_secret_env: str = Field(default=DEFAULT_API_SECRET_ENV, pattern=ENV_NAME_PATTERN)
    rate_budget: RateBudget = RateBudget()
    legacy_paths: bool = Field(
        default=False, description="Use /v1/connectors instead of /v1/connections."
    )
    concurrency: int = Field(
        default=8, ge=1, le=64, description="Parallel workers for apply's writes."
    )
    read_concurrency: int = Field(
        default=32,
        ge=1,
        le=128,
        description="Parallel workers for read-only calls (a plan's listings and schema reads).",
    )
    connect_timeout: float = Field(default=10.0, gt=0, description="Seconds.")
    read_timeout: float = Field(default=60.0, gt=0, description="Seconds.")
    users: list[UserModel] | None = Field(
        default=None,
        description="Account users; missing ones are invited, others deleted with --prune.",
    )
    teams: list[TeamModel] | None = None
    log_services: list[LogServiceModel] = Field(
        default=[], description="External logging, used by groups through `log_service`."
    )
    rate_state: str | None = Field(
        default=None,
        description="Database every process shares for the rate budget, the apply lock and "
        "secret fingerprints: postgresql://user:${env:PG_PASSWORD}@host:5432/db in a deployment. "
        "Unset: $FIVETRAN_ASSETS_RATE_STATE, else state.sqlite in the state folder.",
    )


KeyPart = Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")]


class DagsterSettings(Strict):
    """Defaults for the Dagster face: asset keys, owners, tags and who schedules by default."""

    asset_key_prefix: list[KeyPart] = Field(
        default=[], description="Prepended to every asset key of the estate."
    )
    owners: list[Owner] = []
    tags: Tags = {}
    scheduled_by: ScheduledBy = ScheduledBy.FIVETRAN
    max_concurrent_syncs: int | None = Field(
        default=None, ge=1, description="At most this many syncs triggered by Dagster at once."
    )


# -------------------------------------------------------------------------- schema selection


class ColumnRule(Strict):
    """A column's declared settings; `enabled: false` blocks it. Unset means not managed."""

    enabled: bool | None = None
    hashed: bool | None = None


class TableRule(Strict):
    enabled: bool | None = None
    sync_mode: SyncMode | None = None
    columns: dict[str, ColumnRule] = {}


class SchemaRule(Strict):
    enabled: bool | None = None
    tables: dict[str, TableRule] = {}


class SharedSelection(Strict):
    """A schema selection defined once under `selections:` and used by many connections.

    `tables` applies to the only schema of a single-schema source (sqlite: `main`); sources with
    several schemas use `schemas.<name>.tables`.
    """

    schema_change_handling: SchemaChangeHandling | None = None
    tables: dict[str, TableRule] | None = None
    schemas: dict[str, SchemaRule] | None = None


class ConnectionSchema(SharedSelection):
    """A connection's selection: optionally `use` a shared one, then override it."""

    use: str | None = Field(
        default=None, description="The name of a shared selection to start from."
    )


# ------------------------------------------------------------------------------ connections


class ConnectionFields(Strict):
    """The settings of one connection; in a template, the settings its `for_each` items share."""

    name: Name | None = Field(
        default=None, description="Fivetran's `schema` / `config.schema_prefix`; unique per group."
    )
    service: Annotated[str, Field(pattern=NAME_PATTERN)] | None = None
    description: str | None = None
    config: dict[str, Any] | None = None
    sync_frequency: SyncFrequency | None = Field(default=None, description="Minutes between syncs.")
    daily_sync_time: HHMM | None = Field(default=None, description="Only with sync_frequency 1440.")
    scheduled_by: ScheduledBy | None = None
    cron: str | None = Field(
        default=None, description="Dagster's schedule; only with scheduled_by dagster."
    )
    paused: bool | None = None
    selection: ConnectionSchema | None = Field(default=None, alias="schema")
    owners: list[Owner] | None = None
    tags: Tags | None = None
    members: list[Member] | None = Field(
        default=None, description="Users and teams, connector roles."
    )
    certificates: list[CertificateModel] | None = None
    fingerprints: list[FingerprintModel] | None = None


class ConnectionEntry(ConnectionFields):
    """A connection, or a template expanded once per `for_each` item.

    Each item has a `name`, template variables (used as `{variable}` in the template's strings)
    and optional overrides of any connection field.
    """

    for_each: list[dict[str, Any]] | None = Field(default=None, min_length=1)


# --------------------------------------------------------------------------- transformations


def _step_from_text(value: Any) -> Any:
    return {"command": value} if isinstance(value, str) else value


class Step(Strict):
    name: str | None = Field(default=None, description="Defaults to the command's dbt verb.")
    command: Annotated[str, Field(pattern=r"^dbt\s+\S")]


StepInput = Annotated[Step, BeforeValidator(_step_from_text, json_schema_input_type=str | Step)]


class Schedule(Strict):
    """The seed's three scheduling modes.

    integrated: after the listed connections' syncs; partially_integrated: that plus an
    `interval`; independent: on its own `interval`, `time_of_day` (+ `days_of_week`) or `cron`.
    """

    mode: TransformationMode
    connections: list[Name] | None = Field(
        default=None, description="Connection names in this group."
    )
    interval: int | None = Field(default=None, gt=0, description="Minutes.")
    time_of_day: HHMM | None = None
    days_of_week: list[Weekday] | None = None
    cron: str | None = None


class TransformationModel(Strict):
    name: Name
    description: str | None = None
    steps: list[StepInput] = Field(min_length=1)
    schedule: Schedule
    scheduled_by: ScheduledBy | None = None
    paused: bool = False
    owners: list[Owner] | None = None
    tags: Tags | None = None


class TransformationProject(Strict):
    """The group's dbt project (`POST /v1/transformation-projects`, type DBT_CORE).

    `git_remote_url` is a git URL for real Fivetran, or a local path / `file://` URL for the
    local Fivetran; relative paths are relative to the project root.
    """

    type: Literal["DBT_CORE"] = "DBT_CORE"
    git_remote_url: str = Field(min_length=1)
    git_branch: str | None = None
    folder_path: str | None = None
    default_schema: Name
    threads: int = Field(default=4, ge=1, le=32)
    target_name: str | None = None
    dbt_version: str | None = None
    environment_vars: dict[Annotated[str, Field(pattern=ENV_NAME_PATTERN)], str] = {}
    run_tests: bool = False


# ----------------------------------------------------------------------------------- groups


def _offset_text(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return f"+{value}" if value > 0 else str(value)
    if isinstance(value, str) and value.strip() in ("+0", "-0"):
        return "0"
    return value


class Destination(Strict):
    service: Annotated[str, Field(pattern=NAME_PATTERN)]
    region: Region | None = None
    time_zone_offset: Annotated[str, BeforeValidator(_offset_text)] = Field(
        default="0", description="Hours from UTC, '-11'..'+12'."
    )
    config: dict[str, Any] = {}
    trust_certificates: bool | None = None
    trust_fingerprints: bool | None = None
    run_setup_tests: bool = True
    certificates: list[CertificateModel] | None = None
    fingerprints: list[FingerprintModel] | None = None

    @field_validator("time_zone_offset")
    @classmethod
    def _known_offset(cls, value: str) -> str:
        if value not in TIME_ZONE_OFFSETS:
            raise ValueError(
                f"invalid time zone offset; expected one of {', '.join(TIME_ZONE_OFFSETS)}"
            )
        return value


class Webhook(Strict):
    """A group webhook; identity is (group, url). `secret` must be a reference."""

    url: str = Field(min_length=1)
    events: list[WebhookEvent] = Field(min_length=1)
    secret: str | None = None
    active: bool = True


class GroupModel(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    description: str | None = None
    destination: Destination
    webhooks: list[Webhook] = []
    connections: list[ConnectionEntry] = []
    transformation_project: TransformationProject | None = None
    transformations: list[TransformationModel] = []
    owners: list[Owner] | None = None
    tags: Tags | None = None
    key_prefix: list[KeyPart] = Field(
        default=[],
        description="Prepended to this group's asset keys: tells apart two groups that land "
        "tables of the same destination schema and name.",
    )
    members: list[Member] | None = Field(
        default=None, description="Users and teams, destination roles."
    )
    log_service: Name | None = Field(
        default=None, description="The name of an account log service."
    )


class EstateFile(Strict):
    """The whole estate: one YAML file, or the merge of a folder's *.yaml files."""

    model_config = ConfigDict(title="fivetran-assets estate config")

    account: Account = Account()
    dagster: DagsterSettings = DagsterSettings()
    selections: dict[Name, SharedSelection] = {}
    groups: list[GroupModel] = []
