"""Benchmark: sync throughput and memory of the local Fivetran's data plane (SQLite -> DuckDB).

Measures, in one process run, on one 10-column SQLite table of `rows` rows:
- the data plane's first (historical) sync (columnar: ADBC SQLite -> Arrow -> DuckDB),
- beside the columnar floor: the plainest columnar copy of the same table into a DuckDB table
  of the same column types (ADBC `SELECT *` as one Arrow stream, one INSERT, nothing else);
- beside the row loop peer (sqlite3 tuples -> Arrow batches -> DuckDB, the floor of the first
  round), with the data plane's own row-by-row read (`read_by_rows`, its fallback) in the note;
- an incremental sync after 1% of the rows changed, in each round, and its ratio to the full sync;
- the peak RSS of a sync of a larger table (10,000,000 rows x 10 columns) and of a wide one
  (1,000,000 rows x 100 columns), each in a child process so nothing else counts.

    python -m bench.sync_throughput --size tiny|full|memory [--rows N] [--columns C] [--json PATH]

`full` is the 1,000,000-row target (>= 150,000 rows/s, >= 0.9x the columnar floor, >= 2x the
row loop, incremental < 0.2x full; peak RSS <= 400 MB at 10,000,000 rows, <= 300 MB at 100
columns); `tiny` runs the same steps small. `memory` is that child: one sync, nothing else.
Source rows are generated inside SQLite, so generation costs no Python memory. The three copies
of the full table run round-robin, best of `rounds`, so a busy machine slows them alike.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from dataclasses import replace
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
WIDE = {"tiny": (10_000, 100), "full": (1_000_000, 100)}  # rows, columns
ROUNDS = {"tiny": 1, "full": 3}
ROWS_PER_S_TARGET, VS_COLUMNAR_TARGET, VS_ROW_LOOP_TARGET = 150_000, 0.9, 2.0
INCREMENTAL_TARGET, RSS_TARGET_MB, WIDE_RSS_TARGET_MB = 0.2, 400, 300
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
# The DuckDB types the data plane lands `items` with (types.duckdb_type of each declared type).
DUCKDB_TYPES = [
    "BIGINT", "BIGINT", "DOUBLE", "VARCHAR", "DATE", "DECIMAL(10,2)", "BOOLEAN", "TIMESTAMP",
    "VARCHAR", "BIGINT",
]  # fmt: skip


def make_source(path: Path, rows: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute(DDL)
    conn.execute(GENERATE, (rows,))
    conn.commit()
    conn.close()


def make_wide_source(path: Path, rows: int, columns: int) -> None:
    """`wide`: an id and `columns - 1` more, cycling integer, real and short text columns."""
    kinds = ("INTEGER", "REAL", "TEXT")
    decls = [f"c{k:03d} {kinds[k % 3]}" for k in range(1, columns)]
    values = [
        (f"i * {k} % 10007", f"(i % 997) * {k}.25", f"'v' || (i % {k * 11})")[k % 3]
        for k in range(1, columns)
    ]
    conn = sqlite3.connect(path)
    conn.execute(f"CREATE TABLE wide (id INTEGER PRIMARY KEY, {', '.join(decls)})")
    conn.execute(
        "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?) "
        f"INSERT INTO wide SELECT i, {', '.join(values)} FROM seq",
        (rows,),
    )
    conn.commit()
    conn.close()


def bare_copy(source: Path, target: Path) -> float:
    """The bare row loop: read every row with sqlite3, hand Arrow batches to DuckDB."""
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


def columnar_floor(source: Path, target: Path) -> float:
    """The columnar floor: ADBC `SELECT *` as one Arrow stream into a DuckDB table of the
    data plane's column types, in one INSERT."""
    import adbc_driver_sqlite.dbapi as adbc

    start = time.perf_counter()
    with adbc.connect(str(source)) as src, src.cursor() as cur:
        cur.execute("SELECT * FROM items")
        stream = cur.fetch_record_batch()
        names = stream.schema.names
        dst = duckdb.connect(str(target))
        columns = ", ".join(f"{n} {t}" for n, t in zip(names, DUCKDB_TYPES, strict=True))
        dst.execute(f"CREATE TABLE items ({columns})")
        dst.execute("INSERT INTO items SELECT * FROM stream")
        dst.close()
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


def memory_peak(rows: int, columns: int = 10) -> float:
    """Peak RSS in MB of a child process doing only a sync of `rows` x `columns`."""
    command = [sys.executable, "-m", "bench.sync_throughput", "--size", "memory"]
    command += ["--rows", str(rows), "--columns", str(columns)]
    measured = run_measured(command, timeout=3600, cwd=ROOT)
    if measured.returncode != 0:
        raise RuntimeError(f"memory sync failed:\n{measured.stderr[-2000:]}")
    return measured.peak_rss_mb


