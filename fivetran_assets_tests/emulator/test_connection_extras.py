"""Metadata, sync state, Connect Card, column drops and transformation packages."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb

from fivetran_assets_tests.emulator.support import Api, make_connection, wait_sync_end


def _sync(api: Api, conn_id: str) -> dict:
    before = api.get(f"/v1/connections/{conn_id}")["data"]
    api.post(f"/v1/connections/{conn_id}/sync", expect=200)
    return wait_sync_end(api, conn_id, max(before["succeeded_at"] or "", before["failed_at"] or ""))


def test_legacy_metadata_lists_source_and_destination_names(
    api: Api, group_id: str, source: Path
) -> None:
    conn = make_connection(api, group_id, source, "meta", schedule_type="manual")
    base = f"/v1/connections/{conn['id']}/schemas"
    api.patch(f"{base}/main/tables/events", {"enabled": False}, expect=200)
    api.patch(f"{base}/main/tables/users/columns/email", {"hashed": True}, expect=200)
    meta = f"/v1/metadata/connectors/{conn['id']}"
    schemas = api.get(f"{meta}/schemas", expect=200)["data"]["items"]
    assert [(s["name_in_source"], s["name_in_destination"]) for s in schemas] == [
        ("main", "meta_main")
    ]
    tables = api.get(f"{meta}/tables", expect=200)["data"]["items"]
    # a blocked table is listed too: the Airflow provider looks up every table of the schema
    assert [(t["name_in_source"], t["parent_id"]) for t in tables] == [
        ("users", schemas[0]["id"]),
        ("events", schemas[0]["id"]),
    ]
    columns = api.get(f"{meta}/columns", expect=200)["data"]["items"]
    by_name = {c["name_in_source"]: c for c in columns if c["parent_id"] == tables[0]["id"]}
    assert set(by_name) == {"id", "name", "email"}
    assert len(columns) == 5
    assert by_name["id"]["type_in_source"] == "INTEGER" and by_name["id"]["is_primary_key"]
    assert by_name["id"]["type_in_destination"] == "BIGINT"
    assert by_name["email"]["type_in_destination"] == "VARCHAR"  # hashed: a hex string
    page = api.get(f"{meta}/columns?limit=2", expect=200)["data"]
    rest = api.get(f"{meta}/columns?cursor={page['next_cursor']}", expect=200)["data"]
    assert [c["id"] for c in page["items"] + rest["items"]] == [c["id"] for c in columns]
    untested = make_connection(
        api, group_id, source, "raw", schedule_type="manual", run_setup_tests=False
    )
    missing = api.get(f"/v1/metadata/connectors/{untested['id']}/tables", expect=404)
    assert missing["code"] == "NotFound_SchemaConfig"
    assert api.get("/v1/metadata/connectors/nope/columns", expect=404)["code"] == (
        "NotFound_Connector"
    )


def test_state_rewinds_an_incremental_sync(api: Api, group_id: str, source: Path) -> None:
    conn = make_connection(api, group_id, source, "stateful", schedule_type="manual")
    path = f"/v1/connections/{conn['id']}/state"
    assert api.get(path, expect=200)["data"]["state"] == {"tables": {}}
    assert _sync(api, conn["id"])["failed_at"] is None
    state = api.get(path, expect=200)["data"]["state"]
    assert set(state["tables"]) == {"main.users", "main.events"}
    bad = api.patch(path, {"state": {"tables": {"users": 1}}}, expect=400)
    assert "state.tables.users" in bad["message"]
    assert api.patch(path, {"state": {"tables": {}}}, expect=200)["data"]["state"] == {"tables": {}}
    assert api.get(f"/v1/connectors/{conn['id']}/state", expect=200)["data"]["state"] == {
        "tables": {}
    }


def test_drop_columns_at_the_next_sync(api: Api, group_id: str, source: Path, tmp_path) -> None:
    conn = make_connection(api, group_id, source, "drops", schedule_type="manual")
    base = f"/v1/connections/{conn['id']}/schemas"
    assert _sync(api, conn["id"])["failed_at"] is None
    body = {"schemas": {"main": {"tables": {"users": {"columns": ["email"]}}}}}
    not_blocked = api.post(f"{base}/drop-columns", body, expect=409)
    assert "not blocked" in not_blocked["message"]
    ghost = {"schemas": {"main": {"tables": {"users": {"columns": ["ghost"]}}}}}
    assert api.post(f"{base}/drop-columns", ghost, expect=404)["code"] == "NotFound_Column"
    api.patch(f"{base}/main/tables/users/columns/email", {"enabled": False}, expect=200)
    api.patch(f"{base}/main/tables/users/columns/name", {"enabled": False}, expect=200)
    api.post(f"{base}/drop-columns", body, expect=200)
    api.delete(f"{base}/main/tables/users/columns/name", expect=200)
    warehouse = tmp_path / "g.duckdb"

    def columns() -> set[str]:
        with duckdb.connect(str(warehouse), read_only=True) as db:
            rows = db.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'drops_main' AND table_name = 'users'"
            ).fetchall()
        return {r[0] for r in rows}

    assert {"email", "name"} <= columns()  # marked, not yet dropped
    db = sqlite3.connect(source)
    db.execute("INSERT INTO users VALUES (99, 'late', 'l@x.io')")
    db.commit()
    db.close()
    assert _sync(api, conn["id"])["failed_at"] is None
    assert "email" not in columns() and "name" not in columns() and "id" in columns()


def test_connect_card_and_transformation_packages(api: Api, group_id: str, source: Path) -> None:
    conn = make_connection(api, group_id, source, "card", schedule_type="manual")
    card = api.post(
        f"/v1/connections/{conn['id']}/connect-card",
        {"connect_card_config": {"redirect_uri": "https://example.com/done"}},
        expect=200,
    )["data"]
    assert card["connector_id"] == conn["id"] and card["connect_card"]["token"]
    assert card["connect_card"]["uri"].startswith(api.base_url)
    assert api.post(f"/v1/connections/{conn['id']}/connect-card", {}, expect=400)
    assert api.get("/v1/transformations/package-metadata", expect=200)["data"]["items"] == []
    one = api.get("/v1/transformations/package-metadata/dbt_fivetran_log", expect=404)
    assert one["code"] == "NotFound_TransformationPackage"
    assert api.post("/v1/transformations/nope/upgrade", expect=404)["code"] == (
        "NotFound_Transformation"
    )
