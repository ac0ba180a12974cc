"""Schema config endpoints of the local Fivetran: capture, pre-create, patches, PK rules."""

from __future__ import annotations

from pathlib import Path

from fivetran_assets_tests.emulator.support import Api, make_connection


def test_schema_captured_when_setup_tests_pass(api: Api, group_id: str, source: Path) -> None:
    """As Fivetran does: a connection that passed its setup tests has its schema captured, so
    reading it right after create works while `schema_status` says ready; without setup tests
    it is `blocked_on_capture` and the read is 404 until a reload."""
    tested = make_connection(api, group_id, source, "tested", schedule_type="manual")
    assert tested["status"]["schema_status"] == "ready"
    config = api.get(f"/v1/connections/{tested['id']}/schemas", expect=200)["data"]
    assert set(config["schemas"]["main"]["tables"]) == {"users", "events"}
    untested = make_connection(
        api, group_id, source, "untested", schedule_type="manual", run_setup_tests=False
    )
    assert untested["status"]["schema_status"] == "blocked_on_capture"
    base = f"/v1/connections/{untested['id']}/schemas"
    assert api.get(base, expect=404)["code"] == "NotFound_SchemaConfig"
    api.post(f"/v1/connections/{untested['id']}/test", expect=200)
    assert api.get(base, expect=200)["data"]["schemas"]["main"]["enabled"] is True
    status = api.get(f"/v1/connections/{untested['id']}", expect=200)["data"]["status"]
    assert status["schema_status"] == "ready"


def test_schema_config_lifecycle(api: Api, group_id: str, source: Path) -> None:
    conn = make_connection(
        api, group_id, source, "schemas", schedule_type="manual", run_setup_tests=False
    )
    base = f"/v1/connections/{conn['id']}/schemas"
    assert api.get(base, expect=404)["code"] == "NotFound_SchemaConfig"
    bad_mode = api.post(f"{base}/reload", {"exclude_mode": "SOMETIMES"}, expect=400)
    assert "exclude_mode" in bad_mode["message"]
    config = api.post(f"{base}/reload", {"exclude_mode": "PRESERVE"}, expect=200)["data"]
    users = config["schemas"]["main"]["tables"]["users"]
    assert users["columns"]["id"]["is_primary_key"] is True
    assert set(config["schemas"]["main"]["tables"]) == {"users", "events"}

    blocked = api.patch(base, {"schemas": {"main": {"tables": {"events": {"enabled": False}}}}})
    assert blocked["data"]["schemas"]["main"]["tables"]["events"]["enabled"] is False
    handling = api.patch(base, {"schema_change_handling": "BLOCK_ALL"}, expect=200)["data"]
    assert handling["schema_change_handling"] == "BLOCK_ALL"
    table = api.patch(f"{base}/main/tables/users", {"sync_mode": "HISTORY"}, expect=200)["data"]
    assert table["schemas"]["main"]["tables"]["users"]["sync_mode"] == "HISTORY"
    column = api.patch(f"{base}/main/tables/users/columns/email", {"hashed": True}, expect=200)
    assert column["data"]["schemas"]["main"]["tables"]["users"]["columns"]["email"]["hashed"]
    schema = api.patch(f"{base}/main", {"enabled": True}, expect=200)["data"]
    assert schema["schemas"]["main"]["enabled"] is True

    pk = api.patch(f"{base}/main/tables/users/columns/id", {"enabled": False}, expect=400)
    assert "primary key" in pk["message"]
    whole_pk = {"schemas": {"main": {"tables": {"users": {"columns": {"id": {"enabled": False}}}}}}}
    assert api.patch(base, whole_pk, expect=400)["code"] == "InvalidInput"
    unknown = api.patch(base, {"schemas": {"main": {"tables": {"ghost": {"enabled": True}}}}})
    assert api.last.status_code == 400 and "ghost" in unknown["message"]
    assert api.patch(f"{base}/nope", {"enabled": False}, expect=404)["code"] == "NotFound_Schema"
    assert api.patch(f"{base}/main/tables/nope", {"enabled": False}, expect=404)
    wrong_type = api.patch(f"{base}/main/tables/users", {"enabled": "yes"}, expect=400)
    assert "enabled" in wrong_type["message"]

    columns = api.get(f"{base}/main/tables/users/columns", expect=200)["data"]["columns"]
    assert columns["email"]["hashed"] is True and columns["id"]["enabled"] is True
    after = api.get(f"/v1/connectors/{conn['id']}/schemas", expect=200)["data"]
    assert after["schemas"]["main"]["tables"]["events"]["enabled"] is False


def test_precreate_then_conflict(api: Api, group_id: str, source: Path) -> None:
    conn = make_connection(
        api, group_id, source, "precreated", schedule_type="manual", run_setup_tests=False
    )
    base = f"/v1/connections/{conn['id']}/schemas"
    body = {
        "schema_change_handling": "ALLOW_COLUMNS",
        "schemas": {"main": {"enabled": True, "tables": {"users": {"enabled": True}}}},
    }
    created = api.post(base, body, expect=200)["data"]
    assert created["schema_change_handling"] == "ALLOW_COLUMNS"
    assert api.post(base, body, expect=409)["code"] == "Conflict"
    reloaded = api.post(f"{base}/reload", expect=200)["data"]
    assert "users" in reloaded["schemas"]["main"]["tables"]
