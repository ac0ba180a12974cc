"""The receiver over real HTTP: what it accepts, what it rejects, and that rejects store nothing."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from fivetran_assets.webhooks.app import create_app
from fivetran_assets.webhooks.events import WebhookEvent
from fivetran_assets.webhooks.server import ReceiverServer
from fivetran_assets.webhooks.signature import SIGNATURE_HEADER, sign
from fivetran_assets.webhooks.store import EventLog

SECRET = "whsec-test-value"
OLD_SECRET = "whsec-old-value"
BODY = (
    b'{"event":"sync_end","created":"2026-05-22T00:06:08.638Z","connector_type":"postgres",'
    b'"connector_id":"assimilate_seem","connector_name":"ftar_pg","sync_id":"b4703f73",'
    b'"destination_group_id":"inappropriate_implode","data":{"status":"SUCCESSFUL"}}'
)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[ReceiverServer]:
    with ReceiverServer(db=tmp_path / "events.sqlite", secrets=[SECRET, OLD_SECRET]) as server:
        yield server


@pytest.fixture
def client(receiver: ReceiverServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=receiver.url, timeout=10) as http:
        yield http


def post(client: httpx.Client, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[SIGNATURE_HEADER] = signature
    return client.post("/fivetran/webhook", content=body, headers=headers)


def test_signed_event_is_stored_before_200(receiver: ReceiverServer, client) -> None:
    response = post(client, BODY, sign(SECRET, BODY))
    assert response.status_code == 200
    assert response.json() == {"id": 1, "duplicate": False}
    (stored,) = EventLog(receiver.log.url).read_after(0)
    assert stored.raw_body == BODY
    assert stored.event.connector_id == "assimilate_seem"


def test_lowercase_signature_and_rotated_secret_are_accepted(receiver, client) -> None:
    assert post(client, BODY, sign(SECRET, BODY).lower()).status_code == 200
    other = BODY.replace(b"b4703f73", b"c4703f73")
    assert post(client, other, sign(OLD_SECRET, other)).status_code == 200
    assert receiver.log.count() == 2


def test_duplicate_delivery_is_acknowledged_and_stored_once(receiver, client) -> None:
    first = post(client, BODY, sign(SECRET, BODY))
    second = post(client, BODY, sign(SECRET, BODY))
    assert first.status_code == second.status_code == 200
    assert second.json() == {"id": first.json()["id"], "duplicate": True}
    assert receiver.log.count() == 1


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("forged", 401),
        ("missing", 401),
        ("empty", 401),
        ("replayed-with-changed-body", 401),
        ("malformed-json", 400),
        ("missing-event", 400),
        ("bad-created", 400),
        ("oversized-content-length", 413),
        ("oversized-chunked", 413),
    ],
)
def test_rejections_store_nothing(receiver, client, case: str, status: int) -> None:
    signature: str | None = sign(SECRET, BODY)
    body = BODY
    kwargs: dict = {}
    if case == "forged":
        signature = sign("guessed", BODY)
    elif case == "missing":
        signature = None
    elif case == "empty":
        signature = ""
    elif case == "replayed-with-changed-body":
        body = BODY.replace(b"SUCCESSFUL", b"FAILURE")
    elif case == "malformed-json":
        body = BODY[:-1]
        signature = sign(SECRET, body)
    elif case == "missing-event":
        body = BODY.replace(b'"event":"sync_end",', b"")
        signature = sign(SECRET, body)
    elif case == "bad-created":
        body = BODY.replace(b"2026-05-22T00:06:08.638Z", b"soon")
        signature = sign(SECRET, body)
    elif case == "oversized-content-length":
        body = BODY[:-1] + b',"pad":"' + b"x" * (1024 * 1024) + b'"}'
        signature = sign(SECRET, body)
    elif case == "oversized-chunked":
        big = BODY[:-1] + b',"pad":"' + b"x" * (1024 * 1024) + b'"}'
        signature = sign(SECRET, big)
        kwargs["content"] = (big[i : i + 65536] for i in range(0, len(big), 65536))
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[SIGNATURE_HEADER] = signature
    response = client.post(
        "/fivetran/webhook", content=kwargs.get("content", body), headers=headers
    )
    assert response.status_code == status
    assert "error" in response.json()
    assert receiver.log.count() == 0
    assert receiver.log.latest_id() == 0


def test_a_body_of_exactly_the_limit_is_accepted(tmp_path: Path) -> None:
    with (
        ReceiverServer(db=tmp_path / "e.sqlite", secrets=[SECRET]) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        padded = BODY[:-1] + b',"pad":"' + b"x" * (1024 * 1024 - len(BODY) - 9) + b'"}'
        assert len(padded) == 1024 * 1024
        assert post(client, padded, sign(SECRET, padded)).status_code == 200
        assert server.log.count() == 1


def test_healthz_wrong_method_and_unknown_path(receiver, client) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "latest_event_id": 0}
    post(client, BODY, sign(SECRET, BODY))
    assert client.get("/healthz").json()["latest_event_id"] == 1
    assert client.get("/fivetran/webhook").status_code == 405
    assert client.post("/elsewhere", content=BODY).status_code == 404


def test_custom_path(tmp_path: Path) -> None:
    with (
        ReceiverServer(db=tmp_path / "e.sqlite", secrets=[SECRET], path="/hooks/ft") as server,
        httpx.Client() as client,
    ):
        assert server.webhook_url == server.url + "/hooks/ft"
        response = client.post(
            server.webhook_url, content=BODY, headers={SIGNATURE_HEADER: sign(SECRET, BODY)}
        )
        assert response.status_code == 200


def test_secrets_never_reach_logs_or_reprs(receiver, client, caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        post(client, BODY, sign("guessed", BODY))
        post(client, BODY, None)
        post(client, b"{", sign(SECRET, b"{"))
    text = caplog.text + repr(receiver) + repr(receiver.log)
    assert "rejected webhook delivery (401)" in caplog.text
    assert SECRET not in text
    assert OLD_SECRET not in text
    assert sign(SECRET, b"{") not in text


def test_create_app_refuses_no_secret(tmp_path: Path) -> None:
    with EventLog(tmp_path / "e.sqlite") as log:
        with pytest.raises(ValueError, match="secret"):
            create_app(secrets=[], log=log)
        with pytest.raises(ValueError, match="secret"):
            create_app(secrets=[""], log=log)
        with pytest.raises(ValueError, match="path"):
            create_app(secrets=["s"], log=log, path="no-slash")


def test_unavailable_log_answers_503_so_fivetran_retries(tmp_path: Path) -> None:
    with (
        ReceiverServer(db=tmp_path / "e.sqlite", secrets=[SECRET]) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        server.log.close()
        response = post(client, BODY, sign(SECRET, BODY))
        assert response.status_code == 503
        assert server.log.count() == 0
    assert json.loads(response.content)["error"].startswith("event log unavailable")


def test_the_receiver_prunes_past_the_retention_horizon_at_startup(tmp_path: Path) -> None:
    db = tmp_path / "e.sqlite"
    two_days_ago = time.time() - 2 * 86400
    with EventLog(db, clock=lambda: two_days_ago) as old_log:
        old_log.append(BODY, WebhookEvent.from_json(BODY))
    with ReceiverServer(db=db, secrets=[SECRET], retention=timedelta(days=1)) as server:
        deadline = time.monotonic() + 10
        while server.log.count() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.log.count() == 0
        assert server.log.latest_id() == 1
