"""Records parse what Fivetran's OpenAPI definition says it sends, and fail clearly otherwise.

Objects are built from the definition's own per-field examples (the vendored copy), so the
models are checked against Fivetran's word, not against the local Fivetran's.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from fivetran_assets.fivetran import (
    AccountInfo,
    Connection,
    Destination,
    Group,
    ScheduleType,
    SchemaChangeHandling,
    SchemaConfig,
    SetupState,
    SyncMode,
    SyncState,
    Transformation,
    TransformationProject,
    TransformationScheduleType,
    TransformationStatus,
    UnexpectedResponseError,
    Webhook,
    WebhookEvent,
)

SPEC = Path(__file__).parents[1] / "reference" / "fivetran-openapi.json"


@cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC.read_text())


def example(schema: dict[str, Any], depth: int = 0) -> Any:
    """An instance built from the per-field `example`s of a schema (refs and allOf resolved)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return example(spec()["components"]["schemas"][name], depth + 1)
    if "example" in schema and schema.get("type") not in ("object", "array"):
        return schema["example"]
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = example(part, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    if schema.get("type") == "array":
        item = example(schema.get("items", {}), depth + 1) if depth < 12 else None
        return [] if item is None else [item]
    if "properties" in schema:
        return {k: example(v, depth + 1) for k, v in schema["properties"].items()}
    return schema.get("example")


def response_example(method: str, path: str) -> Any:
    content = spec()["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    return example(content["schema"]["properties"]["data"])


def test_group_and_account() -> None:
    group = Group.from_api(response_example("get", "/v1/groups/{groupId}"))
    assert group.id and group.name
    assert isinstance(group.created_at, datetime) and group.created_at.tzinfo is UTC
    info = AccountInfo.from_api(response_example("get", "/v1/account/info"))
    assert info.account_id


def test_connection_from_spec_example() -> None:
    data = response_example("get", "/v1/connections/{connectionId}")
    conn = Connection.from_api(data)
    assert conn.id == data["id"] and conn.group_id == data["group_id"]
    assert conn.status.setup_state == SetupState(data["status"]["setup_state"])
    assert conn.status.sync_state == SyncState(data["status"]["sync_state"])
    assert conn.succeeded_at is not None and conn.succeeded_at.tzinfo is UTC
    assert conn.sync_frequency == data["sync_frequency"]
    assert conn.schedule_type == ScheduleType(data["schedule_type"])


def test_connection_sync_outcome_helpers() -> None:
    base = response_example("get", "/v1/connections/{connectionId}")
    done = Connection.from_api(
        {**base, "succeeded_at": "2024-01-01T10:00:00Z", "failed_at": "2024-01-01T09:00:00Z"}
    )
    assert done.last_sync_succeeded is True
    assert done.last_sync_completed_at == datetime(2024, 1, 1, 10, tzinfo=UTC)
    failed = Connection.from_api({**base, "succeeded_at": None, "failed_at": "2024-01-01T09:00Z"})
    assert failed.last_sync_succeeded is False
    fresh = Connection.from_api({**base, "succeeded_at": None, "failed_at": None})
    assert fresh.last_sync_succeeded is None and fresh.last_sync_completed_at is None


def test_unknown_enum_values_are_kept_raw() -> None:
    base = response_example("get", "/v1/connections/{connectionId}")
    status = {**base["status"], "sync_state": "quantum", "setup_state": "connected"}
    conn = Connection.from_api({**base, "status": status, "schedule_type": "someday"})
    assert conn.status.sync_state == "quantum"
    assert conn.status.setup_state is SetupState.CONNECTED
    assert conn.schedule_type == "someday"


def test_destination_example_from_spec() -> None:
    path = "/v1/destinations/{destinationId}"
    content = spec()["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    data = content["examples"]["get_response"]["value"]["data"]
    dest = Destination.from_api(data)
    assert dest.id == dest.group_id == data["id"]
    assert dest.service == "snowflake"
    assert dest.setup_status == data["setup_status"]  # "connected": kept though not upper-case
    assert dest.config["host"] == data["config"]["host"]


def test_schema_config_from_spec_example() -> None:
    data = response_example("get", "/v1/connections/{connectionId}/schemas")
    data["schemas"] = {
        "public": {
            "name_in_destination": "sales_public",
            "enabled": True,
            "tables": {
                "orders": {
                    "enabled": True,
                    "sync_mode": "SOFT_DELETE",
                    "enabled_patch_settings": {"allowed": True},
                    "columns": {
                        "id": {"enabled": True, "is_primary_key": True, "hashed": False},
                        "email": {"enabled": True, "hashed": True},
                    },
                },
                "audit": {"enabled": False, "sync_mode": "HISTORY", "columns": {}},
            },
        }
    }
    config = SchemaConfig.from_api(data)
    assert config.schema_change_handling == SchemaChangeHandling(data["schema_change_handling"])
    orders = config.schemas["public"].tables["orders"]
    assert orders.sync_mode is SyncMode.SOFT_DELETE
    assert orders.columns["id"].is_primary_key and orders.columns["email"].hashed
    assert [(s.name, t.name) for s, t in config.enabled_tables()] == [("public", "orders")]


def test_transformation_and_project_from_spec_examples() -> None:
    data = response_example("get", "/v1/transformations/{transformationId}")
    data.update(
        type="DBT_CORE",
        transformation_config={
            "project_id": "p_1",
            "name": "daily",
            "steps": [{"name": "run", "command": "dbt run --select orders"}],
        },
        schedule={"schedule_type": "INTEGRATED", "connection_ids": ["c_1"], "cron": "0 * * * *"},
    )
    tr = Transformation.from_api(data)
    assert tr.status == TransformationStatus(data["status"])
    assert tr.schedule.schedule_type is TransformationScheduleType.INTEGRATED
    assert tr.schedule.cron == ("0 * * * *",)
    assert tr.steps[0].command == "dbt run --select orders"
    project_data = response_example("get", "/v1/transformation-projects/{projectId}")
    project_data.update(id="p_1", status="READY", project_config={"dbt_version": "1.9.0"})
    project = TransformationProject.from_api(project_data)
    assert (project.id, project.status, project.project_config.dbt_version) == (
        "p_1",
        "READY",
        "1.9.0",
    )


def test_webhook_events() -> None:
    data = response_example("get", "/v1/webhooks/{webhookId}")
    hook = Webhook.from_api({**data, "events": ["sync_end", "brand_new_event"]})
    assert hook.events == (WebhookEvent.SYNC_END, "brand_new_event")


@pytest.mark.parametrize(
    ("record", "data", "where"),
    [
        (Group, {"id": "g", "name": 5}, "Group.name"),
        (Group, {"name": "x"}, "Group.id"),
        (Connection, "not an object", "Connection.<root>"),
        (
            SchemaConfig,
            {"schemas": {"s": {"tables": {"t": {"columns": {"c": {"hashed": "maybe"}}}}}}},
            "Column[c].hashed",
        ),
    ],
)
def test_malformed_payloads_name_the_field(record: Any, data: Any, where: str) -> None:
    with pytest.raises(UnexpectedResponseError) as info:
        record.from_api(data)
    assert where in str(info.value)


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ({}, ("c", None, True, False, False, True)),
        (
            {
                "name_in_destination": "c_2",
                "enabled": False,
                "hashed": True,
                "is_primary_key": True,
                "enabled_patch_settings": {"allowed": False, "reason": "primary key"},
            },
            ("c", "c_2", False, True, True, False),
        ),
        (
            {"enabled": None, "hashed": None, "enabled_patch_settings": None},
            ("c", None, True, False, False, True),
        ),
        ({"enabled": "false", "hashed": "TRUE"}, ("c", None, False, True, False, True)),
        ({"enabled_patch_settings": {"allowed": None}}, ("c", None, True, False, False, True)),
        ({"enabled_patch_settings": {"allowed": "false"}}, ("c", None, True, False, False, False)),
    ],
)
def test_columns_read_alike_on_the_quick_path_and_the_general_one(
    column: dict[str, Any], expected: tuple
) -> None:
    """Well-typed columns take a shortcut (a plan parses hundreds of thousands); odd but
    accepted values (string booleans, nulls) still read as the general readers read them."""
    data = {"schemas": {"s": {"tables": {"t": {"columns": {"c": column}}}}}}
    parsed = SchemaConfig.from_api(data).schemas["s"].tables["t"].columns["c"]
    assert (
        parsed.name,
        parsed.name_in_destination,
        parsed.enabled,
        parsed.hashed,
        parsed.is_primary_key,
        parsed.enabled_patch_allowed,
    ) == expected


@pytest.mark.parametrize(
    ("column", "where"),
    [
        ({"name_in_destination": 7}, "Column[c].name_in_destination"),
        ({"enabled_patch_settings": []}, "Column[c].enabled_patch_settings"),
        ({"enabled_patch_settings": {"allowed": 1}}, "Column[c].enabled_patch_settings.allowed"),
    ],
)
def test_malformed_columns_name_the_field(column: dict[str, Any], where: str) -> None:
    data = {"schemas": {"s": {"tables": {"t": {"columns": {"c": column}}}}}}
    with pytest.raises(UnexpectedResponseError) as info:
        SchemaConfig.from_api(data)
    assert where in str(info.value)
