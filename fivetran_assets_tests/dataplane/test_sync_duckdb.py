"""Syncs from a SQLite department into DuckDB, asserted row by row against the source."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from fivetran_assets.emulator.dataplane import mutate
from fivetran_assets.emulator.dataplane.naming import row_id

from .helpers import counts, demo_config, execute, query, request, sha, source_rows, sync

EMPLOYEES = (
    "SELECT id, first_name, last_name, email, hire_date, salary, is_active, title "
    "FROM {} ORDER BY id"
)


def _expected_employees(db: Path) -> list[tuple]:
    return [
        (
            i,
            first,
            last,
            sha(email),
            date.fromisoformat(hired),
            Decimal(str(salary)),
            bool(active),
            title,
        )
        for i, first, last, email, hired, salary, active, title in source_rows(
            db, EMPLOYEES.format("employees")
        )
    ]


def test_first_sync_copies_enabled_tables_and_columns(sales: Path, warehouse: Path, state: Path):
    report = sync(request(sales, warehouse, state, demo_config({"database": str(sales)})))

    assert counts(report) == {
        "employees": (200, 0),
        "expenses": (600, 0),
        "tickets": (200, 0),
        "audit_log": (400, 0),
    }
    assert {t.destination_schema for t in report.tables} == {"sales_main"}
    tables = query(
        warehouse,
        "SELECT table_schema, table_name FROM information_schema.tables ORDER BY 2",
    )
    assert tables == [
        ("sales_main", "audit_log"),
        ("sales_main", "employees"),
        ("sales_main", "expenses"),
        ("sales_main", "tickets"),
    ]  # payroll is disabled
    columns = [
        r[0]
        for r in query(
            warehouse,
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'employees' "
            "ORDER BY ordinal_position",
        )
    ]
    assert columns == [
        "id",
        "first_name",
        "last_name",
        "email",
        "hire_date",
        "salary",
        "is_active",
        "title",
        "_fivetran_deleted",
        "_fivetran_synced",
    ]  # ssn is blocked
    landed = query(warehouse, EMPLOYEES.format("sales_main.employees"))
    assert landed == _expected_employees(sales)
    emails = {r[0] for r in source_rows(sales, "SELECT email FROM employees")}
    assert not emails & {r[3] for r in landed}
    assert (
        query(warehouse, "SELECT count(*) FROM sales_main.employees WHERE _fivetran_deleted")[0][0]
        == 0
    )


def test_table_without_primary_key_gets_fivetran_id(sales: Path, warehouse: Path, state: Path):
    sync(request(sales, warehouse, state, demo_config({"database": str(sales)})))
    landed = query(
        warehouse,
        "SELECT strftime(\"at\", '%Y-%m-%d %H:%M:%S'), actor, action, _fivetran_id "
        "FROM sales_main.audit_log",
    )
    source = source_rows(sales, "SELECT at, actor, action FROM audit_log")
    assert sorted(r[:3] for r in landed) == sorted(set(source))
    assert all(r[3] == row_id(r[:3]) for r in landed)


def test_table_without_primary_key_changes_by_fivetran_id(
    sales: Path, warehouse: Path, state: Path
):
    req = request(sales, warehouse, state, demo_config({"database": str(sales)}))
    sync(req)
    table = "sales_main.audit_log"
    before = dict(query(warehouse, f"SELECT _fivetran_id, _fivetran_synced FROM {table}"))
    at, actor, action = source_rows(sales, "SELECT at, actor, action FROM audit_log LIMIT 1")[0]
    execute(sales, "UPDATE audit_log SET action = 'edited' WHERE rowid = 1")
    execute(sales, "INSERT INTO audit_log SELECT * FROM audit_log WHERE rowid = 2")  # a duplicate

    # The changed row is a new row; its old values are soft-deleted; the duplicate lands once.
    assert counts(sync(req))["audit_log"] == (1, 1)
    landed = query(
        warehouse, f"SELECT _fivetran_id, _fivetran_deleted, _fivetran_synced FROM {table}"
    )
    assert len(landed) == len(before) + 1
    old, new = row_id((at, actor, action)), row_id((at, actor, "edited"))
    for fivetran_id, deleted, synced in landed:
        assert deleted == (fivetran_id == old)
        if fivetran_id in (old, new):
            assert synced > max(before.values())
        else:
            assert synced == before[fivetran_id]


def test_incremental_sync_upserts_changes_and_flags_deletes(
    sales: Path, warehouse: Path, state: Path
):
    req = request(sales, warehouse, state, demo_config({"database": str(sales)}))
    sync(req)
    before = dict(query(warehouse, "SELECT id, _fivetran_synced FROM sales_main.employees"))

    new_ids = mutate.insert_employees(sales, 3, seed=1)
    mutate.raise_salaries(sales, [1, 2, 3])
    mutate.delete_rows(sales, "employees", [10, 11])
    execute(sales, "UPDATE employees SET title = title WHERE id = 4")  # touched, not changed
    report = sync(req)

    assert counts(report)["employees"] == (6, 2)
    assert counts(report)["expenses"] == (0, 0)
    rows = query(
        warehouse,
        "SELECT id, salary, _fivetran_deleted, _fivetran_synced FROM sales_main.employees "
        "ORDER BY id",
    )
    assert len(rows) == 203
    deleted = {r[0] for r in rows if r[2]}
    assert deleted == {10, 11}
    live = [r for r in rows if not r[2]]
    assert [(r[0], r[1]) for r in live] == [
        (i, Decimal(str(s)))
        for i, s in source_rows(sales, "SELECT id, salary FROM employees ORDER BY id")
    ]
    changed = {1, 2, 3, 10, 11, *new_ids}
    for employee_id, _, _, synced in rows:
        if employee_id in changed:
            assert synced > max(before.values())
        else:
            assert synced == before[employee_id], employee_id
    assert query(
        warehouse, EMPLOYEES.format("sales_main.employees WHERE NOT _fivetran_deleted")
    ) == (_expected_employees(sales))


def test_deleted_row_coming_back_is_undeleted(sales: Path, warehouse: Path, state: Path):
    req = request(sales, warehouse, state, demo_config({"database": str(sales)}))
    sync(req)
    row = source_rows(sales, "SELECT * FROM expenses WHERE id = 5")[0]
    mutate.delete_rows(sales, "expenses", [5])
    assert counts(sync(req))["expenses"] == (0, 1)
    values = ", ".join("NULL" if v is None else repr(v) for v in row)
    execute(sales, f"INSERT INTO expenses VALUES ({values})")
    assert counts(sync(req))["expenses"] == (1, 0)
    assert query(warehouse, "SELECT _fivetran_deleted FROM sales_main.expenses WHERE id = 5") == [
        (False,)
    ]


def test_new_column_is_added_and_backfilled(sales: Path, warehouse: Path, state: Path):
    req = request(sales, warehouse, state, demo_config({"database": str(sales)}))
    sync(req)
    mutate.add_column(sales, "employees", "office", "TEXT", default="HQ")
    mutate.raise_salaries(sales, [7])
    report = sync(req)

    assert counts(report)["employees"][0] == 200  # every row changed: office is now set
    assert report.extra["schema_changes"] == ["column main.employees.office added (enabled=True)"]
    assert query(warehouse, "SELECT DISTINCT office FROM sales_main.employees") == [("HQ",)]


def test_column_blocked_later_stops_updating(sales: Path, warehouse: Path, state: Path):
    config = demo_config({"database": str(sales)})
    sync(request(sales, warehouse, state, config))
    config["schemas"]["main"]["tables"]["employees"]["columns"]["title"]["enabled"] = False
    execute(sales, "UPDATE employees SET title = 'Chief' WHERE id = 1")
    mutate.raise_salaries(sales, [1])
    sync(request(sales, warehouse, state, config))

    title, salary = query(warehouse, "SELECT title, salary FROM sales_main.employees WHERE id = 1")[
        0
    ]
    assert title != "Chief"
    assert salary == Decimal(
        str(source_rows(sales, "SELECT salary FROM employees WHERE id = 1")[0][0])
    )


def test_unchanged_source_changes_nothing(sales: Path, warehouse: Path, state: Path):
    req = request(sales, warehouse, state, demo_config({"database": str(sales)}))
    sync(req)
    snapshot = query(warehouse, "SELECT * FROM sales_main.audit_log ORDER BY _fivetran_id")
    report = sync(req)
    assert set(counts(report).values()) == {(0, 0)}
    assert query(warehouse, "SELECT * FROM sales_main.audit_log ORDER BY _fivetran_id") == snapshot


def test_every_type_lands_as_declared(sales: Path, warehouse: Path, state: Path):
    sync(request(sales, warehouse, state, demo_config({"database": str(sales)})))
    landed = query(
        warehouse,
        "SELECT id, employee_id, category, amount, spent_on, approved, note "
        "FROM sales_main.expenses ORDER BY id",
    )
    source = source_rows(sales, "SELECT * FROM expenses ORDER BY id")
    assert landed == [
        (i, e, c, Decimal(str(a)), date.fromisoformat(d), bool(ok), n)
        for i, e, c, a, d, ok, n in source
    ]
    tickets = query(
        warehouse,
        "SELECT id, strftime(opened_at, '%Y-%m-%d %H:%M:%S'), "
        "strftime(closed_at, '%Y-%m-%d %H:%M:%S') FROM sales_main.tickets ORDER BY id",
    )
    assert tickets == source_rows(sales, "SELECT id, opened_at, closed_at FROM tickets ORDER BY id")
    types = dict(
        query(
            warehouse,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'expenses'",
        )
    )
    assert types["amount"] == "DECIMAL(12,2)" and types["spent_on"] == "DATE"
    assert types["approved"] == "BOOLEAN" and types["_fivetran_synced"] == "TIMESTAMP"
