"""Schema capture, schema config merges, and schema_change_handling applied by syncs."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from fivetran_assets.emulator.dataplane import api, mutate
from fivetran_assets.emulator.dataplane.contract import DataPlaneError

from .helpers import counts, demo_config, query, request, response_schema, sync


def test_catalog_lists_tables_columns_types_and_keys(sales: Path):
    catalog = api.capture_catalog("sqlite", {"database": str(sales), "schema": "hr"})
    assert list(catalog) == ["hr"]
    assert list(catalog["hr"]) == ["employees", "payroll", "expenses", "tickets", "audit_log"]
    employees = catalog["hr"]["employees"].columns
    assert list(employees)[:3] == ["id", "first_name", "last_name"]
    assert employees["salary"].type == "NUMERIC(10,2)"
    assert employees["id"].is_primary_key and not employees["email"].is_primary_key
    assert not any(c.is_primary_key for c in catalog["hr"]["audit_log"].columns.values())


def test_first_capture_matches_the_api_shape(sales: Path):
    catalog = api.capture_catalog("sqlite", {"database": str(sales)})
    config, changes = api.merge_schema_config(None, catalog, schema_change_handling="ALLOW_ALL")
    jsonschema.validate(config, response_schema("StandardConfigResponse"))
    assert changes == []
    table = config["schemas"]["main"]["tables"]["employees"]
    assert table["enabled"] and table["name_in_destination"] == "employees"
    assert table["columns"]["id"] | {"enabled_patch_settings": None} == {
        "name_in_destination": "id",
        "enabled": True,
        "hashed": False,
        "is_primary_key": True,
        "enabled_patch_settings": None,
        "type_in_source": "INTEGER",  # kept for the metadata API, not rendered by GET /schemas
    }


@pytest.mark.parametrize(
    ("handling", "exclude_mode", "table_on", "column_on"),
    [
        ("ALLOW_ALL", "PRESERVE", True, True),
        ("ALLOW_COLUMNS", "PRESERVE", False, True),
        ("BLOCK_ALL", "PRESERVE", False, False),
        ("ALLOW_ALL", "EXCLUDE", False, False),
    ],
)
def test_reload_follows_schema_change_handling(
    sales: Path, handling: str, exclude_mode: str, table_on: bool, column_on: bool
):
    source = {"database": str(sales)}
    current = demo_config(source, handling=handling)
    mutate.add_table(sales, "projects")
    mutate.add_column(sales, "employees", "Office Location", "TEXT")
    mutate.delete_rows(sales, "expenses", [1])
    config, changes = api.merge_schema_config(
        current,
        api.capture_catalog("sqlite", source),
        schema_change_handling=handling,
        exclude_mode=exclude_mode,
    )
    tables = config["schemas"]["main"]["tables"]
    assert tables["projects"]["enabled"] is table_on
    office = tables["employees"]["columns"]["Office Location"]
    assert office["enabled"] is column_on and office["name_in_destination"] == "office_location"
    assert tables["employees"]["columns"]["email"]["hashed"] is True  # user settings kept
    assert tables["payroll"]["enabled"] is False
    assert changes == [
        f"column main.employees.Office Location added (enabled={column_on})",
        f"table main.projects added (enabled={table_on})",
    ]


def test_bad_handling_is_named():
    with pytest.raises(DataPlaneError, match="schema_change_handling"):
        api.merge_schema_config(None, {}, schema_change_handling="SOMETIMES")


@pytest.mark.parametrize("handling", ["ALLOW_ALL", "ALLOW_COLUMNS", "BLOCK_ALL"])
def test_sync_applies_schema_change_handling(
    sales: Path, warehouse: Path, state: Path, handling: str
):
    config = demo_config({"database": str(sales)}, handling=handling)
    sync(request(sales, warehouse, state, config))
    mutate.add_table(sales, "projects", rows=4)
    mutate.add_column(sales, "tickets", "sla_hours", "INTEGER", default=8)
    report = sync(request(sales, warehouse, state, config))

    tables = {r[0] for r in query(warehouse, "SELECT table_name FROM information_schema.tables")}
    assert ("projects" in tables) is (handling == "ALLOW_ALL")
    if handling == "ALLOW_ALL":
        assert counts(report)["projects"] == (4, 0)
    ticket_columns = {
        r[0]
        for r in query(
            warehouse,
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'tickets'",
        )
    }
    assert ("sla_hours" in ticket_columns) is (handling != "BLOCK_ALL")
    merged = report.extra["schema_config"]["schemas"]["main"]["tables"]
    assert merged["projects"]["enabled"] is (handling == "ALLOW_ALL")
