"""PostgreSQL as a source and as a destination, against a real throwaway server."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from fivetran_assets.emulator.dataplane import api, mutate
from fivetran_assets.emulator.dataplane.contract import DataPlaneError, SyncRequest
from fivetran_assets_tests.fixtures.postgres import PostgresServer

from .helpers import SALT, counts, demo_config, query, sha, source_rows, sync

SOURCE_DDL = """
CREATE SCHEMA hr;
CREATE TABLE hr.people (id integer PRIMARY KEY, name text, email text, salary numeric(10,2),
    hired date, active boolean);
CREATE TABLE hr.events (at timestamp, what text);
INSERT INTO hr.people SELECT i, 'person ' || i, 'p' || i || '@corp.example', 1000 + i * 0.5,
    date '2020-01-01' + i, i % 3 <> 0 FROM generate_series(1, 500) AS i;
INSERT INTO hr.events VALUES ('2024-01-01 10:00', 'boot'), ('2024-01-02 11:00', 'deploy');
"""


@pytest.fixture
def pg_source(postgres_server: PostgresServer) -> dict:
    dsn = postgres_server.create_database("hr_source")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SOURCE_DDL)
    return postgres_server.config("hr_source") | {"schema_prefix": "corp"}


def _pg_request(source: dict, config: dict, warehouse: Path, state: Path) -> SyncRequest:
    return SyncRequest(
        connection_id="conn_pg",
        source_service="postgres",
        source_config=source,
        destination_service="duckdb",
        destination_config={"path": str(warehouse)},
        schema_prefix="corp",
        schema_config=config,
        salt=SALT,
        state_dir=state,
    )


def test_postgres_source_to_duckdb(pg_source: dict, warehouse: Path, state: Path):
    assert [t.status for t in api.test_source("postgres", pg_source)] == ["PASSED"]
    catalog = api.capture_catalog("postgres", pg_source)
    assert list(catalog["hr"]["people"].columns) == [
        "id",
        "name",
        "email",
        "salary",
        "hired",
        "active",
    ]
    assert catalog["hr"]["people"].columns["salary"].type == "numeric(10,2)"
    config, _ = api.merge_schema_config(None, catalog, schema_change_handling="ALLOW_ALL")
    config["schemas"]["hr"]["tables"]["people"]["columns"]["email"]["hashed"] = True
    req = _pg_request(pg_source, config, warehouse, state)

    assert counts(sync(req)) == {"people": (500, 0), "events": (2, 0)}
    assert query(
        warehouse, "SELECT * EXCLUDE (_fivetran_synced) FROM corp_hr.people WHERE id = 3"
    ) == [
        (3, "person 3", sha("p3@corp.example"), Decimal("1001.50"), date(2020, 1, 4), False, False)
    ]

    dsn = f"host={pg_source['host']} port={pg_source['port']} user=postgres dbname=hr_source"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE hr.people SET name = 'renamed' WHERE id IN (1, 2)")
        conn.execute("DELETE FROM hr.people WHERE id = 5")
        conn.execute("INSERT INTO hr.people (id, name) VALUES (501, 'new')")
    report = sync(req)
    assert counts(report) == {"people": (3, 1), "events": (0, 0)}
    assert query(
        warehouse,
        "SELECT id, name, _fivetran_deleted FROM corp_hr.people "
        "WHERE id IN (1, 5, 501) ORDER BY id",
    ) == [(1, "renamed", False), (5, "person 5", True), (501, "new", False)]


def test_postgres_source_failures_name_the_reason(postgres_server: PostgresServer):
    bad = postgres_server.config("no_such_db") | {"password": "s3cret-pw"}
    tests = api.test_source("postgres", bad)
    assert tests[0].status == "FAILED"
    assert "no_such_db" in tests[0].message and "s3cret-pw" not in tests[0].message
    with pytest.raises(DataPlaneError, match=r"config\.host"):
        api.capture_catalog("postgres", {"port": 5432})
    with pytest.raises(DataPlaneError, match="unknown source service"):
        api.test_source("oracle", {})


def test_sqlite_to_postgres_warehouse(postgres_server: PostgresServer, sales: Path, state: Path):
    postgres_server.create_database("warehouse")
    destination = postgres_server.config("warehouse")
    assert [t.status for t in api.test_destination("postgres_warehouse", destination)] == ["PASSED"]
    config = demo_config({"database": str(sales)})
    req = SyncRequest(
        connection_id="conn_sales",
        source_service="sqlite",
        source_config={"database": str(sales)},
        destination_service="postgres_warehouse",
        destination_config=destination,
        schema_prefix="sales",
        schema_config=config,
        salt=SALT,
        state_dir=state,
    )
    assert counts(sync(req))["employees"] == (200, 0)
    mutate.raise_salaries(sales, [1])
    mutate.delete_rows(sales, "employees", [2])
    assert counts(sync(req))["employees"] == (1, 1)

    with psycopg.connect(postgres_server.dsn("warehouse")) as conn:
        rows = conn.execute(
            "SELECT id, email, salary, is_active, _fivetran_deleted "
            "FROM sales_main.employees ORDER BY id"
        ).fetchall()
        audit = conn.execute("SELECT count(*) FROM sales_main.audit_log").fetchone()
    source = source_rows(sales, "SELECT id, email, salary, is_active FROM employees ORDER BY id")
    live = [r for r in rows if not r[4]]
    assert [r[:4] for r in live] == [(i, sha(e), Decimal(str(s)), bool(a)) for i, e, s, a in source]
    assert [r[0] for r in rows if r[4]] == [2]
    assert audit == (len(set(source_rows(sales, "SELECT * FROM audit_log"))),)


def test_dbt_on_postgres_warehouse(postgres_server: PostgresServer, tmp_path: Path):
    from fivetran_assets.emulator.dataplane.contract import DbtRunRequest

    postgres_server.create_database("dbt_wh")
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: tiny\nversion: '1.0'\nconfig-version: 2\nprofile: fivetran_assets\n"
        "models:\n  tiny:\n    +materialized: table\n"
    )
    (project / "models" / "numbers.sql").write_text("select 1 as n union all select 2\n")
    report = api.run_dbt(
        DbtRunRequest(
            project_config={"git_remote_url": str(project), "default_schema": "analytics"},
            destination_service="postgres_warehouse",
            destination_config=postgres_server.config("dbt_wh") | {"password": "pw-secret"},
            steps=({"name": "run", "command": "dbt run"},),
            work_dir=tmp_path / "work",
        ),
        cancelled=lambda: False,
    )
    assert report.succeeded, report.message
    assert report.output_model_names == ("numbers",)
    assert "pw-secret" not in (tmp_path / "work" / "profiles.yml").read_text()
    with psycopg.connect(postgres_server.dsn("dbt_wh")) as conn:
        assert conn.execute("SELECT sum(n) FROM analytics.numbers").fetchone() == (3,)
