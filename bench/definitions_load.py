"""Benchmark: loading Definitions for 1,000 connections x 20 tables with the snapshot cached.

Each contender is timed in a fresh Python process from "modules imported" to "repository built"
(`Definitions.get_repository_def()`), ours and the floor round-robin, best of the rounds:

- floor: the same AssetSpecs (same keys and metadata, column lineage included, and each synced
  table's source table as an external AssetSpec upstream of it, as ours has) built directly in
  one multi-asset per connection from a JSON list; nothing else (no config, jobs, checks or
  sensors);
- ours (assets): `fivetran_assets` from a YAML estate (one `for_each` template of 1,000 items)
  plus the snapshot file, assets only (`checks=False`), the floor's shape;
- ours (full): the same with jobs, schedules, the polling sensor and per-table drift checks;
- through the component: a `dg` project whose `defs.yaml` holds a `FivetranEstateComponent`
  over the same estate, its state (the same snapshot) stored as `LOCAL_FILESYSTEM` state,
  loaded as `dg`/Dagster load it (`ComponentTree.for_project(...).build_defs()`): everything the
  component defines, provisioning and state refresh jobs included;
- peer at its best (`--peer`): dagster-fivetran 0.29's state-backed `FivetranAccountComponent`
  building its definitions from state it already wrote (`write_state_to_path` once against the
  local Fivetran serving the same estate, untimed; then `build_defs_from_state` timed, round-
  robin with ours, best of the rounds), in `bench/.peer-venv` (`bench.peers`; it pins dagster
  1.13.27);
- peer uncached (`--peer`): its `build_fivetran_assets_definitions` on the same estate, one run.
  Outside a Dagster instance it has no cache, so its load includes reading the estate over the
  API, and each connection's `fivetran_assets` reloads the whole workspace's specs and filters
  them (O(connections x tables) per connection); its default keys collide across connections
  of one template, so it runs with a translator that prefixes the connection name.

Each figure's RSS is the highest peak RSS of that contender's children (`run_measured`); the
floor's and the peer's are in the JSON details. Under `python -m bench --profile` each child also
profiles its timed section (`bench.harness.CHILD_PROFILE_ENV`), so a miss comes with the profile
of the load itself.

Sizes: `full` is 1,000 connections x 20 tables, best of 5, with the peer (one run, 13-19
minutes); `tiny` is 50 x 20, one round, no peer
(`make test` runs it, in seconds). `--peer`/`--no-peer` override.
Usage: python -m bench.definitions_load [--size tiny|full] [--json PATH] [--peer | --no-peer]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

COLUMNS = 8

# The timed section of each contender's child process. Under `python -m bench --profile` the
# harness sets CHILD_PROFILE_ENV to a folder, and the child profiles that section into it, so the
# profile of a miss shows the load itself rather than this parent waiting on children.
TIMER = r"""
import cProfile, os, sys, time
def timed(name, build):
    folder = os.environ.get(sys.argv[1])
    profiler = cProfile.Profile() if folder else None
    t0 = time.perf_counter()
    if profiler:
        profiler.enable()
    build()
    seconds = time.perf_counter() - t0
    if profiler:
        profiler.disable()
        profiler.dump_stats(os.path.join(folder, name + ".prof"))
    print(seconds)
"""

FLOOR = (
    TIMER
    + r"""
import json
import dagster as dg
specs_path = sys.argv[2]
def build():
    data = json.loads(open(specs_path).read())
    assets = []
    sources = []
    for conn in data:
        specs = []
        for s in conn["specs"]:
            src = s["source"]
            source_key = dg.AssetKey(src["key"])
            sources.append(dg.AssetSpec(
                key=source_key, description=src["description"], group_name=src["group"],
                kinds=set(src["kinds"]),
                metadata={
                    "dagster/table_name": src["table_name"],
                    "dagster/column_schema": dg.TableSchema(columns=[
                        dg.TableColumn(name=c[3], type="unknown") for c in s["columns"]]),
                },
            ))
            specs.append(dg.AssetSpec(
                key=s["key"], deps=[source_key], description=s["description"],
                group_name=s["group"], kinds=set(s["kinds"]), owners=s["owners"], tags=s["tags"],
                metadata={
                    **s["metadata"],
                    "dagster/column_schema": dg.TableSchema(columns=[
                        dg.TableColumn(name=n, type=t, description="hashed" if h else None,
                                       tags={"fivetran/hashed": "true"} if h else None)
                        for n, t, h, _ in s["columns"]]),
                    "dagster/column_lineage": dg.TableColumnLineage(deps_by_column={
                        n: [dg.TableColumnDep(asset_key=source_key, column_name=src_name)]
                        for n, _, _, src_name in s["columns"]}),
                },
            ))
        @dg.multi_asset(name=conn["op"], specs=specs, can_subset=True)
        def _op(context):
            return None
        assets.append(_op)
    dg.Definitions(assets=[*assets, *sources]).get_repository_def()
