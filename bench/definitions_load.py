"""Benchmark: loading Definitions for 1,000 connections x 20 tables with the snapshot cached.

Each contender is timed in a fresh Python process from "modules imported" to "repository built"
(`Definitions.get_repository_def()`), ours and the floor round-robin, best of the rounds:

- floor: the same AssetSpecs (same keys and metadata) built directly in one multi-asset per
  connection from a JSON list; nothing else (no config, no jobs, checks or sensors);
- ours (assets): `fivetran_assets` from a YAML estate (one `for_each` template of 1,000 items)
  plus the snapshot file, assets only (`checks=False`), the floor's shape;
- ours (full): the same with jobs, schedules, the polling sensor and per-table drift checks;
- peer (`--peer`): dagster-fivetran 0.29's `build_fivetran_assets_definitions` on the same
  estate served by a local Fivetran, in `bench/.peer-venv` (`bench.peers`; it pins dagster
  1.13.27), one run. Outside a Dagster instance it has no cache, so its load includes reading
  the estate over the API; its default keys collide across connections of one template, so it
  runs with a translator that prefixes the connection name.

Sizes: `full` is 1,000 connections x 20 tables, best of 3, with the peer; `tiny` is 50 x 20,
one round, no peer (`make test` runs it). `--peer`/`--no-peer` override.
Usage: python -m bench.definitions_load [--size tiny|full] [--json PATH] [--peer | --no-peer]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

COLUMNS = 8

FLOOR = r"""
import json, sys, time
import dagster as dg
specs_path = sys.argv[1]
t0 = time.perf_counter()
data = json.loads(open(specs_path).read())
assets = []
for conn in data:
    specs = [
        dg.AssetSpec(
            key=s["key"], description=s["description"], group_name=s["group"],
            kinds=set(s["kinds"]), owners=s["owners"], tags=s["tags"],
            metadata={
                **s["metadata"],
                "dagster/column_schema": dg.TableSchema(columns=[
                    dg.TableColumn(name=n, type=t, description="hashed" if h else None,
                                   tags={"fivetran/hashed": "true"} if h else None)
                    for n, t, h in s["columns"]]),
            },
        )
        for s in conn["specs"]
    ]
    @dg.multi_asset(name=conn["op"], specs=specs, can_subset=True)
    def _op(context):
        return None
    assets.append(_op)
dg.Definitions(assets=assets).get_repository_def()
print(time.perf_counter() - t0)
"""

OURS = r"""
import sys, time
import dagster as dg
from fivetran_assets.dagster.build import load_fivetran_definitions
config, snapshot, checks = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
t0 = time.perf_counter()
load_fivetran_definitions(config, snapshot, checks=checks).get_repository_def()
print(time.perf_counter() - t0)
"""


PEER = r"""
import json, sys, time
import dagster as dg
from dagster_fivetran import (
    DagsterFivetranTranslator, FivetranWorkspace, build_fivetran_assets_definitions,
)
class Translator(DagsterFivetranTranslator):
    # Its default keys ([schema, table]) collide across connections of one database template.
    def get_asset_spec(self, props):
        spec = super().get_asset_spec(props)
        return spec.replace_attributes(key=spec.key.with_prefix(props.connector_name))
workspace = FivetranWorkspace(account_id="bench", api_key=sys.argv[1], api_secret=sys.argv[2])
t0 = time.perf_counter()
assets = build_fivetran_assets_definitions(
    workspace=workspace, dagster_fivetran_translator=Translator()
)
dg.Definitions(assets=assets, resources={"fivetran": workspace}).get_repository_def()
print(json.dumps({"seconds": time.perf_counter() - t0, "assets": len(assets)}))
"""
PEER_KEY, PEER_SECRET = "bench_key", "bench_secret"
SIZES = {"tiny": (50, 20, 1, False), "full": (1000, 20, 3, True)}


def serve_estate(directory: Path, connections: int, tables: int) -> Any:
    """A local Fivetran holding the benchmark estate: one group, `connections` SQLite
    connections over one `tables`-table database, schemas captured. Returns the server."""
    import sqlite3

    from fivetran_assets.emulator.ratelimit import RateLimits
    from fivetran_assets.emulator.server import EmulatorServer
    from fivetran_assets.fivetran.client import FivetranClient

    source = directory / "source.sqlite"
    with sqlite3.connect(source) as db:
        for j in range(tables):
            cols = ", ".join(f"col{k} INTEGER" for k in range(1, COLUMNS))
            db.execute(f"CREATE TABLE table{j:02d} (col0 INTEGER PRIMARY KEY, {cols})")
    server = EmulatorServer(
        state_dir=directory / "emulator",
        api_key=PEER_KEY,
        api_secret=PEER_SECRET,
        time_scale=60,
        rate_limits=RateLimits(enabled=False),
    ).__enter__()
    client = FivetranClient(PEER_KEY, PEER_SECRET, base_url=server.base_url, rate_budget=None)
    group = client.create_group("bench")
    client.create_destination(
        group.id, "duckdb", time_zone_offset="0", config={"path": str(directory / "w.duckdb")}
    )

    def create(i: int) -> None:
        conn = client.create_connection(
            group.id,
            "sqlite",
            config={"database": str(source), "schema_prefix": f"dept{i:04d}"},
            paused=False,
            run_setup_tests=True,
        )
        if client.get_schema_config(conn.id) is None:
            client.reload_schema_config(conn.id)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, range(connections)))
    return server


def write_inputs(directory: Path, connections: int, tables: int) -> tuple[Path, Path, Path]:
    """The estate YAML, its snapshot, and the floor's JSON list of the same specs."""
    from fivetran_assets.reconcile.snapshot import (
        ColumnSnapshot,
        ConnectionSnapshot,
        GroupSnapshot,
        Snapshot,
        TableSnapshot,
        save_snapshot,
    )

    names = [f"dept{i:04d}" for i in range(connections)]
    items = "\n".join(f"          - name: {n}" for n in names)
    config = directory / "estate.yaml"
    config.write_text(
        f"""account:
  base_url: http://127.0.0.1:1
dagster:
  owners: [team:data-platform]
  tags: {{domain: bench}}
groups:
  - name: bench
    destination:
      service: duckdb
      time_zone_offset: "0"
      config: {{path: /tmp/bench.duckdb}}
    connections:
      - service: sqlite
        config:
          database: "/tmp/{{name}}.sqlite"
        sync_frequency: 360
        scheduled_by: fivetran
        for_each:
{items}
"""
    )
    columns = tuple(
        ColumnSnapshot(f"col{k}", "INTEGER", hashed=k == 1, primary_key=k == 0)
        for k in range(COLUMNS)
    )
    conns = tuple(
        ConnectionSnapshot(
            "bench",
            n,
            f"id_{n}",
            "sqlite",
            tuple(
                TableSnapshot("main", f"table{j:02d}", f"{n}_main", f"table{j:02d}", columns)
                for j in range(tables)
            ),
        )
        for n in names
    )
    snapshot = directory / "snapshot.json"
    save_snapshot(
        Snapshot(
            written_at="2026-01-01T00:00:00.000000Z",
            groups=(GroupSnapshot("bench", "bench_id", "duckdb", {"path": "/tmp/bench.duckdb"}),),
            connections=conns,
        ),
        snapshot,
    )
    floor = directory / "floor.json"
    floor.write_text(json.dumps([_floor_entry(c) for c in conns]))
    return config, snapshot, floor


