"""Fivetran's vocabulary as `StrEnum`s, and a parser that keeps values it does not know.

Fivetran adds states and events over time; a client that crashed on an unknown value would break
every run the day the API grows. `parse_enum` returns the member when it knows the value and the
raw string otherwise, so comparisons with members still work (`StrEnum`s compare as strings).
"""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import TypeVar

E = TypeVar("E", bound=Enum)

# The sync frequencies (minutes) Fivetran accepts for a connection.
SYNC_FREQUENCIES = (1, 5, 15, 30, 60, 120, 180, 360, 480, 720, 1440)


class SetupState(StrEnum):
    INCOMPLETE = "incomplete"
    CONNECTED = "connected"
    BROKEN = "broken"


class SyncState(StrEnum):
    SCHEDULED = "scheduled"
    SYNCING = "syncing"
    PAUSED = "paused"
    RESCHEDULED = "rescheduled"


class UpdateState(StrEnum):
    ON_SCHEDULE = "on_schedule"
    DELAYED = "delayed"


class ScheduleType(StrEnum):
    AUTO = "auto"
    MANUAL = "manual"


class DestinationSetupStatus(StrEnum):
    INCOMPLETE = "INCOMPLETE"
    CONNECTED = "CONNECTED"
    BROKEN = "BROKEN"


class SetupTestStatus(StrEnum):
    PASSED = "PASSED"
    SKIPPED = "SKIPPED"
    WARNING = "WARNING"
    FAILED = "FAILED"
    JOB_FAILED = "JOB_FAILED"


class SchemaChangeHandling(StrEnum):
    ALLOW_ALL = "ALLOW_ALL"
    ALLOW_COLUMNS = "ALLOW_COLUMNS"
    BLOCK_ALL = "BLOCK_ALL"


class SyncMode(StrEnum):
    SOFT_DELETE = "SOFT_DELETE"
    HISTORY = "HISTORY"
    LIVE = "LIVE"


class ExcludeMode(StrEnum):
    """How `POST .../schemas/reload` treats objects it discovers."""

    PRESERVE = "PRESERVE"
    EXCLUDE = "EXCLUDE"


class WebhookType(StrEnum):
    ACCOUNT = "account"
    GROUP = "group"


class WebhookEvent(StrEnum):
    SYNC_START = "sync_start"
    SYNC_END = "sync_end"
    CONNECTION_SUCCESSFUL = "connection_successful"
    CONNECTION_FAILURE = "connection_failure"
    CREATE_CONNECTOR = "create_connector"
    PAUSE_CONNECTOR = "pause_connector"
    RESUME_CONNECTOR = "resume_connector"
    EDIT_CONNECTOR = "edit_connector"
    DELETE_CONNECTOR = "delete_connector"
    FORCE_UPDATE_CONNECTOR = "force_update_connector"
    RESYNC_CONNECTOR = "resync_connector"
    RESYNC_TABLE = "resync_table"
    DBT_RUN_START = "dbt_run_start"
    DBT_RUN_SUCCEEDED = "dbt_run_succeeded"
    DBT_RUN_FAILED = "dbt_run_failed"
    TRANSFORMATION_RUN_START = "transformation_run_start"
    TRANSFORMATION_RUN_SUCCEEDED = "transformation_run_succeeded"
    TRANSFORMATION_RUN_FAILED = "transformation_run_failed"
    STATUS = "status"


class TransformationType(StrEnum):
    DBT_CORE = "DBT_CORE"
    QUICKSTART = "QUICKSTART"


class TransformationStatus(StrEnum):
    NEW = "NEW"
    SCHEDULING = "SCHEDULING"
    RUNNING = "RUNNING"
    TERMINATING = "TERMINATING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    BLOCKED = "BLOCKED"
    CANCELED = "CANCELED"
    PARTIALLY_SUCCEEDED = "PARTIALLY_SUCCEEDED"


class TransformationScheduleType(StrEnum):
    INTEGRATED = "INTEGRATED"
    TIME_OF_DAY = "TIME_OF_DAY"
    INTERVAL = "INTERVAL"
    CRON = "CRON"


class TransformationProjectStatus(StrEnum):
    NOT_READY = "NOT_READY"
    READY = "READY"
    ERROR = "ERROR"


def parse_enum(enum_type: type[E], value: object) -> E | str | None:
    """The member of `enum_type` for `value`, the raw string if unknown, None if absent."""
    if value is None:
        return None
    try:
        return enum_type(value)
    except ValueError:
        return str(value)
