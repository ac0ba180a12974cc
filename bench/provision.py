"""Provisioning at scale: apply from empty and plan of a converged estate, against their floors.

Estate: G groups x 5 connections, every connection with a schema selection (a shared selection
hashing a column, blocking one and disabling a table), on the local Fivetran started as its own
process with Fivetran's documented limits (20,000 requests/hour, 20 connection creates/minute,
100/hour, setup-test and source-call limits), time-scaled, and 50 ms added to every API call.

Reported:
- apply from empty (600x): makespan, API calls, 429s seen, and its ratio to the floor set by
  the binding limit (connection creates per rolling minute/hour, requests per hour, or minimum
  calls x latency / workers);
- beside a sequential create-one-at-a-time loop in the style of the seed's scripts (new HTTP
  connection per call, honouring Retry-After so it can finish), both from empty on fresh servers
  at a time scale where the create cap binds both (6x at full size: a create every 3 Fivetran
  seconds is 0.5 s, longer than the loop's calls for one connection; at 600x the loop would be
  bound by latency instead, and the comparison would flatter us);
- plan of the converged estate: API calls against the minimum (one call per listing page plus
  one schema read per connection), and wall time against the latency floor (minimum calls x
  latency / `read_concurrency` workers);
- peak RSS of this process (client side) and of the local Fivetran.

The 10,000-connection plan is `bench.plan_scale`.

    .venv/bin/python -m bench.provision --size tiny [--json PATH]  # 10 x 5, seconds
    .venv/bin/python -m bench.provision --size full [--json PATH]  # 200 x 5 = 1,000, minutes
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from bench.harness import Figure, at_most, finish, parser, self_peak_rss_mb
from bench.local_estate import (
    KEY,
    PER_GROUP,
    SECRET,
    Server,
    bench_env,
    minimum_plan_calls,
    plan_floor,
    rate_limited,
    reconciler,
    write_estate,
)
from fivetran_assets.emulator.dataplane.seed import seed_demo
from fivetran_assets.reconcile.applier import apply_plan

CREATES_PER_MINUTE, CREATES_PER_HOUR, REQUESTS_PER_HOUR = 20, 100, 20_000
CALLS_PER_GROUP = 2  # create group, create destination (its setup tests run within the create)
CALLS_PER_CONNECTION = 4  # create (setup tests within), schema reload, schema patch, unpause


@dataclass(frozen=True)
class Size:
    groups: int
    seed_groups: int  # the seed-style comparison: both from empty, at seed_time_scale
    time_scale: float
    seed_time_scale: float


SIZES = {"tiny": Size(10, 5, 600.0, 30.0), "full": Size(200, 12, 600.0, 6.0)}


def create_floor_seconds(creates: int, scale: float) -> float:
    """Earliest real time of the last create under 20/rolling minute and 100/rolling hour."""
    last = creates - 1
    fivetran_seconds = (last // CREATES_PER_HOUR) * 3600 + (
        last % CREATES_PER_HOUR
    ) // CREATES_PER_MINUTE * 60
    return fivetran_seconds / scale


def floors(groups: int, scale: float, latency: float, workers: int) -> dict[str, float]:
    connections = groups * PER_GROUP
    calls = groups * CALLS_PER_GROUP + connections * CALLS_PER_CONNECTION
    tail = (CALLS_PER_CONNECTION - 1) * latency  # the last connection's work after its create
    return {
        "connection creates": create_floor_seconds(connections, scale) + latency + tail,
        "requests per hour": (calls - 1) // REQUESTS_PER_HOUR * 3600 / scale,
        "calls x latency / workers": calls * latency / workers,
    }


def seed_style_loop(
    server: Server, estate_path: Path, groups: int, env: dict[str, str]
) -> tuple[float, int]:
    """The seed's end-to-end script, sequential: one request at a time, a new connection each."""
    data = yaml.safe_load(estate_path.read_text())
    calls = 0

    def atlas(method: str, endpoint: str, payload: dict | None = None) -> dict:
        nonlocal calls
        while True:
            calls += 1
            answer = requests.request(
                method, server.base_url + endpoint, json=payload, auth=(KEY, SECRET), timeout=60
            )
            if answer.status_code == 429:
                time.sleep(float(answer.headers.get("Retry-After", "1")))
                continue
            answer.raise_for_status()
            return answer.json().get("data") or {}

    started = time.perf_counter()
    for group in data["groups"][:groups]:
        group_id = atlas("POST", "/v1/groups", {"name": group["name"]})["id"]
        path = group["destination"]["config"]["path"].replace("${env:BENCH_DIR}", env["BENCH_DIR"])
        atlas(
            "POST",
            "/v1/destinations",
            {
                "group_id": group_id,
                "service": "duckdb",
                "time_zone_offset": "0",
                "config": {"path": path},
            },
        )
        template = group["connections"][0]
        for item in template["for_each"]:
            database = template["config"]["database"].replace("${env:BENCH_DIR}", env["BENCH_DIR"])
            config = {
                "schema_prefix": item["name"],
                "database": database.replace("{name}", item["name"]),
            }
            body = {
                "group_id": group_id,
                "service": "sqlite",
                "paused": True,
                "schedule_type": "manual",
                "config": config,
            }
            connection_id = atlas("POST", "/v1/connections", body)["id"]
            atlas(
                "POST",
                f"/v1/connections/{connection_id}/schemas/reload",
                {"exclude_mode": "PRESERVE"},
            )
            tables = {
                "employees": {"columns": {"email": {"hashed": True}, "ssn": {"enabled": False}}},
                "payroll": {"enabled": False},
            }
            patch = {
                "schema_change_handling": "ALLOW_COLUMNS",
                "schemas": {"main": {"tables": tables}},
            }
            atlas("PATCH", f"/v1/connections/{connection_id}/schemas", patch)
            atlas("PATCH", f"/v1/connections/{connection_id}", {"paused": False})
    return time.perf_counter() - started, calls


