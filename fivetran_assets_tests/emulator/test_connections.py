"""Connections of the local Fivetran: create, both path families, bad input, state machines."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from fivetran_assets_tests.emulator.support import Api, make_connection, wait_for, wait_sync_end


def test_create_get_list_on_both_families(api: Api, group_id: str, source: Path) -> None:
    current = make_connection(api, group_id, source, "alpha", schedule_type="manual")
    legacy = make_connection(
        api, group_id, source, "beta", family="connectors", paused="true", sync_frequency="60"
    )
    assert current["schema"] == "alpha" and current["status"]["setup_state"] == "connected"
    assert legacy["paused"] is True and legacy["sync_frequency"] == 60
    assert legacy["status"]["sync_state"] == "paused"
    for family in ("connections", "connectors"):
        got = api.get(f"/v1/{family}/{current['id']}", expect=200)["data"]
        assert got["id"] == current["id"] and got["config"]["schema_prefix"] == "alpha"
        listed = api.get(f"/v1/groups/{group_id}/{family}", expect=200)["data"]["items"]
        assert {c["id"] for c in listed} == {current["id"], legacy["id"]}
    by_schema = api.get("/v1/connections", params={"group_id": group_id, "schema": "beta"})
    assert [c["id"] for c in by_schema["data"]["items"]] == [legacy["id"]]
    assert api.get("/v1/connections/nope_nope", expect=404)["code"] == "NotFound_Connection"
    assert api.get("/v1/connectors/nope_nope", expect=404)["code"] == "NotFound_Connector"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"group_id": None}, "group_id"),
        ({"service": "mysql"}, "service"),
        ({"config": {"schema_prefix": "x"}}, "config.database"),
        ({"config": {"database": "/x.db"}}, "config.schema_prefix"),
        ({"config": {"database": "/x.db", "schema_prefix": "Bad-Name"}}, "config.schema_prefix"),
        ({"sync_frequency": 7}, "sync_frequency"),
        ({"schedule_type": "sometimes"}, "schedule_type"),
        ({"paused": "maybe"}, "paused"),
        ({"config": "nope"}, "config"),
    ],
)
def test_bad_create_names_the_field(
    api: Api, group_id: str, source: Path, change: dict, field: str
) -> None:
    body = {
        "group_id": group_id,
        "service": "sqlite",
        "config": {"database": str(source), "schema_prefix": "ok"},
    }
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    error = api.post("/v1/connections", body, expect=400)
    assert error["code"] == "InvalidInput" and f"'{field}'" in error["message"]
    assert api.get("/v1/connections", expect=200)["data"]["items"] == []


def test_unknown_group_and_duplicate_schema(api: Api, group_id: str, source: Path) -> None:
    body = {
        "group_id": "no_group",
        "service": "sqlite",
        "config": {"database": str(source), "schema_prefix": "dup"},
    }
    assert api.post("/v1/connections", body, expect=404)["code"] == "NotFound_Group"
    make_connection(api, group_id, source, "dup")
    body["group_id"] = group_id
    assert api.post("/v1/connections", body, expect=409)["code"] == "Conflict"
    assert len(api.get("/v1/connections", expect=200)["data"]["items"]) == 1


def test_concurrent_creates_lose_and_duplicate_nothing(
    api: Api, emulator, group_id: str, source: Path
) -> None:
    statuses: list[int] = []
    lock = threading.Lock()

    def create(n: int) -> None:
        client = Api(emulator.base_url, (emulator.api_key, emulator.api_secret))
        body = {
            "group_id": group_id,
            "service": "sqlite",
            "run_setup_tests": False,
            "config": {"database": str(source), "schema_prefix": f"s{n % 6}"},
        }
        response = client.session.post(emulator.base_url + "/v1/connections", json=body)
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(18)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] * 6 + [409] * 12
    items = api.get("/v1/connections", expect=200)["data"]["items"]
    assert sorted(c["schema"] for c in items) == [f"s{n}" for n in range(6)]
    assert len({c["id"] for c in items}) == 6


def test_patch_rules(api: Api, group_id: str, source: Path) -> None:
    conn = make_connection(api, group_id, source, "patchy", schedule_type="manual")
    path = f"/v1/connections/{conn['id']}"
    for body, field in [
        ({"config": {"schema_prefix": "other"}}, "config.schema_prefix"),
        ({"service": "postgres"}, "service"),
        ({"group_id": "elsewhere"}, "group_id"),
        ({"sync_frequency": 2}, "sync_frequency"),
    ]:
        error = api.patch(path, body, expect=400)
        assert f"'{field}'" in error["message"]
    assert api.patch(path, {}, expect=400)["code"] == "InvalidInput"
    paused = api.patch(path, {"paused": True, "sync_frequency": 1440}, expect=200)["data"]
    assert paused["paused"] is True and paused["status"]["sync_state"] == "paused"
    assert api.post(f"{path}/sync", expect=409)["code"] == "Conflict"
    resumed = api.patch(path, {"paused": "false"}, expect=200)["data"]
    assert resumed["status"]["sync_state"] == "scheduled"


def test_setup_tests_broken_source(api: Api, group_id: str, tmp_path: Path) -> None:
    missing = tmp_path / "missing" / "nothing.db"
    conn = make_connection(api, group_id, missing, "broken")
    assert conn["status"]["setup_state"] == "broken"
    assert any(t["status"] == "FAILED" for t in conn["setup_tests"])
    assert api.post(f"/v1/connections/{conn['id']}/sync", expect=409)["code"] == "Conflict"
    tested = api.post(f"/v1/connectors/{conn['id']}/test", expect=200)["data"]
    assert tested["status"]["setup_state"] == "broken"


def test_manual_sync_state_machine(api: Api, emulator, group_id: str, source: Path) -> None:
    conn = make_connection(api, group_id, source, "manual", schedule_type="manual")
    cid = conn["id"]
    assert conn["succeeded_at"] is None and conn["status"]["is_historical_sync"] is True
    api.post(f"/_local/connections/{cid}/settings", {"min_sync_seconds": 60}, expect=200)
    api.post(f"/v1/connections/{cid}/sync", {"force": False}, expect=200)
    syncing = api.get(f"/v1/connections/{cid}", expect=200)["data"]
    assert syncing["status"]["sync_state"] == "syncing"
    assert syncing["status"]["is_historical_sync"] is True
    assert api.post(f"/v1/connections/{cid}/resync", expect=409)["code"] == "Conflict"
    api.post(f"/v1/connections/{cid}/sync", expect=200)  # joins the running sync
    first = wait_sync_end(api, cid)
    assert first["succeeded_at"] and first["failed_at"] is None
    assert first["status"]["is_historical_sync"] is False
    assert first["status"]["sync_state"] == "scheduled"

    api.post(
        f"/_local/connections/{cid}/next-sync",
        {"outcome": "fail", "reason": "source went away", "duration_seconds": 0},
        expect=200,
    )
    api.post(f"/v1/connectors/{cid}/force", expect=200)
    failed = wait_sync_end(api, cid, first["succeeded_at"])
    assert failed["failed_at"] > failed["succeeded_at"]
    assert failed["status"]["tasks"][0]["message"] == "source went away"

    api.post(f"/_local/connections/{cid}/next-sync", {"outcome": "reschedule"}, expect=200)
    api.post(f"/v1/connections/{cid}/sync", expect=200)
    rescheduled = wait_for(
        lambda: (
            (d := api.get(f"/v1/connections/{cid}")["data"])["status"]["sync_state"]
            == "rescheduled"
            and d
        ),
        what="rescheduled",
    )
    assert rescheduled["status"]["rescheduled_for"] > rescheduled["failed_at"]

    api.post(f"/v1/connections/{cid}/resync", expect=200)
    resync = api.get(f"/v1/connections/{cid}")["data"]
    assert resync["status"]["is_historical_sync"] is True
    done = wait_sync_end(api, cid, failed["failed_at"])
    assert done["succeeded_at"] > done["failed_at"]


def test_force_restarts_a_running_sync(api: Api, group_id: str, source: Path) -> None:
    conn = make_connection(api, group_id, source, "forced", schedule_type="manual")
    cid = conn["id"]
    api.post(f"/_local/connections/{cid}/settings", {"min_sync_seconds": 600}, expect=200)
    api.post(f"/v1/connections/{cid}/sync", expect=200)
    api.post(f"/_local/connections/{cid}/settings", {"min_sync_seconds": 0}, expect=200)
    api.post(f"/v1/connections/{cid}/sync", {"force": True}, expect=200)
    done = wait_sync_end(api, cid)
    assert done["succeeded_at"] and done["status"]["sync_state"] == "scheduled"


def test_auto_schedule_syncs_on_its_own(api: Api, group_id: str, source: Path) -> None:
    conn = make_connection(api, group_id, source, "auto", sync_frequency=1)
    first = wait_sync_end(api, conn["id"])
    second = wait_sync_end(api, conn["id"], first["succeeded_at"])
    assert second["succeeded_at"] > first["succeeded_at"]


def test_table_resync_and_delete(api: Api, group_id: str, source: Path) -> None:
    conn = make_connection(api, group_id, source, "tables", schedule_type="manual")
    cid = conn["id"]
    api.post(f"/v1/connections/{cid}/schemas/reload", expect=200)
    error = api.post(f"/v1/connections/{cid}/schemas/tables/resync", {"main": ["nope"]}, expect=400)
    assert "nope" in error["message"]
    api.post(f"/v1/connections/{cid}/schemas/tables/resync", {"main": ["users"]}, expect=200)
    first = wait_sync_end(api, cid)
    api.post(f"/v1/connectors/{cid}/schemas/main/tables/events/resync", expect=200)
    wait_sync_end(api, cid, first["succeeded_at"])
    api.post(f"/v1/connections/{cid}/resync", {"scope": {"main": ["users"]}}, expect=200)
    api.delete(f"/v1/connections/{cid}", expect=200)
    assert api.get(f"/v1/connections/{cid}", expect=404)["code"] == "NotFound_Connection"


def test_source_secrets_are_masked(api: Api, group_id: str) -> None:
    body = {
        "group_id": group_id,
        "service": "postgres",
        "run_setup_tests": False,
        "config": {
            "host": "127.0.0.1",
            "port": 1,
            "database": "d",
            "user": "u",
            "password": "pg-secret-42",
            "schema_prefix": "pg",
        },
    }
    conn = api.post("/v1/connectors", body, expect=201)["data"]
    assert conn["config"]["password"] == "******" and conn["status"]["setup_state"] == "incomplete"
    for path in (f"/v1/connections/{conn['id']}", "/v1/connections"):
        api.get(path, expect=200)
        assert "pg-secret-42" not in api.last.text
    api.patch(
        f"/v1/connections/{conn['id']}",
        {"config": {"password": "******"}, "run_setup_tests": False},
        expect=200,
    )
    assert "pg-secret-42" not in api.last.text


def test_next_sync_time_follows_frequency_and_daily_time() -> None:
    from datetime import UTC, datetime

    from fivetran_assets.emulator.engine import next_sync_time

    now = datetime(2026, 1, 1, 10, 30, tzinfo=UTC)
    daily = {"sync_frequency": 1440, "daily_sync_time": "03:00"}
    assert next_sync_time(daily, now) == datetime(2026, 1, 2, 3, 0, tzinfo=UTC)
    later = {"sync_frequency": 1440, "daily_sync_time": "13:00"}
    assert next_sync_time(later, now) == datetime(2026, 1, 1, 13, 0, tzinfo=UTC)
    assert next_sync_time({"sync_frequency": 60}, now) == datetime(2026, 1, 1, 11, 30, tzinfo=UTC)
