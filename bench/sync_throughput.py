"""Benchmark: sync throughput of the local Fivetran's data plane (SQLite -> DuckDB).

Measures, in one process run, on one 10-column SQLite table:
- a bare copy loop (read rows with sqlite3, hand them to DuckDB as Arrow batches, nothing else),
- the data plane's first (historical) sync of the same table, and its ratio to the bare loop,
- an incremental sync after 1% of the rows changed, and its ratio to the full sync,
- the process's peak RSS.

    python bench/sync_throughput.py --size tiny|full|memory [--json PATH]

`full` is the 1,000,000-row target (>= 150,000 rows/s, >= 0.7x bare, incremental < 0.2x full);
`memory` syncs 10,000,000 rows (peak RSS target < 500 MB) and skips the bare loop and the
incremental step. Source rows are generated inside SQLite, so generation costs no Python memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa

from fivetran_assets.emulator.dataplane import api
from fivetran_assets.emulator.dataplane.contract import SyncRequest

SIZES = {"tiny": 20_000, "full": 1_000_000, "memory": 10_000_000}
BATCH = 50_000
DDL = """CREATE TABLE items (id INTEGER PRIMARY KEY, quantity INTEGER, weight REAL, name TEXT,
    made_on DATE, price NUMERIC(10,2), in_stock BOOLEAN, updated_at TIMESTAMP, code TEXT,
    bucket INTEGER)"""
GENERATE = """
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
INSERT INTO items SELECT i, i * 7 % 1000, (i % 997) * 1.5, 'item ' || i,
    date('2020-01-01', '+' || (i % 2000) || ' days'), round((i % 100000) / 7.0, 2), i % 2,
    datetime('2024-01-01', '+' || (i % 86400) || ' seconds'), 'code-' || (i * 2654435761 % 1000003),
    i % 13
FROM seq
"""
ARROW_TYPES = [
    pa.int64(), pa.int64(), pa.float64(), pa.string(), pa.string(),
    pa.float64(), pa.int64(), pa.string(), pa.string(), pa.int64(),
]  # fmt: skip


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_source(path: Path, rows: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute(DDL)
    conn.execute(GENERATE, (rows,))
    conn.commit()
    conn.close()


def bare_copy(source: Path, target: Path) -> float:
    """Read every row with sqlite3, hand Arrow batches to DuckDB; seconds taken."""
    start = time.perf_counter()
    src = sqlite3.connect(source)
    dst = duckdb.connect(str(target))
    cur = src.execute("SELECT * FROM items")
    names = [d[0] for d in cur.description]
    created = False
    while rows := cur.fetchmany(BATCH):
        columns = zip(*rows, strict=True)
        arrays = [pa.array(c, type=t) for c, t in zip(columns, ARROW_TYPES, strict=True)]
        dst.register("batch", pa.RecordBatch.from_arrays(arrays, names=names))
        if created:
            dst.execute("INSERT INTO items SELECT * FROM batch")
        else:
            dst.execute("CREATE TABLE items AS SELECT * FROM batch")
            created = True
        dst.unregister("batch")
    dst.close()
    src.close()
    return time.perf_counter() - start


def sync_request(source: Path, warehouse: Path, state: Path) -> SyncRequest:
    config, _ = api.merge_schema_config(
        None,
        api.capture_catalog("sqlite", {"database": str(source)}),
        schema_change_handling="ALLOW_ALL",
    )
    return SyncRequest(
        connection_id="bench",
        source_service="sqlite",
        source_config={"database": str(source)},
        destination_service="duckdb",
        destination_config={"path": str(warehouse)},
        schema_prefix="bench",
        schema_config=config,
        salt="bench",
        state_dir=state,
    )


def timed_sync(request: SyncRequest) -> tuple[float, int]:
    start = time.perf_counter()
    report = api.run_sync(request, cancelled=lambda: False)
    return time.perf_counter() - start, report.tables[0].rows_upserted


def change_one_percent(source: Path, rows: int) -> int:
    conn = sqlite3.connect(source)
    step = 100
    conn.execute("UPDATE items SET quantity = quantity + 1 WHERE id % ? = 0", (step,))
    conn.commit()
    conn.close()
    return rows // step


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    parser.add_argument("--rows", type=int, help="override the row count of --size")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    rows = args.rows or SIZES[args.size]
    figures: dict[str, float | int | str] = {"size": args.size, "rows": rows}
    with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
        root = Path(tmp)
        source = root / "source.sqlite"
        t = time.perf_counter()
        make_source(source, rows)
        print(f"generated {rows:,} rows in {time.perf_counter() - t:.1f}s")
        if args.size != "memory":
            bare = bare_copy(source, root / "bare.duckdb")
            figures |= {"bare_seconds": round(bare, 3), "bare_rows_per_s": round(rows / bare)}
            print(f"bare copy loop:   {bare:7.2f}s  {rows / bare:12,.0f} rows/s")
        request = sync_request(source, root / "warehouse.duckdb", root / "state")
        full, copied = timed_sync(request)
        assert copied == rows, f"full sync copied {copied} rows, expected {rows}"
        figures |= {"full_seconds": round(full, 3), "full_rows_per_s": round(rows / full)}
        print(f"full sync:        {full:7.2f}s  {rows / full:12,.0f} rows/s")
        if args.size != "memory":
            ratio = bare / full
            figures["full_vs_bare"] = round(ratio, 3)
            print(f"full sync / bare copy speed: {ratio:.2f}x (target >= 0.70x)")
            changed = change_one_percent(source, rows)
            incremental, upserted = timed_sync(request)
            assert upserted == changed, f"incremental upserted {upserted}, expected {changed}"
            figures |= {
                "incremental_seconds": round(incremental, 3),
                "incremental_vs_full": round(incremental / full, 3),
            }
            print(
                f"incremental sync ({changed:,} changed rows): {incremental:.2f}s = "
                f"{incremental / full:.3f} of the full sync (target < 0.2)"
            )
    figures["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