def memory_child(rows: int, columns: int, json_path: Path | None, started: float) -> int:
    """One sync of a generated table, nothing else (the parent reads this process's RSS)."""
    with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
        root = Path(tmp)
        source = root / "source.sqlite"
        t = time.perf_counter()
        if columns == 10:
            make_source(source, rows)
        else:
            make_wide_source(source, rows, columns)
        print(f"generated {rows:,} rows x {columns} columns in {time.perf_counter() - t:.1f}s")
        seconds, copied = timed_sync(sync_request(source, root / "w.duckdb", root / "state"))
        assert copied == rows, f"the sync copied {copied} rows, expected {rows}"
    print(f"sync: {seconds:.2f}s, {rows / seconds:,.0f} rows/s")
    figures = [Figure("sync_rows_per_s", f"sync of {rows:,} rows x {columns}", rows / seconds,
                      "rows/s", peak_rss_mb=self_peak_rss_mb())]  # fmt: skip
    finish("sync_memory", "memory", figures, json_path=json_path, started=started)
    return 0


def main() -> int:
    started = time.perf_counter()
    cli = parser(__doc__, sizes=sorted(SIZES))
    cli.add_argument("--rows", type=int, help="override the row count of --size")
    cli.add_argument("--columns", type=int, default=10, help="columns of the memory child")
    args = cli.parse_args()
    rows = args.rows or SIZES[args.size]
    if args.size == "memory":
        return memory_child(rows, args.columns, args.json, started)
    rounds = ROUNDS[args.size]
    with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
        root = Path(tmp)
        source = root / "source.sqlite"
        t = time.perf_counter()
        make_source(source, rows)
        print(f"generated {rows:,} rows in {time.perf_counter() - t:.1f}s")
        best: dict[str, float] = {}
        for n in range(rounds):
            # Round-robin, each into a fresh warehouse: a busy machine slows all alike.
            request = sync_request(source, root / f"w{n}.duckdb", root / f"state{n}")
            full, copied = timed_sync(request)
            assert copied == rows, f"full sync copied {copied} rows, expected {rows}"
            by_rows = replace(request, destination_config={"path": str(root / f"r{n}.duckdb")},
                              state_dir=root / f"rstate{n}", read_by_rows=True)  # fmt: skip
            row_loop, copied = timed_sync(by_rows)
            assert copied == rows, f"the row-by-row sync copied {copied} rows, expected {rows}"
            times = {
                "full": full,
                "row_loop": row_loop,
                "columnar": columnar_floor(source, root / f"c{n}.duckdb"),
                "bare": bare_copy(source, root / f"b{n}.duckdb"),
            }
            # 1% of the rows change (the same rows each round), then this round's warehouse syncs.
            changed = change_one_percent(source, rows)
            times["incremental"], upserted = timed_sync(request)
            assert upserted == changed, f"incremental upserted {upserted}, expected {changed}"
            print("  ".join(f"{k} {v:.2f}s" for k, v in times.items()))
            best = {k: min(v, best.get(k, v)) for k, v in times.items()}
        sync_peak = self_peak_rss_mb()
        for name, seconds in best.items():
            print(f"{name:11s} {seconds:7.2f}s (best of {rounds})")
        incremental = best["incremental"]
    memory_rows = MEMORY_ROWS[args.size]
    memory_mb = memory_peak(memory_rows)
    wide_rows, wide_columns = WIDE[args.size]
    wide_mb = memory_peak(wide_rows, wide_columns)
    speed = rows / best["full"]
    figures = [
        Figure("sync_rows_per_s", f"full sync of {rows:,} rows", speed, "rows/s",
               at_least(ROWS_PER_S_TARGET), peak_rss_mb=sync_peak),
        Figure("sync_vs_columnar", "full sync speed beside the columnar floor", speed, "rows/s",
               at_least(VS_COLUMNAR_TARGET, ratio=True), baseline=rows / best["columnar"],
               baseline_name="ADBC -> Arrow -> DuckDB copy", peak_rss_mb=sync_peak,
               note="the floor lands the same column types, without system columns"),
        Figure("sync_vs_row_loop", "full sync speed beside the row loop", speed, "rows/s",
               at_least(VS_ROW_LOOP_TARGET, ratio=True), baseline=rows / best["bare"],
               baseline_name="sqlite3 rows -> Arrow -> DuckDB loop", peak_rss_mb=sync_peak,
               note=f"the data plane itself reading by rows (its fallback): "
                    f"{rows / best['row_loop']:,.0f} rows/s"),
        Figure("incremental", f"incremental sync, {changed:,} rows changed (1%)", incremental,
               "s", at_most(INCREMENTAL_TARGET, ratio=True), baseline=best["full"],
               baseline_name="full sync", peak_rss_mb=self_peak_rss_mb()),
        Figure("sync_rss", f"peak RSS syncing {memory_rows:,} rows x 10 columns", memory_mb, "MB",
               at_most(RSS_TARGET_MB), peak_rss_mb=memory_mb,
               note="a child process doing only the sync"),
        Figure("sync_rss_wide", f"peak RSS syncing {wide_rows:,} rows x {wide_columns} columns",
               wide_mb, "MB", at_most(WIDE_RSS_TARGET_MB), peak_rss_mb=wide_mb,
               note="a child process doing only the sync"),
    ]  # fmt: skip
    details = {"rows": rows, "rounds": rounds, "best_seconds": best,
               "incremental_seconds": incremental, "memory_rows": memory_rows,
               "wide": {"rows": wide_rows, "columns": wide_columns}}  # fmt: skip
    finish("sync_throughput", args.size, figures, json_path=args.json, details=details,
           started=started)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
