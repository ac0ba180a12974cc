"""Benchmark: sync throughput of the local Fivetran's data plane (SQLite -> DuckDB).

Measures, in one process run, on one 10-column SQLite table:
- the data plane's first (historical) sync, and its speed beside a bare copy loop (read rows
  with sqlite3, hand them to DuckDB as Arrow batches, nothing else) run on the same table,
- an incremental sync after 1% of the rows changed, and its ratio to the full sync,
- the peak RSS of a sync of a larger table, in a child process so nothing else counts.

    python -m bench.sync_throughput --size tiny|full|memory [--rows N] [--json PATH]

`full` is the 1,000,000-row target (>= 150,000 rows/s, >= 0.7x bare, incremental < 0.2x full)
and syncs 10,000,000 rows in the child (peak RSS target < 500 MB); `tiny` runs the same steps
small. `memory` is that child: one sync, nothing else. Source rows are generated inside
SQLite, so generation costs no Python memory.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa

from bench.harness import (
    Figure,
    at_least,
    at_most,
    finish,
    parser,
    run_measured,
    self_peak_rss_mb,
)
from bench.registry import ROOT
from fivetran_assets.emulator.dataplane import api
from fivetran_assets.emulator.dataplane.contract import SyncRequest

SIZES = {"tiny": 20_000, "full": 1_000_000, "memory": 10_000_000}
MEMORY_ROWS = {"tiny": 50_000, "full": 10_000_000}
ROWS_PER_S_TARGET, VS_BARE_TARGET, INCREMENTAL_TARGET, RSS_TARGET_MB = 150_000, 0.7, 0.2, 500
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


def memory_peak(rows: int) -> float:
    """Peak RSS in MB of a child process doing only a sync of `rows` rows."""
    command = [sys.executable, "-m", "bench.sync_throughput", "--size", "memory"]
    measured = run_measured([*command, "--rows", str(rows)], timeout=3600, cwd=ROOT)
    if measured.returncode != 0:
        raise RuntimeError(f"memory sync failed:\n{measured.stderr[-2000:]}")
    return measured.peak_rss_mb


def main() -> int:
    started = time.perf_counter()
    cli = parser(__doc__, sizes=sorted(SIZES))
    cli.add_argument("--rows", type=int, help="override the row count of --size")
    args = cli.parse_args()
    rows = args.rows or SIZES[args.size]
    with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
        root = Path(tmp)
        source = root / "source.sqlite"
        t = time.perf_counter()
        make_source(source, rows)
        print(f"generated {rows:,} rows in {time.perf_counter() - t:.1f}s")
        request = sync_request(source, root / "warehouse.duckdb", root / "state")
        full, copied = timed_sync(request)
        assert copied == rows, f"full sync copied {copied} rows, expected {rows}"
        sync_peak = self_peak_rss_mb()
        print(f"full sync:        {full:7.2f}s  {rows / full:12,.0f} rows/s")
        if args.size == "memory":
            figures = [Figure("sync_rows_per_s", f"sync of {rows:,} rows", rows / full, "rows/s",
                              peak_rss_mb=sync_peak)]  # fmt: skip
            finish("sync_memory", args.size, figures, json_path=args.json, started=started)
            return 0
        bare = bare_copy(source, root / "bare.duckdb")
        print(f"bare copy loop:   {bare:7.2f}s  {rows / bare:12,.0f} rows/s")
        changed = change_one_percent(source, rows)
        incremental, upserted = timed_sync(request)
        assert upserted == changed, f"incremental upserted {upserted}, expected {changed}"
    memory_rows = MEMORY_ROWS[args.size]
    memory_mb = memory_peak(memory_rows)
    figures = [
        Figure("sync_rows_per_s", f"full sync of {rows:,} rows", rows / full, "rows/s",
               at_least(ROWS_PER_S_TARGET), peak_rss_mb=sync_peak),
        Figure("sync_vs_bare", "full sync speed beside a bare copy loop", rows / full, "rows/s",
               at_least(VS_BARE_TARGET, ratio=True), baseline=rows / bare,
               baseline_name="bare copy loop", peak_rss_mb=sync_peak),
        Figure("incremental", f"incremental sync, {changed:,} rows changed (1%)", incremental,
               "s", at_most(INCREMENTAL_TARGET, ratio=True), baseline=full,
               baseline_name="full sync", peak_rss_mb=self_peak_rss_mb()),
        Figure("sync_rss", f"peak RSS syncing {memory_rows:,} rows", memory_mb, "MB",
               at_most(RSS_TARGET_MB), peak_rss_mb=memory_mb,
               note="a child process doing only the sync"),
    ]  # fmt: skip
    details = {"rows": rows, "full_seconds": full, "bare_seconds": bare,
               "incremental_seconds": incremental, "memory_rows": memory_rows}  # fmt: skip
    finish("sync_throughput", args.size, figures, json_path=args.json, details=details,
           started=started)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
