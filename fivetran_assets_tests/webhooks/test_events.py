"""Parsing delivery bodies into typed events at the boundary."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fivetran_assets.webhooks.events import (
    EventName,
    SyncStatus,
    WebhookEvent,
    WebhookPayloadError,
)

LIVE_BODY = (
    b'{"event":"sync_end","created":"2026-05-22T00:06:08.638Z",'
    b'"connector_type":"google_cloud_postgresql","connector_id":"assimilate_seem",'
    b'"connector_name":"ftar_pg","sync_id":"b4703f73-6315-4e22-8d7a-3bfb18b2fed2",'
    b'"destination_group_id":"inappropriate_implode","data":{"status":"SUCCESSFUL"}}'
)


def test_a_live_sync_end_parses_into_typed_fields() -> None:
    event = WebhookEvent.from_json(LIVE_BODY)
    assert event.event is EventName.SYNC_END
    assert event.event == "sync_end"
    assert event.created == datetime(2026, 5, 22, 0, 6, 8, 638000, tzinfo=UTC)
    assert event.connector_type == "google_cloud_postgresql"
    assert event.connector_id == "assimilate_seem"
    assert event.connector_name == "ftar_pg"
    assert event.sync_id == "b4703f73-6315-4e22-8d7a-3bfb18b2fed2"
    assert event.group_id == "inappropriate_implode"
    assert event.status is SyncStatus.SUCCESSFUL
    assert event.reason is None
    assert not event.is_transformation_event


def test_older_group_id_and_failure_reason() -> None:
    event = WebhookEvent.from_payload(
        {
            "event": "sync_end",
            "created": "2026-05-22T00:06:08+00:00",
            "connector_id": "c1",
            "group_id": "old_style",
            "data": {"status": "FAILURE_WITH_TASK", "reason": "password expired"},
        }
    )
    assert event.group_id == "old_style"
    assert event.status is SyncStatus.FAILURE_WITH_TASK
    assert event.status.is_failure
    assert event.reason == "password expired"


def test_unknown_event_and_status_are_kept_as_strings() -> None:
    event = WebhookEvent.from_payload(
        {"event": "brand_new_event", "created": "2026-05-22T00:06:08Z", "data": {"status": "ODD"}}
    )
    assert event.event == "brand_new_event"
    assert not isinstance(event.event, EventName)
    assert event.status == "ODD"


@pytest.mark.parametrize("where", ["top", "data"])
def test_transformation_fields_at_top_level_or_in_data(where: str) -> None:
    fields = {
        "transformation_id": "t_1",
        "transformation_name": "daily",
        "project_id": "p_1",
        "run_id": "r_1",
    }
    payload: dict = {"event": "transformation_run_succeeded", "created": "2026-05-22T00:06:08Z"}
    if where == "top":
        payload |= fields
    else:
        payload["data"] = {"status": "SUCCEEDED", **fields}
    event = WebhookEvent.from_payload(payload)
    assert event.is_transformation_event
    assert (event.transformation_id, event.transformation_name) == ("t_1", "daily")
    assert (event.transformation_project_id, event.transformation_run_id) == ("p_1", "r_1")
    assert event.connector_id is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"created": "2026-05-22T00:06:08Z"}', "'event'"),
        (b'{"event": "", "created": "2026-05-22T00:06:08Z"}', "'event'"),
        (b'{"event": "sync_end"}', "'created'"),
        (b'{"event": "sync_end", "created": "yesterday"}', "'created'"),
        (b'{"event": "sync_end", "created": "2026-05-22T00:06:08Z", "data": []}', "'data'"),
        (b'{"event": "sync_end", "created": "2026-05-22T00:06:08Z", "sync_id": {}}', "'sync_id'"),
        (
            b'{"event": "sync_end", "created": "2026-05-22T00:06:08Z", "data": {"status": [1]}}',
            "'data.status'",
        ),
        (b"\xff\xfe", "not UTF-8: invalid byte at offset 0"),
    ],
)
def test_bad_bodies_name_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(WebhookPayloadError, match=message.replace("(", r"\(")):
        WebhookEvent.from_json(body)


def test_dedupe_key_ignores_body_formatting_but_not_identity() -> None:
    a = WebhookEvent.from_json(LIVE_BODY)
    b = WebhookEvent.from_json(LIVE_BODY.replace(b",", b", "))
    assert a.dedupe_key == b.dedupe_key
    later = WebhookEvent.from_json(LIVE_BODY.replace(b"08.638Z", b"08.639Z"))
    other_sync = WebhookEvent.from_json(LIVE_BODY.replace(b"b4703f73", b"c4703f73"))
    start = WebhookEvent.from_json(LIVE_BODY.replace(b"sync_end", b"sync_start"))
    assert len({a.dedupe_key, later.dedupe_key, other_sync.dedupe_key, start.dedupe_key}) == 4