def main() -> None:
    bench_started = time.perf_counter()
    cli = parser(__doc__, sizes=sorted(SIZES))
    cli.add_argument("--latency", type=float, default=0.05, help="Seconds added to every API call.")
    cli.add_argument("--workers", type=int, default=8, help="Apply's write workers.")
    cli.add_argument("--read-workers", type=int, default=32, help="A plan's read workers.")
    cli.add_argument(
        "--time-scale", type=float, default=None, help="Fivetran seconds per real second."
    )
    args = cli.parse_args()
    size = SIZES[args.size]
    scale = args.time_scale or size.time_scale
    work = Path(tempfile.mkdtemp(prefix="bench-provision-"))
    try:
        _run(args, size, scale, work, bench_started)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@dataclass(frozen=True)
class Applied:
    seconds: float
    calls: int
    rate_limited: int
    mean_ms: float
    verified: bool


def apply_from_empty(
    args: argparse.Namespace, estate_path: Path, server: Server, work: Path, scale: float
) -> tuple[Applied, object]:
    """Plan and apply the estate on an empty server; time the apply, then verify with a plan."""
    rec = reconciler(estate_path, server, work, time_scale=scale, workers=args.workers,
                     read_workers=args.read_workers, state=f"state-{server.port}")  # fmt: skip
    plan = rec.plan()
    _, index = server.requests_since()
    started = time.perf_counter()
    result = apply_plan(plan, rec.client, environment=rec.environment,
                        fingerprints=rec.fingerprints, workers=args.workers)  # fmt: skip
    seconds = time.perf_counter() - started
    log, _ = server.requests_since(index)
    if not result.ok:
        print("apply failed:", *result.failures()[:10], sep="\n  ")
        sys.exit(1)
    verified = rec.plan().is_empty
    mean_ms = sum(e["duration_ms"] for e in log) / len(log)
    return Applied(seconds, len(log), rate_limited(log), mean_ms, verified), rec


