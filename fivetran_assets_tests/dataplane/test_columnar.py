"""Columnar reads: what lands is what a row-by-row read lands, batches are sized by bytes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from fivetran_assets.emulator.dataplane import api
from fivetran_assets.emulator.dataplane.sources import sqlite as sqlite_source
from fivetran_assets.emulator.dataplane.sources.base import TableSpec
from fivetran_assets.emulator.dataplane.sources.sqlite import SqliteSource
from fivetran_assets_tests.dataplane.helpers import counts, query, request, sync

ROWS = 3000  # more than one ADBC batch at the batch size the tests force


def _mixed_source(path: Path) -> None:
    """Tables a clean columnar read handles (integers in NUMERIC, NULLs first) and one it
    cannot (an untyped column holding integers, reals and text), plus one without a key."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE prices (id INTEGER PRIMARY KEY, price NUMERIC(10,2), late TEXT, "
            "on_sale BOOLEAN, day DATE, code, email TEXT)"
        )
        db.executemany(
            "INSERT INTO prices VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    i,
                    i if i % 3 else i + 0.25,  # NUMERIC affinity stores 7.0 as the integer 7
                    None if i < 2000 else f"late {i}",  # all NULL in the first batches
                    i % 2,
                    "2024-02-29",
                    i if i % 5 else f"c{i}",  # integers and text in an untyped column
                    f"p{i}@corp.example",
                )
                for i in range(1, ROWS + 1)
            ],
        )
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, note)")  # no declared type
        db.executemany(
            "INSERT INTO notes VALUES (?, ?)",
            [(i, (f"n{i}", i, i + 0.5, None)[i % 4]) for i in range(1, ROWS + 1)],
        )
        db.execute("CREATE TABLE stock (shop TEXT, item INTEGER, units, PRIMARY KEY (shop, item))")
        db.executemany(
            "INSERT INTO stock VALUES (?, ?, ?)",
            [(f"s{i % 3}", i, i % 9) for i in range(1, ROWS + 1)],
        )
        db.execute("CREATE TABLE readings (at TEXT, value REAL)")  # no primary key
        db.executemany(
            "INSERT INTO readings VALUES (?, ?)", [(f"t{i % 700}", i % 7) for i in range(ROWS)]
        )


def _config(db: Path) -> dict:
    config, _ = api.merge_schema_config(
        None,
        api.capture_catalog("sqlite", {"database": str(db)}),
        schema_change_handling="ALLOW_ALL",
    )
    config["schemas"]["main"]["tables"]["prices"]["columns"]["email"]["hashed"] = True
    return config


def _landed(warehouse: Path, table: str, order: str) -> list[tuple]:
    return query(
        warehouse, f"SELECT * EXCLUDE (_fivetran_synced) FROM mixed_main.{table} ORDER BY {order}"
    )


def test_columnar_and_row_reads_land_the_same_rows(
    tmp_path: Path, state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_source, "BATCH_BYTES", 20_000)  # several batches per table
    db = tmp_path / "mixed.sqlite"
    _mixed_source(db)
    config = _config(db)
    columnar, by_rows = tmp_path / "columnar.duckdb", tmp_path / "rows.duckdb"
    first = sync(request(db, columnar, state / "c", config))
    sync(request(db, by_rows, state / "r", config, read_by_rows=True))
    assert counts(first) == {
        "prices": (ROWS, 0),
        "notes": (ROWS, 0),
        "stock": (ROWS, 0),
        "readings": (700, 0),  # distinct rows
    }
    tables = (("prices", "id"), ("notes", "id"), ("stock", "item"), ("readings", "_fivetran_id"))
    for table, order in tables:
        assert _landed(columnar, table, order) == _landed(by_rows, table, order), table
    notes = "SELECT note FROM mixed_main.notes WHERE id IN (1, 2, 3) ORDER BY id"
    assert query(columnar, notes) == [("1",), ("2.5",), (None,)]

    # Changes read columnar (keys joined back, composite keys from the log) land as by rows.
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE prices SET price = 1.5, late = 'now' WHERE id = 10")
        conn.execute("DELETE FROM notes WHERE id = 11")
        conn.execute("DELETE FROM stock WHERE item IN (4, 5)")
        conn.execute("UPDATE stock SET units = 'many' WHERE item = 6")  # text among integers
    expected = {"prices": (1, 0), "notes": (0, 1), "stock": (1, 2), "readings": (0, 0)}
    assert counts(sync(request(db, columnar, state / "c", config))) == expected
    assert counts(sync(request(db, by_rows, state / "r", config, read_by_rows=True))) == expected
    for table, order in tables:
        assert _landed(columnar, table, order) == _landed(by_rows, table, order), table


def test_batches_are_sized_by_bytes_not_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_source, "BATCH_BYTES", 64_000)
    db = tmp_path / "widths.sqlite"
    with sqlite3.connect(db) as conn:
        wide = ", ".join(f"c{k} INTEGER" for k in range(50))
        conn.execute(f"CREATE TABLE wide (id INTEGER PRIMARY KEY, {wide})")
        conn.execute("CREATE TABLE narrow (id INTEGER PRIMARY KEY, c0 INTEGER)")
        values = ", ".join(f"i + {k}" for k in range(50))
        series = "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 5000)"
        conn.execute(f"{series} INSERT INTO wide SELECT i, {values} FROM s")
        conn.execute(f"{series} INSERT INTO narrow SELECT i, i FROM s")
    source = SqliteSource({"database": str(db)})
    sizes = {}
    with source.session() as session:
        for table, columns in (("wide", 51), ("narrow", 2)):
            names = ("id", *(f"c{k}" for k in range(columns - 1)))
            batches = list(session.read(TableSpec("main", table, names, ("id",)), None).batches)
            assert sum(b.num_rows for b in batches) == 5000
            assert all(b.nbytes <= 64_000 * 1.1 for b in batches[:-1])
            sizes[table] = batches[0].num_rows
    assert sizes["narrow"] >= 20 * sizes["wide"]
