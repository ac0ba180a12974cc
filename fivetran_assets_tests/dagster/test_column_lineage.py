"""Column lineage from the department databases: each synced table's columns come from its source
table's columns (`dagster/column_lineage`), and the source table is an external asset upstream,
all from the cached snapshot (no API call when the definitions load)."""

from __future__ import annotations

import dagster as dg

from fivetran_assets_tests.dagster.conftest import api_requests


def test_tables_carry_column_lineage_to_their_source_tables(demo) -> None:
    _, since = api_requests(demo)
    repo = demo.definitions().get_repository_def()
    assert api_requests(demo, since)[0] == []  # loading spent no API call
    graph = repo.asset_graph
    table = dg.AssetKey(["sales_main", "employees"])
    source = dg.AssetKey(["fivetran_source", "departments", "sales", "main", "employees"])
    node = graph.get(table)
    assert source in node.parent_keys
    lineage = node.metadata["dagster/column_lineage"]
    deps = {
        column: [(d.asset_key, d.column_name) for d in deps]
        for column, deps in lineage.deps_by_column.items()
    }
    assert deps["id"] == [(source, "id")]
    assert deps["email"] == [(source, "email")]  # hashed in the destination, same column
    assert "ssn" not in deps  # blocked: never lands
    external = graph.get(source)
    assert not external.is_materializable and external.kinds == {"sqlite"}
    uri = external.metadata["fivetran/source_uri"]
    assert uri.startswith("sqlite:///") and uri.endswith("sales.sqlite")
    assert node.metadata["fivetran/source_uri"] == uri
    # and on to the dbt models that read the table
    assert any(table in graph.get(k).parent_keys for k in graph.get_all_asset_keys())