timed("floor", build)
"""
)

OURS = (
    TIMER
    + r"""
import dagster as dg
from fivetran_assets.dagster.build import load_fivetran_definitions
config, snapshot, checks = sys.argv[2], sys.argv[3], sys.argv[4] == "1"
timed(
    "ours-full" if checks else "ours-assets",
    lambda: load_fivetran_definitions(config, snapshot, checks=checks).get_repository_def(),
)
"""
)

COMPONENT = (
    TIMER
    + r"""
from pathlib import Path
from dagster.components.core.component_tree import ComponentTree
root = sys.argv[2]
sys.path.insert(0, root)
def build():
    ComponentTree.for_project(Path(root)).build_defs().get_repository_def()
timed("ours-component", build)
"""
)
STATE_KEY = "bench_estate"


def write_component_project(directory: Path, config: Path, snapshot: Path) -> Path:
    """A `dg` project holding one FivetranEstateComponent over `config`, with `snapshot` as its
    LOCAL_FILESYSTEM state (where `dg utils refresh-defs-state` would have written it)."""
    import shutil

    root = directory / "component_project"
    defs = root / "bench_project" / "defs"
    (defs / "estate").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "bench-project"\nversion = "0"\n\n[tool.dg]\n'
        'directory_type = "project"\n\n[tool.dg.project]\nroot_module = "bench_project"\n'
    )
    (root / "bench_project" / "__init__.py").write_text("")
    (defs / "__init__.py").write_text("")
    (defs / "estate" / "defs.yaml").write_text(
        "type: fivetran_assets.FivetranEstateComponent\n"
        f"attributes:\n  config: {config}\n  webhooks: 'off'\n"
        f"  defs_state:\n    key: {STATE_KEY}\n    management_type: LOCAL_FILESYSTEM\n"
    )
    state = defs / ".local_defs_state" / STATE_KEY / "state"
    state.parent.mkdir(parents=True)
    shutil.copyfile(snapshot, state)
    return root


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
# The component at its best: state written once (argv[4] == "write", against the server), then
# definitions built from it with no API call (argv[4] == "load"), timed like ours.
PEER_STATE = r"""
import asyncio, json, os, sys, time
from pathlib import Path
import dagster as dg
from dagster_fivetran import FivetranAccountComponent, FivetranWorkspace
state = Path(sys.argv[3])
def component():
    workspace = FivetranWorkspace(account_id="bench", api_key=sys.argv[1], api_secret=sys.argv[2])
    return FivetranAccountComponent(workspace=workspace)
if sys.argv[4] == "write":
    asyncio.run(component().write_state_to_path(state))
    print("{}")
