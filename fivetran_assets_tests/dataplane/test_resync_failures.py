"""Resyncs, a source failing mid-sync, cancellation, and concurrent syncs into one file."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from fivetran_assets.emulator.dataplane import api, mutate
from fivetran_assets.emulator.dataplane.contract import DataPlaneError
from fivetran_assets.emulator.dataplane.seed import create_department
from fivetran_assets.emulator.dataplane.sources import sqlite as sqlite_source

from .helpers import counts, demo_config, execute, query, request, source_rows, sync


def test_table_resync_rereads_and_flags_rows_not_seen(sales: Path, warehouse: Path, state: Path):
    config = demo_config({"database": str(sales)})
    sync(request(sales, warehouse, state, config))
    # Changes the change log never saw (triggers bypassed): only a resync can find them.
    execute(
        sales,
        "DROP TRIGGER _fivetran_ct_tickets_d",
        "DELETE FROM tickets WHERE id IN (1, 2)",
        "DROP TRIGGER _fivetran_ct_tickets_u",
        "UPDATE tickets SET status = 'reopened' WHERE id = 3",
    )
    report = sync(request(sales, warehouse, state, config, resync_tables=(("main", "tickets"),)))

    assert counts(report)["tickets"] == (1, 2)
    assert counts(report)["employees"] == (0, 0)
    assert query(warehouse, "SELECT id, status FROM sales_main.tickets WHERE id <= 3 ORDER BY id")[
        2
    ] == (3, "reopened")
    assert query(
        warehouse, "SELECT id FROM sales_main.tickets WHERE _fivetran_deleted ORDER BY id"
    ) == [(1,), (2,)]
    # The resync reinstalled change capture: later deletes are seen again.
    mutate.delete_rows(sales, "tickets", [4])
    assert counts(sync(request(sales, warehouse, state, config)))["tickets"] == (0, 1)


def test_full_resync_rereads_every_table(sales: Path, warehouse: Path, state: Path):
    config = demo_config({"database": str(sales)})
    sync(request(sales, warehouse, state, config))
    execute(sales, "DELETE FROM audit_log WHERE rowid <= 10")
    report = sync(request(sales, warehouse, state, config, full_resync=True))
    assert counts(report) == {
        "employees": (0, 0),
        "expenses": (0, 0),
        "tickets": (0, 0),
        "audit_log": (0, 10),
    }


def test_source_failure_mid_table_leaves_destination_consistent(
    sales: Path, warehouse: Path, state: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(sqlite_source, "BATCH_BYTES", 4_000)  # several batches per table
    config = demo_config({"database": str(sales)})
    sync(request(sales, warehouse, state, config))
    before = query(warehouse, "SELECT * FROM sales_main.employees ORDER BY id")

    mutate.raise_salaries(sales, list(range(1, 200)))
    execute(sales, "UPDATE employees SET hire_date = 'not a date' WHERE id = 150")
    with pytest.raises(DataPlaneError, match=r"main\.employees.*not a date"):
        sync(request(sales, warehouse, state, config))
    assert query(warehouse, "SELECT * FROM sales_main.employees ORDER BY id") == before

    execute(sales, "UPDATE employees SET hire_date = '2024-02-29' WHERE id = 150")
    report = sync(request(sales, warehouse, state, config))
    assert counts(report)["employees"] == (199, 0)
    landed = query(
        warehouse, "SELECT id, CAST(salary AS DOUBLE) FROM sales_main.employees ORDER BY id"
    )
    assert landed == source_rows(sales, "SELECT id, salary FROM employees ORDER BY id")


def test_missing_source_fails_with_reason(sales: Path, warehouse: Path, state: Path):
    config = demo_config({"database": str(sales)})
    sales.unlink()
    with pytest.raises(DataPlaneError, match="SQLite file not found"):
        sync(request(sales, warehouse, state, config))
    tests = api.test_source("sqlite", {"database": str(sales)})
    assert tests[0].status == "FAILED" and str(sales) in tests[0].message


def test_cancel_between_batches_rolls_the_table_back(
    sales: Path, warehouse: Path, state: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(sqlite_source, "BATCH_BYTES", 2_000)
    checks = iter(range(1000))
    with pytest.raises(DataPlaneError, match="canceled"):
        sync(
            request(sales, warehouse, state, demo_config({"database": str(sales)})),
            cancelled=lambda: next(checks) >= 5,
        )
    assert query(warehouse, "SELECT count(*) FROM information_schema.tables") == [(0,)]
    report = sync(request(sales, warehouse, state, demo_config({"database": str(sales)})))
    assert counts(report)["employees"] == (200, 0)


def test_concurrent_syncs_into_one_duckdb_file(tmp_path: Path, warehouse: Path, state: Path):
    departments = ["sales", "marketing", "engineering", "finance"]
    dbs = []
    for name in departments:
        create_department(tmp_path / f"{name}.sqlite", name, rows=150, seed=3)
        dbs.append(tmp_path / f"{name}.sqlite")
    errors: list[BaseException] = []

    def run(db: Path) -> None:
        try:
            config = demo_config({"database": str(db)})
            sync(request(db, warehouse, state, config))
            mutate.delete_rows(db, "employees", [1])
            sync(request(db, warehouse, state, config))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(db,)) for db in dbs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for name, db in zip(departments, dbs, strict=True):
        assert query(
            warehouse,
            f"SELECT count(*), count(*) FILTER (_fivetran_deleted) FROM {name}_main.employees",
        ) == [(150, 1)]
        expected = source_rows(db, "SELECT id, title FROM tickets ORDER BY id")
        assert (
            query(warehouse, f"SELECT id, title FROM {name}_main.tickets ORDER BY id") == expected
        )
