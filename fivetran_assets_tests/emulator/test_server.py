"""The local Fivetran as a server: restart persistence, test controls, middleware wiring,
metadata, and the `fivetran-assets emulator serve` command."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from fivetran_assets.emulator.ratelimit import RateLimits
from fivetran_assets.emulator.server import EmulatorServer
from fivetran_assets_tests.emulator.support import (
    Api,
    make_connection,
    make_estate,
    make_source,
    wait_sync_end,
)


def test_state_survives_restart(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src.db")
    state = tmp_path / "state"
    with EmulatorServer(state_dir=state, time_scale=60) as server:
        api = Api(server.base_url, server.auth)
        group_id = make_estate(api, tmp_path)
        conn = make_connection(api, group_id, source, "kept", schedule_type="manual")
        api.post(f"/v1/connections/{conn['id']}/sync", expect=200)
        synced = wait_sync_end(api, conn["id"])
        api.post(
            "/v1/webhooks/account",
            {
                "url": "https://example.com/h",
                "events": ["sync_end"],
                "active": False,
                "secret": "s",
            },
            expect=200,
        )
        before = {
            path: api.get(path, expect=200)["data"]
            for path in (
                "/v1/groups",
                "/v1/destinations",
                "/v1/connections",
                "/v1/webhooks",
                f"/v1/connections/{conn['id']}/schemas",
                "/v1/account/info",
            )
        }
    with EmulatorServer(state_dir=state, time_scale=60) as server:
        api = Api(server.base_url, server.auth)
        for path, data in before.items():
            assert api.get(path, expect=200)["data"] == data, path
        duplicate = {
            "group_id": group_id,
            "service": "sqlite",
            "config": {"database": str(source), "schema_prefix": "kept"},
        }
        assert api.post("/v1/connections", duplicate, expect=409)["code"] == "Conflict"
        fresh = make_connection(api, group_id, source, "fresh", schedule_type="manual")
        assert fresh["id"] not in {c["id"] for c in before["/v1/connections"]["items"]}
    assert synced["succeeded_at"]


def test_reset_and_local_controls(api: Api, group_id: str, source: Path) -> None:
    conn = make_connection(api, group_id, source, "ctl", schedule_type="manual")
    bad = api.post(f"/_local/connections/{conn['id']}/next-sync", {"outcome": "explode"})
    assert api.last.status_code == 400 and "outcome" in bad["message"]
    assert api.post("/_local/connections/ghost/next-sync", {"outcome": "fail"}, expect=404)
    assert api.get("/_local/clock", expect=200)["data"]["time_scale"] == 60
    api.post("/_local/reset", expect=200)
    assert api.get("/v1/groups", expect=200)["data"]["items"] == []
    assert api.get("/v1/connections", expect=200)["data"]["items"] == []


def test_faults_request_log_and_rate_headers(api: Api, emulator) -> None:
    url = emulator.base_url
    added = requests.post(
        url + "/_local/faults",
        json={"kind": "status", "path": "/v1/groups", "status": 503, "retry_after": 2},
        auth=emulator.auth,
        timeout=10,
    )
    assert added.status_code == 201
    faulted = api.session.get(url + "/v1/groups", timeout=10)
    assert faulted.status_code == 503 and faulted.headers["Retry-After"] == "2"
    normal = api.session.get(url + "/v1/groups", timeout=10)
    assert normal.status_code == 200
    assert int(normal.headers["X-Rate-Limit-Remaining"]) < int(normal.headers["X-Rate-Limit"])
    log = requests.get(url + "/_local/requests", auth=emulator.auth, timeout=10).json()["items"]
    assert [(e["path"], e["status"]) for e in log[-2:]] == [
        ("/v1/groups", 503),
        ("/v1/groups", 200),
    ]


def test_connection_create_rate_limit(tmp_path: Path) -> None:
    limits = RateLimits(creates_per_minute=2, creates_per_hour=100)
    with EmulatorServer(state_dir=tmp_path / "s", time_scale=1, rate_limits=limits) as server:
        api = Api(server.base_url, server.auth)
        group_id = make_estate(api, tmp_path)
        source = make_source(tmp_path / "src.db")
        for n in range(2):
            make_connection(api, group_id, source, f"c{n}", run_setup_tests=False)
        body = {
            "group_id": group_id,
            "service": "sqlite",
            "config": {"database": str(source), "schema_prefix": "c9"},
        }
        refused = api.post("/v1/connections", body, expect=429)
        assert refused["code"] == "TooManyRequests"
        assert int(api.last.headers["Retry-After"]) >= 1


def test_metadata_connector_types(api: Api) -> None:
    items = api.get("/v1/metadata/connector-types", expect=200)["data"]["items"]
    assert {"sqlite", "postgres"} <= {i["id"] for i in items}
    detail = api.get("/v1/metadata/connector-types/postgres", expect=200)["data"]
    assert "password" in detail["config"]["properties"]
    missing = api.get("/v1/metadata/connector-types/oracle", expect=404)
    assert missing["code"] == "NotFound_ConnectorType"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cli_serve_answers_groups(tmp_path: Path) -> None:
    port = _free_port()
    script = Path(sys.executable).parent / "fivetran-assets"
    cmd = [
        str(script),
        "emulator",
        "serve",
        "--port",
        str(port),
        "--state",
        str(tmp_path / "state"),
        "--api-key",
        "k",
        "--api-secret",
        "s",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = requests.get(
                    f"http://127.0.0.1:{port}/v1/groups", auth=("k", "s"), timeout=2
                )
                break
            except requests.ConnectionError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        assert answer.status_code == 200
        assert answer.json() == {"code": "Success", "message": "Success", "data": {"items": []}}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_interrupted_sync_resumes_after_restart(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src.db")
    state = tmp_path / "state"
    with EmulatorServer(state_dir=state, time_scale=60) as server:
        api = Api(server.base_url, server.auth)
        group_id = make_estate(api, tmp_path)
        conn = make_connection(api, group_id, source, "long", schedule_type="manual")
        api.post(f"/_local/connections/{conn['id']}/settings", {"min_sync_seconds": 3600})
        api.post(f"/v1/connections/{conn['id']}/sync", expect=200)
        assert api.get(f"/v1/connections/{conn['id']}")["data"]["status"]["sync_state"] == (
            "syncing"
        )
    with EmulatorServer(state_dir=state, time_scale=60) as server:
        api = Api(server.base_url, server.auth)
        resumed = api.get(f"/v1/connections/{conn['id']}", expect=200)["data"]
        assert resumed["status"]["sync_state"] == "syncing"
        api.post(f"/_local/connections/{conn['id']}/settings", {"min_sync_seconds": 0})
        api.post(f"/v1/connections/{conn['id']}/sync", {"force": True}, expect=200)
        done = wait_sync_end(api, conn["id"])
        assert done["succeeded_at"] and done["status"]["is_historical_sync"] is False
