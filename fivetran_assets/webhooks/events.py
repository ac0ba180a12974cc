"""Typed Fivetran webhook events, parsed where they arrive.

A delivery body looks like (compact JSON, in this key order)::

    {"event":"sync_end","created":"2026-05-22T00:06:08.638Z","connector_type":"postgres",
     "connector_id":"assimilate_seem","connector_name":"ftar_pg","sync_id":"b4703f73-...",
     "destination_group_id":"inappropriate_implode","data":{"status":"SUCCESSFUL"}}

Older payloads say `group_id` instead of `destination_group_id`. Transformation events carry
`transformation_id`, `transformation_name`, `project_id` and `run_id` inside `data` (the local
Fivetran's shape; `data.status` is then RUNNING, SUCCEEDED or FAILED) or at the top level; both
are accepted. dbt run events (`dbt_run_start`, `dbt_run_succeeded`, `dbt_run_failed`) name the
transformation `data.dbtJobId` / `data.dbtJobName` and the run `data.startupDetails.jobId`; a
failure's reason is `data.reason`, else the first failed step's `commandResult.error`: the same
fields then hold them, so both families read alike (`dbt_runs` parses their step results).
Event names and statuses Fivetran adds
later are kept as plain strings rather than rejected, so a new event type never makes the
receiver refuse (and Fivetran eventually disable) the webhook.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from fivetran_assets.fivetran.enums import WebhookEvent, parse_enum
from fivetran_assets.json_policy import InputError, parse_json, parse_timestamp

# The receiver's name for Fivetran's event vocabulary, shared with the client's.
EventName = WebhookEvent


class SyncStatus(StrEnum):
    """`data.status` of a `sync_end` (and of a few connection events)."""

    SUCCESSFUL = "SUCCESSFUL"
    FAILURE = "FAILURE"
    FAILURE_WITH_TASK = "FAILURE_WITH_TASK"
    RESCHEDULED = "RESCHEDULED"

    @classmethod
    def parse(cls, value: str) -> SyncStatus | str:
        """The member for `value`, or `value` itself when it is not one we know."""
        try:
            return cls(value)
        except ValueError:
            return value

    @property
    def is_failure(self) -> bool:
        return self in (SyncStatus.FAILURE, SyncStatus.FAILURE_WITH_TASK)


TRANSFORMATION_EVENTS = frozenset(
    {
        EventName.DBT_RUN_START,
        EventName.DBT_RUN_SUCCEEDED,
        EventName.DBT_RUN_FAILED,
        EventName.TRANSFORMATION_RUN_START,
        EventName.TRANSFORMATION_RUN_SUCCEEDED,
        EventName.TRANSFORMATION_RUN_FAILED,
    }
)


class WebhookPayloadError(ValueError):
    """A delivery body that is not a Fivetran webhook event; the message names the field."""


@dataclass(frozen=True)
class WebhookEvent:
    """One Fivetran webhook event. `event` compares equal to its name whether known or not."""

    event: EventName | str
    created: datetime
    connector_type: str | None = None
    connector_id: str | None = None
    connector_name: str | None = None
    sync_id: str | None = None
    group_id: str | None = None
    status: SyncStatus | str | None = None
    reason: str | None = None
    transformation_id: str | None = None
    transformation_name: str | None = None
    transformation_project_id: str | None = None
    transformation_run_id: str | None = None

    @property
    def is_transformation_event(self) -> bool:
        return self.event in TRANSFORMATION_EVENTS

    @property
    def dedupe_key(self) -> str:
        """Identity of a delivery: Fivetran redelivers the same event with the same fields.

        (event, connector_id, sync_id, created); the transformation id and run id join them so
        that two transformation runs ending in the same millisecond are not one redelivery.
        """
        parts = [
            str(self.event),
            self.connector_id,
            self.sync_id,
            self.created.isoformat(),
            self.transformation_id,
            self.transformation_run_id,
        ]
        return json.dumps(parts, separators=(",", ":"))

    @classmethod
    def from_payload(cls, payload: object) -> WebhookEvent:
        """Parse a decoded delivery body; raises `WebhookPayloadError` naming what is wrong."""
        if not isinstance(payload, Mapping):
            raise WebhookPayloadError(f"body must be a JSON object, got {type(payload).__name__}")
        name = payload.get("event")
        if not isinstance(name, str) or not name:
            raise WebhookPayloadError("field 'event' is missing or not a non-empty string")
        data = payload.get("data")
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise WebhookPayloadError(f"field 'data' must be an object, got {type(data).__name__}")
        status = _optional_str(data, "status", where="data.status")
        return cls(
            event=parse_enum(EventName, name),
            created=_parse_created(payload.get("created")),
            connector_type=_optional_str(payload, "connector_type"),
            connector_id=_optional_str(payload, "connector_id"),
            connector_name=_optional_str(payload, "connector_name"),
            sync_id=_optional_str(payload, "sync_id"),
            group_id=_optional_str(payload, "destination_group_id")
            or _optional_str(payload, "group_id"),
            status=SyncStatus.parse(status) if status is not None else None,
            reason=_optional_str(data, "reason", where="data.reason") or _step_error(data),
            transformation_id=_either(payload, data, "transformation_id")
            or _optional_str(data, "dbtJobId", where="data.dbtJobId"),
            transformation_name=_either(payload, data, "transformation_name")
            or _optional_str(data, "dbtJobName", where="data.dbtJobName"),
            transformation_project_id=_either(payload, data, "project_id"),
            transformation_run_id=_either(payload, data, "run_id") or _job_id(data),
        )

    @classmethod
    def from_json(cls, raw_body: bytes | str) -> WebhookEvent:
        """Decode (under the shared input policy) and parse a raw delivery body, so whatever
        reaches the event log is storable: valid UTF-8 text, bounded nesting, finite numbers."""
        try:
            payload = parse_json(raw_body)
        except InputError as exc:
            raise WebhookPayloadError(f"body refused: {exc.message}") from None
        return cls.from_payload(payload)


def _job_id(data: Mapping[str, Any]) -> str | None:
    details = data.get("startupDetails")
    if not isinstance(details, Mapping):
        return None
    return _optional_str(details, "jobId", where="data.startupDetails.jobId")


def _step_error(data: Mapping[str, Any]) -> str | None:
    """The first failed step's error, for a dbt run event without `data.reason`."""
    result = data.get("result")
    steps = result.get("stepResults") if isinstance(result, Mapping) else None
    for step in steps if isinstance(steps, list) else ():
        command = step.get("commandResult") if isinstance(step, Mapping) else None
        if isinstance(command, Mapping) and step.get("success") is False:
            return _optional_str(command, "error", where="commandResult.error") or None
    return None


def _either(payload: Mapping[str, Any], data: Mapping[str, Any], key: str) -> str | None:
    return _optional_str(payload, key) or _optional_str(data, key, where=f"data.{key}")


def _optional_str(source: Mapping[str, Any], key: str, *, where: str | None = None) -> str | None:
    value = source.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise WebhookPayloadError(
            f"field '{where or key}' must be a string, got {type(value).__name__}"
        )
    return str(value)


def _parse_created(value: object) -> datetime:
    if value is None:
        raise WebhookPayloadError("field 'created' is missing")
    try:
        return parse_timestamp(value, "created")
    except InputError as exc:
        raise WebhookPayloadError(exc.message[:1].lower() + exc.message[1:]) from None