else:
    t0 = time.perf_counter()
    defs = component().build_defs_from_state(dg.ComponentTree.for_test().load_context, state)
    repository = defs.get_repository_def()
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "assets": len(repository.assets_defs_by_key)}))
"""
PEER_KEY, PEER_SECRET = "bench_key", "bench_secret"
SIZES = {"tiny": (50, 20, 1, False), "full": (1000, 20, 5, True)}
ROOT = Path(__file__).resolve().parents[1]
CHILD_TIMEOUT = 600.0
# The peer is O(connections x tables) per connection: 15-20 minutes at full size on a quiet
# machine. bench.registry gives the whole benchmark more than this.
PEER_TIMEOUT = 3000.0


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
    from fivetran_assets.snapshot.store import (
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
        ColumnSnapshot(f"col{k}", "INTEGER", hashed=k == 1, primary_key=k == 0, source=f"col{k}")
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
                "key": [t.destination_schema, t.destination_table],
                "description": "Table synced by Fivetran.",
                "group": f"bench__{conn.name}",
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
                    "dagster/table_name": f"bench.{t.destination_schema}.{t.destination_table}",
                },
                "columns": [[c.name, c.type, c.hashed, c.source] for c in t.columns],
                "source": {
                    "key": ["fivetran_source", "bench", conn.name, t.schema, t.table],
                    "description": f"Source table `{t.schema}.{t.table}`, synced by Fivetran "
                    f"connection `{conn.name}` (bench).",
                    "group": f"bench__{conn.name}__source",
                    "kinds": ["sqlite"],
                    "table_name": f"{t.schema}.{t.table}",
                },
            }
            for t in conn.tables
        ],
    }


@dataclass(frozen=True)
class Timing:
    """A contender's best load time over the rounds, and the highest peak RSS of its children."""

    seconds: float
    peak_rss_mb: float


def _once(code: str, *args: str) -> tuple[float, float]:
    """One child: its load time (what it printed) and its own peak RSS."""
    from bench.harness import CHILD_PROFILE_ENV, run_measured

    run = run_measured(
        [sys.executable, "-c", code, CHILD_PROFILE_ENV, *args], timeout=CHILD_TIMEOUT, cwd=ROOT
    )
    if run.returncode != 0:
        raise SystemExit(f"a timed child exited with {run.returncode}:\n{run.stderr[-3000:]}")
    return float(run.stdout.strip().splitlines()[-1]), run.peak_rss_mb


def _peer_load(state: Path, assets: int) -> tuple[float, float]:
    """One child of the peer building its definitions from written state: time, peak RSS."""
    from bench.peers import run_peer

    run = run_peer(PEER_STATE, PEER_KEY, PEER_SECRET, str(state), "load", timeout=CHILD_TIMEOUT)
    out = run.json()
    if out["assets"] != assets:
        raise SystemExit(f"the peer built {out['assets']} assets from its state")
    return float(out["seconds"]), run.peak_rss_mb


def _rounds(
    contenders: dict[str, Callable[[], tuple[float, float]]], repeat: int
) -> dict[str, Timing]:
    """Best time of each, run round-robin so a busy machine slows all of them alike."""
    best: dict[str, Timing] = {}
    for _ in range(repeat):
        for name, run in contenders.items():
            seconds, rss = run()
            before = best.get(name, Timing(seconds, rss))
            best[name] = Timing(min(seconds, before.seconds), max(rss, before.peak_rss_mb))
    return best


