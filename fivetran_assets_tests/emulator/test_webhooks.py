"""Webhooks of the local Fivetran, checked by an independent receiver (a tiny http.server)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fivetran_assets_tests.emulator.support import Api, make_connection, wait_for, wait_sync_end

SECRET = "whsec-123"


class Receiver:
    """Records raw deliveries; answers 500 to the first ``fail_next`` of them."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[bytes, dict[str, str]]] = []
        self.attempts = 0
        self.fail_next = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.attempts += 1
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    self.send_response(500)
                else:
                    receiver.deliveries.append((raw, dict(self.headers)))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, name: str, connector_id: str | None = None) -> list[dict]:
        bodies = [json.loads(raw) for raw, _ in self.deliveries]
        return [
            b
            for b in bodies
            if b["event"] == name
            and (connector_id is None or b.get("connector_id") == connector_id)
        ]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def test_webhook_crud_and_create_time_test(api: Api, receiver: Receiver, group_id: str) -> None:
    body = {"url": receiver.url, "events": ["sync_end"], "active": True, "secret": SECRET}
    hook = api.post("/v1/webhooks/account", body, expect=200)["data"]
    assert hook["type"] == "account" and hook["secret"] == "******"
    assert SECRET not in api.last.text
    assert len(receiver.deliveries) == 1  # the create-time test delivery
    group_hook = api.post(f"/v1/webhooks/group/{group_id}", {**body, "active": False}, expect=200)
    assert group_hook["data"]["group_id"] == group_id and len(receiver.deliveries) == 1
    assert api.post("/v1/webhooks/group/no_group", body, expect=404)["code"] == "NotFound_Group"
    listed = api.get("/v1/webhooks", expect=200)["data"]["items"]
    assert [h["id"] for h in listed] == [hook["id"], group_hook["data"]["id"]]
    assert api.get(f"/v1/webhooks/{hook['id']}", expect=200)["data"]["url"] == receiver.url
    patched = api.patch(f"/v1/webhooks/{hook['id']}", {"events": ["sync_start"]}, expect=200)
    assert patched["data"]["events"] == ["sync_start"]
    tested = api.post(f"/v1/webhooks/{hook['id']}/test", {"event": "sync_end"}, expect=200)
    assert tested["data"]["succeed"] is True and tested["data"]["status"] == 200
    api.delete(f"/v1/webhooks/{hook['id']}", expect=200)
    assert api.get(f"/v1/webhooks/{hook['id']}", expect=404)["code"] == "NotFound_Webhook"


def test_webhook_bad_input(api: Api, receiver: Receiver) -> None:
    def create(body: dict) -> dict:
        return api.post("/v1/webhooks/account", body, expect=400)

    assert "url" in create({"url": "http://example.com/x", "events": ["sync_end"]})["message"]
    assert "url" in create({"url": "ftp://127.0.0.1/x", "events": ["sync_end"]})["message"]
    assert "events" in create({"url": receiver.url, "events": ["nope"]})["message"]
    assert "events" in create({"url": receiver.url})["message"]
    receiver.fail_next = 1
    failed = create({"url": receiver.url, "events": ["sync_end"], "secret": SECRET})
    assert "test delivery" in failed["message"]
    assert api.get("/v1/webhooks", expect=200)["data"]["items"] == []


def test_sync_events_are_signed_and_retried(
    api: Api, receiver: Receiver, group_id: str, source: Path
) -> None:
    api.post(
        f"/v1/webhooks/group/{group_id}",
        {
            "url": receiver.url,
            "events": ["sync_start", "sync_end", "create_connector"],
            "secret": SECRET,
        },
        expect=200,
    )
    conn = make_connection(api, group_id, source, "hooked", schedule_type="manual")
    receiver.fail_next = 0
    api.post(f"/v1/connections/{conn['id']}/sync", expect=200)
    wait_sync_end(api, conn["id"])
    ends = wait_for(lambda: receiver.events("sync_end", conn["id"]), what="sync_end delivery")
    raw = next(r for r, _ in receiver.deliveries if json.loads(r) == ends[0])
    headers = next(h for r, h in receiver.deliveries if r == raw)
    expected = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert headers["X-Fivetran-Signature-256"].lower() == expected
    assert b": " not in raw and b", " not in raw  # compact JSON
    end = ends[0]
    assert list(end) == [
        "event",
        "created",
        "connector_type",
        "connector_id",
        "connector_name",
        "sync_id",
        "destination_group_id",
        "data",
    ]
    assert end["connector_id"] == conn["id"] and end["connector_name"] == "hooked"
    assert end["connector_type"] == "sqlite" and end["destination_group_id"] == group_id
    assert end["data"] == {"status": "SUCCESSFUL"}
    start = receiver.events("sync_start", conn["id"])[0]
    assert start["sync_id"] == end["sync_id"]
    assert receiver.events("create_connector")

    # a failing receiver gets the failed sync's sync_end again, later
    before = receiver.attempts
    receiver.fail_next = 2
    api.post(
        f"/_local/connections/{conn['id']}/next-sync",
        {"outcome": "fail", "reason": "boom"},
        expect=200,
    )
    api.post(f"/v1/connections/{conn['id']}/sync", expect=200)
    failure = wait_for(
        lambda: [
            e
            for e in receiver.events("sync_end", conn["id"])
            if e["data"]["status"] != "SUCCESSFUL"
        ],
        timeout=20,
        what="retried sync_end",
    )
    assert failure[0]["data"] == {"status": "FAILURE", "reason": "boom"}
    assert receiver.attempts - before >= 4  # sync_start + 2 failed attempts + delivered sync_end
