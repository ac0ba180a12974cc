"""Column lineage of dbt models from compiled SQL: joins, aliases and CTEs traced to the
relation columns they read; SQL sqlglot cannot read keeps the model as it was."""

from __future__ import annotations

from fivetran_assets.snapshot.dbt_lineage import with_column_lineage
from fivetran_assets.snapshot.store import ModelSnapshot

ORDERS = ModelSnapshot(
    name="orders", schema="analytics", unique_id="model.p.orders", sources=(("shop", "orders"),)
)
REVENUE = ModelSnapshot(
    name="revenue",
    schema="analytics",
    unique_id="model.p.revenue",
    refs=("orders",),
    sources=(("crm", "customers"),),
    columns=("documented_only",),
)
TABLES = {("shop", "orders"): ["id", "customer_id", "amount"], ("crm", "customers"): ["id", "name"]}
COMPILED = {
    # in dbt's order: the mart before the model it refs (the trace goes upstream first)
    "model.p.revenue": """
        with o as (select customer_id, amount * 1.2 as gross from "memory"."analytics"."orders")
        select c.name as customer, sum(o.gross) as revenue, count(*) as n
        from o join "memory"."crm"."customers" c on c.id = o.customer_id
        group by 1
    """,
    "model.p.orders": 'select id as order_id, customer_id, amount from "memory"."shop"."orders"',
}


def test_columns_are_traced_through_ctes_joins_and_models() -> None:
    revenue, orders = with_column_lineage([REVENUE, ORDERS], COMPILED, TABLES)
    assert orders.columns == ("order_id", "customer_id", "amount")
    assert dict(orders.column_lineage)["order_id"] == (("shop", "orders", "id"),)
    lineage = dict(revenue.column_lineage)
    assert lineage["customer"] == (("crm", "customers", "name"),)
    assert lineage["revenue"] == (("analytics", "orders", "amount"),)  # through the CTE
    assert lineage["n"] == ()
    # output columns first, then documented ones the SQL does not produce
    assert revenue.columns == ("customer", "revenue", "n", "documented_only")


def test_unreadable_sql_keeps_the_model_without_lineage() -> None:
    broken = {"model.p.orders": "select from where (((", "model.p.revenue": ""}
    assert with_column_lineage([ORDERS, REVENUE], broken, TABLES) == [ORDERS, REVENUE]


def test_a_project_that_needs_a_warehouse_to_compile_keeps_its_models(tmp_path, caplog) -> None:
    """`dbt compile` runs against an empty in-memory DuckDB: a model whose Jinja queries the
    warehouse fails it, the models still load, and the lost lineage is said, not silent."""
    from fivetran_assets.snapshot.dbt_manifest import parse_project

    (tmp_path / "models").mkdir()
    (tmp_path / "dbt_project.yml").write_text(
        "name: needs_warehouse\nversion: '1.0'\nconfig-version: 2\nprofile: p\n"
    )
    (tmp_path / "models" / "plain.sql").write_text("select 1 as one")
    (tmp_path / "models" / "probing.sql").write_text(
        "{% if execute %}{% do run_query('select * from hr.employees') %}{% endif %}select 2 as two"
    )
    with caplog.at_level("WARNING", logger="fivetran_assets.snapshot.dbt_manifest"):
        models, _ = parse_project(tmp_path, "analytics")
    assert sorted(m.name for m in models) == ["plain", "probing"]
    assert all(m.column_lineage == () for m in models)
    assert "dbt compile" in caplog.text and "no column lineage" in caplog.text