def _floor_entry(conn: object) -> dict:
    return {
        "op": f"fivetran_sync__bench__{conn.name}",
        "specs": [
            {
                "key": ["bench", t.destination_schema, t.destination_table],
                "description": "Table synced by Fivetran.",
                "group": "bench",
                "kinds": ["fivetran", "duckdb"],
                "owners": ["team:data-platform"],
                "tags": {"domain": "bench", "fivetran/scheduled_by": "fivetran"},
                "metadata": {
                    "fivetran/connection_name": conn.name,
                    "fivetran/service": "sqlite",
                    "fivetran/sync_frequency_minutes": 360,
                    "fivetran/scheduled_by": "fivetran",
                    "fivetran/connection_id": conn.id,
                    "fivetran/source_table": f"main.{t.table}",
                    "dagster/table_name": f"{t.destination_schema}.{t.destination_table}",
                },
                "columns": [[c.name, c.type, c.hashed] for c in t.columns],
            }
            for t in conn.tables
        ],
    }


def _once(code: str, *args: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def _rounds(contenders: dict[str, tuple[str, ...]], repeat: int) -> dict[str, float]:
    """Best time of each, run round-robin so a busy machine slows all of them alike."""
    best: dict[str, float] = {}
    for _ in range(repeat):
        for name, (code, *args) in contenders.items():
            seconds = _once(code, *args)
            best[name] = min(seconds, best.get(name, seconds))
    return best


def main() -> None:
    from bench.harness import Figure, at_most, finish, parser

    cli = parser(__doc__)
    cli.add_argument("--peer", action=argparse.BooleanOptionalAction, default=None)
    args = cli.parse_args()
    connections, tables, repeat, peer = SIZES[args.size]
    peer = peer if args.peer is None else args.peer
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-defs-") as tmp:
        config, snapshot, floor = write_inputs(Path(tmp), connections, tables)
        best = _rounds(
            {
                "floor": (FLOOR, str(floor)),
                "assets": (OURS, str(config), str(snapshot), "0"),
                "full": (OURS, str(config), str(snapshot), "1"),
            },
            repeat,
        )
        peer_s = _peer(Path(tmp), connections, tables) if peer else None
    size = f"{connections} connections x {tables} tables, best of {repeat}"
    figures = [
        Figure(
            "load_assets",
            f"definitions load, assets only ({size})",
            best["assets"],
            "s",
            target=at_most(1.3, ratio=True),
            baseline=best["floor"],
            baseline_name="floor: same specs from a JSON list",
        ),
        Figure(
            "load_full",
            "definitions load with jobs, schedules, sensor, drift checks",
            best["full"],
            "s",
            baseline=best["floor"],
            baseline_name="floor: same specs from a JSON list",
        ),
    ]
    if peer_s is not None:
        figures.append(
            Figure(
                "load_vs_dagster_fivetran",
                "definitions load (full) beside the peer",
                best["full"],
                "s",
                baseline=peer_s,
                baseline_name="dagster-fivetran 0.29 build_fivetran_assets_definitions",
                note="the peer reads the estate over the API on every load",
            )
        )
    finish("definitions_load", args.size, figures, json_path=args.json, started=started)


def _peer(directory: Path, connections: int, tables: int) -> float:
    """One run: the peer's load is dominated by its API reads, minutes at full size."""
    from bench.peers import run_peer

    server = serve_estate(directory, connections, tables)
    try:
        run = run_peer(PEER, PEER_KEY, PEER_SECRET, base_url=server.base_url, timeout=3600)
        return float(run.json()["seconds"])
    finally:
        server.__exit__(None, None, None)


if __name__ == "__main__":
    main()