def main() -> None:
    from bench.harness import CHILD_PROFILE_ENV, Figure, at_most, finish, parser

    cli = parser(__doc__)
    cli.add_argument("--peer", action=argparse.BooleanOptionalAction, default=None)
    args = cli.parse_args()
    connections, tables, repeat, peer = SIZES[args.size]
    peer = peer if args.peer is None else args.peer
    if os.environ.get(CHILD_PROFILE_ENV):  # a profiling rerun explains ours: one round will do
        repeat, peer = 1, False
    started = time.perf_counter()
    details: dict[str, Any] = {"connections": connections, "tables": tables, "rounds": repeat}
    with tempfile.TemporaryDirectory(prefix="bench-defs-") as tmp:
        config, snapshot, floor = write_inputs(Path(tmp), connections, tables)
        state = Path(tmp) / "peer-state.json"
        peer_run = _peer(Path(tmp), connections, tables, state) if peer else None
        contenders: dict[str, Callable[[], tuple[float, float]]] = {
            "floor": partial(_once, FLOOR, str(floor)),
            "assets": partial(_once, OURS, str(config), str(snapshot), "0"),
            "full": partial(_once, OURS, str(config), str(snapshot), "1"),
            "component": partial(
                _once, COMPONENT, str(write_component_project(Path(tmp), config, snapshot))
            ),
        }
        if peer:
            contenders["peer_state"] = partial(_peer_load, state, connections * tables)
        best = _rounds(contenders, repeat)
        details["floor_peak_rss_mb"] = best["floor"].peak_rss_mb
    size = f"{connections:,} connections x {tables} tables"
    floor_name = "floor: same specs from a JSON list"
    figures = [
        Figure(
            "load_assets",
            f"definitions load, assets only ({size}, best of {repeat})",
            best["assets"].seconds,
            "s",
            target=at_most(1.1, ratio=True),
            baseline=best["floor"].seconds,
            baseline_name=floor_name,
            peak_rss_mb=best["assets"].peak_rss_mb,
        ),
        Figure(
            "load_full",
            "definitions load with jobs, schedules, sensor, drift checks",
            best["full"].seconds,
            "s",
            target=at_most(1.25, ratio=True),
            baseline=best["floor"].seconds,
            baseline_name=floor_name,
            peak_rss_mb=best["full"].peak_rss_mb,
        ),
        Figure(
            "load_component",
            "definitions load through the component (defs.yaml, state; everything it defines)",
            best["component"].seconds,
            "s",
            target=at_most(1.3, ratio=True),
            baseline=best["floor"].seconds,
            baseline_name=floor_name,
            peak_rss_mb=best["component"].peak_rss_mb,
        ),
    ]
    if "peer_state" in best:
        details["peer_state_peak_rss_mb"] = best["peer_state"].peak_rss_mb
        figures.append(
            Figure(
                "load_vs_dagster_fivetran_state",
                f"definitions load (full) beside dagster-fivetran from its state ({size}, "
                f"best of {repeat})",
                best["full"].seconds,
                "s",
                baseline=best["peer_state"].seconds,
                baseline_name="dagster-fivetran 0.29 FivetranAccountComponent, state written",
                peak_rss_mb=best["full"].peak_rss_mb,
                note=(
                    "the peer at its best: build_defs_from_state on state it wrote before "
                    "(no API call), assets and its multi-assets only (no jobs, schedules, "
                    f"sensors or checks); its peak RSS {best['peer_state'].peak_rss_mb:.0f} MB"
                ),
            )
        )
    if peer_run is not None:
        details["peer"] = peer_run
        figures.append(
            Figure(
                "load_vs_dagster_fivetran",
                f"definitions load (full) beside dagster-fivetran uncached ({size}, peer one run)",
                best["full"].seconds,
                "s",
                baseline=peer_run["seconds"],
                baseline_name="dagster-fivetran 0.29 build_fivetran_assets_definitions",
                peak_rss_mb=best["full"].peak_rss_mb,
                note=(
                    "the peer reads the estate over the API on every load (no cache outside a "
                    f"Dagster instance); its peak RSS {peer_run['peak_rss_mb']:.0f} MB"
                ),
            )
        )
    finish(
        "definitions_load",
        args.size,
        figures,
        json_path=args.json,
        details=details,
        started=started,
    )


def _peer(directory: Path, connections: int, tables: int, state: Path) -> dict[str, float]:
    """Against a local Fivetran holding the estate: the component writes its state (untimed),
    then one run of the uncached peer: its load time (API reads included), wall time, peak
    RSS, and how long serving the estate took to set up."""
    from bench.peers import run_peer

    setup_started = time.perf_counter()
    server = serve_estate(directory, connections, tables)
    setup = time.perf_counter() - setup_started
    try:
        written = time.perf_counter()
        run_peer(PEER_STATE, PEER_KEY, PEER_SECRET, str(state), "write",
                 base_url=server.base_url, timeout=PEER_TIMEOUT)  # fmt: skip
        state_seconds = time.perf_counter() - written
        run = run_peer(PEER, PEER_KEY, PEER_SECRET, base_url=server.base_url, timeout=PEER_TIMEOUT)
    finally:
        server.__exit__(None, None, None)
    out = run.json()
    if out["assets"] != connections:
        raise SystemExit(f"the peer built {out['assets']} multi-assets, expected {connections}")
    return {
        "seconds": round(float(out["seconds"]), 3),
        "wall_seconds": round(run.seconds, 3),
        "peak_rss_mb": run.peak_rss_mb,
        "estate_setup_seconds": round(setup, 3),
        "state_write_seconds": round(state_seconds, 3),
    }


if __name__ == "__main__":
    main()
