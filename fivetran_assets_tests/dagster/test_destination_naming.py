"""A schema's `name_in_destination` is where it lands (`<prefix>_<schema>` for databases), and the
snapshot (hence the asset keys) reads the same destination schema whichever form Fivetran shows."""

from __future__ import annotations

from types import SimpleNamespace

from fivetran_assets.emulator.dataplane.contract import ColumnInfo, TableInfo
from fivetran_assets.emulator.dataplane.schema_config import merge_schema_config
from fivetran_assets.snapshot.store import _destination_schema

CATALOG = {"main": {"employees": TableInfo({"id": ColumnInfo("INTEGER", is_primary_key=True)})}}


def test_schema_reports_its_destination_schema_when_the_prefix_is_known() -> None:
    config, _ = merge_schema_config(
        None, CATALOG, schema_change_handling="ALLOW_ALL", schema_prefix="sales"
    )
    schema = config["schemas"]["main"]
    assert schema["name_in_destination"] == "sales_main"
    assert schema["tables"]["employees"]["name_in_destination"] == "employees"


def test_an_earlier_bare_schema_name_is_corrected_and_a_custom_one_kept() -> None:
    bare, _ = merge_schema_config(None, CATALOG, schema_change_handling="ALLOW_ALL")
    assert bare["schemas"]["main"]["name_in_destination"] == "main"  # no prefix given
    fixed, changes = merge_schema_config(
        bare, CATALOG, schema_change_handling="ALLOW_ALL", schema_prefix="sales"
    )
    assert fixed["schemas"]["main"]["name_in_destination"] == "sales_main" and not changes
    fixed["schemas"]["main"]["name_in_destination"] = "custom"
    kept, _ = merge_schema_config(
        fixed, CATALOG, schema_change_handling="ALLOW_ALL", schema_prefix="sales"
    )
    assert kept["schemas"]["main"]["name_in_destination"] == "custom"


def test_snapshot_destination_schema_is_the_same_for_both_forms() -> None:
    prefixed = SimpleNamespace(name="main", name_in_destination="sales_main")
    bare = SimpleNamespace(name="main", name_in_destination="main")
    assert _destination_schema("sales", prefixed) == _destination_schema("sales", bare)
    assert _destination_schema("sales", prefixed) == "sales_main"
