"""Change a department database the way real work would, to show incremental syncs.

Used by tests and the demo: insert, update and delete rows, add a column, add a table. Every
function takes the path of a department SQLite file and returns what it did, so a caller can
assert the destination row by row.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fivetran_assets.emulator.dataplane.seed import employee_row
from fivetran_assets.emulator.dataplane.types import quote


@contextmanager
def _open(path: Path) -> Iterator[sqlite3.Connection]:
    if not Path(path).is_file():
        raise FileNotFoundError(f"department database not found: {path}")
    conn = sqlite3.connect(path)
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def insert_employees(path: Path, count: int, *, seed: int = 0) -> list[int]:
    """Append `count` employees; returns their ids."""
    rng = random.Random(f"insert:{seed}")
    department = Path(path).stem
    with _open(path) as conn:
        start = conn.execute("SELECT coalesce(max(id), 0) FROM employees").fetchone()[0] + 1
        rows = [employee_row(rng, i, department) for i in range(start, start + count)]
        conn.executemany("INSERT INTO employees VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return [r[0] for r in rows]


def raise_salaries(path: Path, ids: list[int], *, amount: float = 1000.0) -> None:
    """Update rows: add `amount` to the salary of the given employees."""
    with _open(path) as conn:
        conn.executemany(
            "UPDATE employees SET salary = round(salary + ?, 2) WHERE id = ?",
            [(amount, i) for i in ids],
        )


def delete_rows(path: Path, table: str, ids: list[int]) -> None:
    """Delete rows of a table with an `id` primary key."""
    with _open(path) as conn:
        conn.executemany(f"DELETE FROM {quote(table)} WHERE id = ?", [(i,) for i in ids])


def add_column(
    path: Path, table: str, column: str, sql_type: str, *, default: object = None
) -> None:
    """Add a column (existing rows get `default`)."""
    with _open(path) as conn:
        conn.execute(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column)} {sql_type}")
        if default is not None:
            conn.execute(f"UPDATE {quote(table)} SET {quote(column)} = ?", (default,))


def add_table(path: Path, table: str = "projects", *, rows: int = 10) -> None:
    """Add a table with a primary key and `rows` rows."""
    with _open(path) as conn:
        conn.execute(
            f"CREATE TABLE {quote(table)} (id INTEGER PRIMARY KEY, name TEXT, budget NUMERIC(12,2))"
        )
        conn.executemany(
            f"INSERT INTO {quote(table)} VALUES (?, ?, ?)",
            [(i, f"project {i}", 1000.0 * i) for i in range(1, rows + 1)],
        )