def _run(
    args: argparse.Namespace, size: Size, scale: float, work: Path, bench_started: float
) -> None:
    connections = size.groups * PER_GROUP
    seed_demo(work / "sources", departments=PER_GROUP, rows=5)
    (work / "warehouse").mkdir()
    env = bench_env(work)
    print(
        f"estate: {size.groups} groups x {PER_GROUP} = {connections} connections; "
        f"time scale {scale:g}x; +{args.latency * 1000:.0f} ms per call; "
        f"{args.workers} write workers, {args.read_workers} read workers"
    )
    estate_path = work / "estate.yaml"
    with Server(work / "emulator", scale, args.latency) as server:
        write_estate(estate_path, size.groups, server.base_url)
        applied, rec = apply_from_empty(args, estate_path, server, work, scale)
        limits = floors(size.groups, scale, args.latency, args.workers)
        binding = max(limits, key=limits.get)
        floor = limits[binding]
        print(f"\napply from empty: {applied.seconds:.1f} s, {applied.calls} calls "
              f"(mean {applied.mean_ms:.0f} ms each, {applied.rate_limited} answered 429); "
              f"verified: {applied.verified}")  # fmt: skip
        for name, value in limits.items():
            print(f"  floor by {name}: {value:.1f} s{'  <- binding' if name == binding else ''}")
        print(f"  ratio to the floor: {applied.seconds / floor:.2f}x (target <= 1.2x)")

        _, index = server.requests_since()
        started = time.perf_counter()
        converged = rec.plan()
        plan_seconds = time.perf_counter() - started
        log, _ = server.requests_since(index)
        minimum = minimum_plan_calls(connections, size.groups)
        latency_floor = plan_floor(minimum, args.latency, args.read_workers)
        plan_calls = len(log)
        print(f"\nplan of the converged estate: {plan_calls} calls in {plan_seconds:.2f} s; "
              f"empty: {converged.is_empty}")  # fmt: skip
        print(f"  minimum {minimum} calls: ratio {plan_calls / minimum:.3f}x (target <= 1.1x)")
        ratio = plan_seconds / latency_floor
        print(f"  latency floor {latency_floor:.2f} s ({minimum} x {args.latency * 1000:.0f} ms "
              f"/ {args.read_workers}): ratio {ratio:.2f}x (target <= 1.3x)")  # fmt: skip
        server_rss = server.peak_rss_mb()

    seed_scale = size.seed_time_scale
    seed_groups = min(size.seed_groups, size.groups)
    seed_connections = seed_groups * PER_GROUP
    seed_estate = work / "seed-estate.yaml"
    with Server(work / "emulator-ours-seed-scale", seed_scale, args.latency) as server:
        write_estate(seed_estate, seed_groups, server.base_url)
        ours_at_seed_scale, _ = apply_from_empty(args, seed_estate, server, work, seed_scale)
    with Server(work / "emulator-seed", seed_scale, args.latency) as server:
        seed_seconds, seed_calls = seed_style_loop(server, seed_estate, seed_groups, env)
    cap_floor = floors(seed_groups, seed_scale, args.latency, 1)["connection creates"]
    print(f"\nat {seed_scale:g}x, {seed_connections} connections from empty (create-cap floor "
          f"{cap_floor:.1f} s): ours {ours_at_seed_scale.seconds:.1f} s, sequential seed-style "
          f"loop {seed_seconds:.1f} s ({seed_calls} calls)")  # fmt: skip
    client_rss = self_peak_rss_mb()
    print(f"\npeak RSS: this process {client_rss:.0f} MB, local Fivetran {server_rss:.0f} MB")
    figures = [
        Figure("apply_vs_floor", f"apply from empty, {connections:,} connections", applied.seconds,
               "s", at_most(1.2, ratio=True), baseline=floor,
               baseline_name=f"floor by {binding}", peak_rss_mb=client_rss,
               note=f"{applied.calls} calls, mean {applied.mean_ms:.0f} ms, "
                    f"{applied.rate_limited} answered 429; re-plan empty: {applied.verified}"),
        Figure("apply_vs_seed_loop",
               f"apply from empty beside the seed-style loop ({seed_connections} connections at "
               f"{seed_scale:g}x)",
               ours_at_seed_scale.seconds, "s", baseline=seed_seconds,
               baseline_name="sequential seed-style loop", peak_rss_mb=client_rss,
               note=f"create-cap floor {cap_floor:.1f} s; loop made {seed_calls} calls, ours "
                    f"{ours_at_seed_scale.calls}"),
        Figure("plan_api_calls", "plan of the converged estate: API calls", plan_calls,
               "calls", at_most(1.1, ratio=True), baseline=minimum,
               baseline_name="listing pages + schema reads", peak_rss_mb=client_rss,
               note=f"empty: {converged.is_empty}"),
        Figure("plan_seconds",
               f"plan of the converged estate: wall time at {args.latency * 1000:.0f} ms latency",
               plan_seconds, "s", at_most(1.3, ratio=True), baseline=latency_floor,
               baseline_name=f"latency floor (min calls x latency / {args.read_workers})",
               peak_rss_mb=client_rss),
    ]  # fmt: skip
    details = {
        "groups": size.groups, "connections": connections, "time_scale": scale,
        "latency_s": args.latency, "workers": args.workers, "read_workers": args.read_workers,
        "floors_s": limits, "apply_calls": applied.calls, "apply_429s": applied.rate_limited,
        "server_peak_rss_mb": server_rss, "seed_time_scale": seed_scale,
        "seed_connections": seed_connections, "seed_loop_seconds": seed_seconds,
        "seed_loop_calls": seed_calls, "ours_at_seed_scale_429s": ours_at_seed_scale.rate_limited,
        "create_cap_floor_at_seed_scale_s": cap_floor,
    }  # fmt: skip
    finish("provision", args.size, figures, json_path=args.json, details=details,
           started=bench_started)  # fmt: skip


if __name__ == "__main__":
    main()
