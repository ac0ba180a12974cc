"""Column lineage from the department databases: each synced table's columns come from its source
table's columns (`dagster/column_lineage`), the source table is an external asset upstream, and
each dbt model's columns come from the columns its compiled SQL reads (synced tables and other
models), all from the cached snapshot (no API call, no SQL parsing when the definitions load)."""

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


def _deps(graph, key: dg.AssetKey) -> dict[str, set[tuple[dg.AssetKey, str]]]:
    lineage = graph.get(key).metadata["dagster/column_lineage"]
    return {
        column: {(d.asset_key, d.column_name) for d in deps}
        for column, deps in lineage.deps_by_column.items()
    }


def test_models_carry_column_lineage_from_the_synced_tables_and_each_other(demo) -> None:
    graph = demo.definitions().get_repository_def().asset_graph
    staging = next(k for k in graph.get_all_asset_keys() if k.path[-1] == "stg_employees")
    headcount = next(
        k for k in graph.get_all_asset_keys() if k.path[-1] == "headcount_by_department"
    )
    tables = {d: dg.AssetKey([f"{d}_main", "employees"]) for d in ("sales", "marketing")}
    staged = _deps(graph, staging)
    # `id as employee_id` over a union of every department's table
    assert {(tables["sales"], "id"), (tables["marketing"], "id")} <= staged["employee_id"]
    assert (tables["sales"], "email") in staged["email_hash"]  # renamed, still the column
    assert "department" not in staged  # a literal per department: read from no column
    assert all(key in graph.get(staging).parent_keys for key, _ in set().union(*staged.values()))
    # a model over a model: the lineage continues from staging to the mart
    marts = _deps(graph, headcount)
    assert marts["total_salary"] == {(staging, "salary")}  # sum(salary)
    assert marts["department"] == {(staging, "department")}
    assert "headcount" not in marts  # count(*) reads no one column
    columns = graph.get(headcount).metadata["dagster/column_schema"].columns
    assert [c.name for c in columns] == ["department", "headcount", "total_salary"]
