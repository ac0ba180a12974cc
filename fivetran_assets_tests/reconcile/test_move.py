"""Switching the demo estate's warehouse from DuckDB to PostgreSQL: a group move, end to end."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest

from fivetran_assets.reconcile.plan import Action, Kind, UnsafePlanError
from fivetran_assets_tests.dagster.conftest import local_resources
from fivetran_assets_tests.fixtures.postgres import PostgresServer

STAGING = "departments__to_postgres_warehouse"
DEPARTMENTS = ("engineering", "finance", "marketing", "sales")


def _definitions(demo: Any) -> dg.Definitions:
    from fivetran_assets.dagster.build import build_fivetran_definitions
    from fivetran_assets.dagster.estate_view import estate_view
    from fivetran_assets.dagster.resources import DestinationResource
    from fivetran_assets.estate import load_estate
    from fivetran_assets.snapshot.store import read_snapshot

    # Generous waits (Fivetran seconds at 60x): a loaded machine slows dbt, not the outcome.
    resources = local_resources(demo.emulator.base_url, None, sync_timeout_seconds=36_000.0)
    resources["destination"] = DestinationResource(kind="auto")  # the snapshot's warehouse
    return build_fivetran_definitions(
        estate_view(load_estate(demo.path)),
        read_snapshot(demo.state_dir / "snapshot.json"),
        resources=resources,
    )


def _specs(defs: dg.Definitions) -> dict[dg.AssetKey, dg.AssetSpec]:
    graph = defs.resolve_asset_graph()
    return {key: graph.get(key).to_asset_spec() for key in graph.get_all_asset_keys()}


def _to_postgres(postgres: PostgresServer) -> Any:
    def edit(data: dict) -> None:
        data["groups"][0]["destination"] = {
            "service": "postgres_warehouse",
            "region": "GCP_US_EAST4",
            "time_zone_offset": "0",
            "config": {
                **postgres.config("departments_wh"),
                "password": "${env:WAREHOUSE_PASSWORD}",
            },
        }

    return edit


def _apply(demo: Any, plan: Any, **kwargs: Any) -> Any:
    return demo.reconciler(move_sync_timeout=600, **kwargs).apply(plan)


def test_switching_the_warehouse_moves_the_group_and_keeps_asset_keys(
    demo: Any, postgres_server: PostgresServer
) -> None:
    first = demo.reconciler(refresh_snapshot=True)
    assert first.apply(first.plan()).verified
    before = _specs(_definitions(demo))
    employees = dg.AssetKey(["sales_main", "employees"])
    assert before[employees].metadata["dagster/table_name"] == "warehouse.sales_main.employees"
    old_group = next(g for g in demo.client().list_groups() if g.name == "departments")

    postgres_server.create_database("departments_wh")
    demo.env["WAREHOUSE_PASSWORD"] = "not-checked-by-trust-auth"
    demo.edit(_to_postgres(postgres_server))
    plan = demo.reconciler().plan()
    move, *rest = [c for c in plan.changes if c.kind.area == "estate"]
    # the group's members go with the old group: they are planned again for the new one
    assert (
        sorted((c.action, c.kind, c.group) for c in plan.changes if c.kind.area != "estate")
        == [(Action.CREATE, Kind.GROUP_MEMBER, "departments")] * 2
    )
    assert (move.action, move.kind, move.group, move.replace) == (
        Action.UPDATE,
        Kind.GROUP,
        "departments",
        True,
    )
    assert [(f.path, f.old, f.new) for f in move.fields] == [
        ("destination.service", "duckdb", "postgres_warehouse")
    ]
    steps = " ".join(move.steps)
    for words in (
        f"create group {STAGING} with a postgres_warehouse destination",
        "recreate 4 connections there with the same config and schema selections",
        "recreate the transformation project and 3 transformations",
        "move 1 webhook",
        "run the historical sync of 4 connections",
        "only then delete group departments",
        f"rename {STAGING} to departments",
    ):
        assert words in steps
    assert [(c.action, c.kind, c.group) for c in rest] == [
        (Action.CREATE, kind, STAGING)
        for kind in (
            Kind.GROUP,
            Kind.DESTINATION,
            Kind.WEBHOOK,
            *[Kind.CONNECTION] * 4,
            Kind.TRANSFORMATION_PROJECT,
            *[Kind.TRANSFORMATION] * 3,
        )
    ]
    with pytest.raises(UnsafePlanError, match="--allow-destructive"):
        plan.raise_if_unsafe()

    # Interrupted after the old group is deleted (the rename is refused): apply again resumes.
    demo.fault(kind="status", path="/v1/groups/*", method="PATCH", status=400, count=1)
    report = _apply(demo, plan)
    assert not report.result.ok
    assert any("move group departments" in line for line in report.result.failures())
    resume = demo.reconciler().plan()
    ((rename,),) = [[c for c in resume.changes if c.kind.area == "estate"]]
    assert (rename.kind, rename.group, rename.replace) == (Kind.GROUP, "departments", False)
    assert [(f.path, f.old, f.new) for f in rename.fields] == [("name", STAGING, "departments")]
    resume.raise_if_unsafe()
    report = _apply(demo, resume, refresh_snapshot=True)
    assert report.ok, report.result.failures()

    client = demo.client()
    (group,) = [g for g in client.list_groups() if g.name.startswith("departments")]
    assert group.name == "departments" and group.id != old_group.id
    assert client.get_destination(group.id).service == "postgres_warehouse"
    connections = list(client.list_connections(group_id=group.id))
    assert sorted(c.schema for c in connections) == list(DEPARTMENTS)
    assert all(c.succeeded_at is not None for c in connections)  # the historical syncs ran
    assert [w.group_id for w in client.list_webhooks()] == [group.id]
    sources = Path(demo.env["FIVETRAN_ASSETS_DEMO_DIR"]) / "sources"
    with psycopg.connect(postgres_server.dsn("departments_wh")) as conn:
        for name in DEPARTMENTS:
            with sqlite3.connect(sources / f"{name}.sqlite") as source:
                (expected,) = source.execute("select count(*) from employees").fetchone()
            query = f"select count(*) from {name}_main.employees"
            assert conn.execute(query).fetchone() == (expected,)

    defs = _definitions(demo)
    after = _specs(defs)
    assert after.keys() == before.keys()
    assert after[employees].metadata["dagster/table_name"] == "departments_wh.sales_main.employees"
    result = defs.resolve_job_def("pipeline").execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    materialized = {
        e.materialization.asset_key: e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    model = dg.AssetKey(["stg_employees"])  # dagster-dbt's default key for the model
    assert (
        materialized[model]["dagster/table_name"].value == "departments_wh.analytics.stg_employees"
    )
    assert materialized[employees]["dagster/table_name"].value == (
        "departments_wh.sales_main.employees"
    )
    with psycopg.connect(postgres_server.dsn("departments_wh")) as conn:
        (rows,) = conn.execute("select count(*) from analytics.stg_employees").fetchone()
    assert rows == materialized[model]["dagster/row_count"].value > 0
