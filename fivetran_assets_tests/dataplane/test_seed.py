"""The demo's department databases: names, structure, determinism, the CLI."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from fivetran_assets.emulator.cli import emulator
from fivetran_assets.emulator.dataplane.seed import department_names, seed_demo

from .helpers import source_rows

TABLES = ["employees", "payroll", "expenses", "tickets", "audit_log"]


def _dump(path: Path) -> dict[str, list[tuple]]:
    return {t: source_rows(path, f"SELECT * FROM {t} ORDER BY rowid") for t in TABLES}


def test_department_names():
    assert department_names(4) == ["sales", "marketing", "engineering", "finance"]
    assert department_names(10)[7:] == ["research", "dept_09", "dept_10"]


def test_seed_is_deterministic_and_seed_dependent(tmp_path: Path):
    a = seed_demo(tmp_path / "a", departments=2, rows=50, seed=1)
    b = seed_demo(tmp_path / "b", departments=2, rows=50, seed=1)
    c = seed_demo(tmp_path / "c", departments=2, rows=50, seed=2)
    assert [p.name for p in a] == ["sales.sqlite", "marketing.sqlite"]
    assert _dump(a[0]) == _dump(b[0]) and _dump(a[1]) == _dump(b[1])
    assert _dump(a[0]) != _dump(c[0])
    assert _dump(a[0])["employees"] != _dump(a[1])["employees"]
    counts = {t: len(rows) for t, rows in _dump(a[0]).items()}
    assert counts == {
        "employees": 50,
        "payroll": 100,
        "expenses": 150,
        "tickets": 50,
        "audit_log": 100,
    }


def test_seed_structure(tmp_path: Path):
    (db,) = seed_demo(tmp_path, departments=1, rows=5)
    columns = source_rows(db, "SELECT name, type, pk FROM pragma_table_info('employees')")
    assert columns == [
        ("id", "INTEGER", 1),
        ("first_name", "TEXT", 0),
        ("last_name", "TEXT", 0),
        ("email", "TEXT", 0),
        ("ssn", "TEXT", 0),
        ("hire_date", "DATE", 0),
        ("salary", "NUMERIC(10,2)", 0),
        ("is_active", "BOOLEAN", 0),
        ("title", "TEXT", 0),
    ]
    assert source_rows(db, "SELECT count(*) FROM pragma_table_info('audit_log') WHERE pk > 0") == [
        (0,)
    ]


def test_seed_demo_cli(tmp_path: Path):
    result = CliRunner().invoke(
        emulator, ["seed-demo", "--dir", str(tmp_path), "--departments", "3", "--rows", "7"]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "engineering.sqlite",
        "marketing.sqlite",
        "sales.sqlite",
    ]
    assert source_rows(tmp_path / "sales.sqlite", "SELECT count(*) FROM employees") == [(7,)]


def test_mutate_demo_cli(tmp_path: Path):
    from fivetran_assets.emulator.dataplane.seed_cli import mutate_demo

    seed_demo(tmp_path, departments=1, rows=20)
    db = tmp_path / "sales.sqlite"
    salary = source_rows(db, "SELECT salary FROM employees WHERE id = 1")[0][0]
    result = CliRunner().invoke(
        mutate_demo, ["--dir", str(tmp_path), "--add-column", "office", "--add-table", "projects"]
    )
    assert result.exit_code == 0, result.output
    assert source_rows(db, "SELECT count(*) FROM employees") == [(25,)]
    assert source_rows(db, "SELECT salary FROM employees WHERE id = 1") == [(salary + 1000,)]
    assert source_rows(db, "SELECT count(*) FROM expenses WHERE id IN (6, 7)") == [(0,)]
    assert source_rows(db, "SELECT count(*) FROM projects") == [(10,)]
    assert "office" in [r[1] for r in source_rows(db, "PRAGMA table_info(employees)")]
