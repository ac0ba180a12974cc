"""Account, groups and destinations of the local Fivetran, over plain HTTP."""

from __future__ import annotations

from pathlib import Path

import requests

from fivetran_assets_tests.emulator.support import Api


def test_account_info_and_auth(api: Api, emulator) -> None:
    info = api.get("/v1/account/info", expect=200)["data"]
    assert info["account_id"]
    anonymous = Api(emulator.base_url, ("", ""))
    assert anonymous.get("/v1/account/info", expect=401)["code"] == "AuthFailed"
    assert anonymous.get("/v1/connections", expect=401)["code"] == "AuthFailed"
    wrong = requests.get(emulator.base_url + "/v1/groups", auth=("test_key", "nope"), timeout=10)
    assert wrong.status_code == 401
    assert "nope" not in wrong.text


def test_group_lifecycle(api: Api) -> None:
    group = api.post("/v1/groups", {"name": "sales"}, expect=201)["data"]
    assert "_" in group["id"] and group["created_at"].endswith("Z")
    assert api.get(f"/v1/groups/{group['id']}", expect=200)["data"] == group
    assert api.post("/v1/groups", {"name": "sales"}, expect=409)["code"] == "Conflict"
    renamed = api.patch(f"/v1/groups/{group['id']}", {"name": "sales2"}, expect=200)["data"]
    assert renamed["name"] == "sales2"
    assert api.post("/v1/groups", {}, expect=400)["message"] == "Field 'name' is required"
    api.delete(f"/v1/groups/{group['id']}", expect=200)
    assert api.get(f"/v1/groups/{group['id']}", expect=404)["code"] == "NotFound_Group"


def test_routing_errors_and_content_types(api: Api, emulator) -> None:
    assert api.get("/v1/no-such-thing", expect=404)["code"] == "NotFound"
    assert api.call("PUT", "/v1/groups", expect=405)["code"] == "MethodNotAllowed"
    body = api.call(
        "POST", "/v1/groups", data="name=x", headers={"Content-Type": "text/plain"}, expect=415
    )
    assert "Content-Type" in body["message"]
    body = api.call(
        "POST", "/v1/groups", data="{bad", headers={"Content-Type": "application/json"}, expect=400
    )
    assert body["code"] == "InvalidInput"
    # dagster-fivetran's habits: no Accept, `Content-Type: application/json;version=2`
    created = api.call(
        "POST",
        "/v1/groups",
        data='{"name": "versioned"}',
        headers={"Content-Type": "application/json;version=2", "Accept": ""},
        expect=201,
    )
    assert created["data"]["name"] == "versioned"


def test_destination_lifecycle(api: Api, tmp_path: Path) -> None:
    gid = api.post("/v1/groups", {"name": "wh"}, expect=201)["data"]["id"]
    missing = api.post("/v1/destinations", {"group_id": gid, "service": "duckdb"}, expect=400)
    assert "time_zone_offset" in missing["message"]
    unknown = api.post(
        "/v1/destinations",
        {"group_id": gid, "service": "oracle", "time_zone_offset": "0"},
        expect=400,
    )
    assert "service" in unknown["message"]
    body = {
        "group_id": gid,
        "service": "duckdb",
        "time_zone_offset": "-5",
        "config": {"path": str(tmp_path / "wh.duckdb")},
    }
    created = api.post("/v1/destinations", body, expect=201)
    assert created["code"] == "Created"
    dest = created["data"]
    assert dest["id"] == gid and dest["setup_status"] == "CONNECTED"
    assert api.post("/v1/destinations", body, expect=409)["code"] == "Conflict"
    assert api.patch(f"/v1/destinations/{gid}", {"service": "x"}, expect=400)["message"] == (
        "Field 'service' cannot be changed"
    )
    patched = api.patch(f"/v1/destinations/{gid}", {"region": "AWS_US_EAST_1"}, expect=200)
    assert patched["data"]["region"] == "AWS_US_EAST_1"
    assert api.get(f"/v1/destinations/{gid}", expect=200)["data"]["region"] == "AWS_US_EAST_1"
    tested = api.post(f"/v1/destinations/{gid}/test", expect=200)["data"]
    assert tested["setup_tests"] and tested["setup_status"] == "CONNECTED"
    assert api.get("/v1/destinations", expect=200)["data"]["items"][0]["id"] == gid
    api.delete(f"/v1/destinations/{gid}", expect=200)
    assert api.get(f"/v1/destinations/{gid}", expect=404)["code"] == "NotFound_Destination"


def test_broken_destination_and_secret_masking(api: Api) -> None:
    gid = api.post("/v1/groups", {"name": "pgwh"}, expect=201)["data"]["id"]
    body = {
        "group_id": gid,
        "service": "postgres_warehouse",
        "time_zone_offset": "0",
        "config": {
            "host": "127.0.0.1",
            "port": 1,
            "database": "none",
            "user": "nobody",
            "password": "hunter2-secret",
        },
    }
    dest = api.post("/v1/destinations", body, expect=201)["data"]
    assert dest["setup_status"] == "BROKEN"
    assert dest["config"]["password"] == "******"
    assert "hunter2" not in api.last.text
    # a masked secret sent back keeps the stored value
    api.patch(f"/v1/destinations/{gid}", {"config": {"password": "******"}}, expect=200)
    assert "hunter2" not in api.last.text


def test_pagination_over_more_than_a_thousand(api: Api) -> None:
    ids = [api.post("/v1/groups", {"name": f"g{n}"}, expect=201)["data"]["id"] for n in range(1003)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        data = api.get("/v1/groups", params=params, expect=200)["data"]
        seen += [g["id"] for g in data["items"]]
        pages += 1
        cursor = data.get("next_cursor")
        if not cursor:
            break
    assert pages == 2 and seen == ids
    default = api.get("/v1/groups", expect=200)["data"]
    assert len(default["items"]) == 100 and "next_cursor" in default
    exact = api.get("/v1/groups", params={"limit": 3}, expect=200)["data"]
    assert len(exact["items"]) == 3
    for bad in ("0", "1001", "x"):
        error = api.get("/v1/groups", params={"limit": bad}, expect=400)
        assert "limit" in error["message"]
    assert api.get("/v1/groups", params={"cursor": "!!"}, expect=400)["code"] == "InvalidInput"
