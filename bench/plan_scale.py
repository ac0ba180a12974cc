"""A plan of a converged 10,000-connection estate: API calls against the minimum, wall time
against the latency floor.

The estate (2,000 groups x 5 SQLite connections, each with a schema selection) is provisioned
by the project's own apply on a local Fivetran without rate limits or latency (the create cap
would make that take a hundred Fivetran hours). The same state is then served again as
Fivetran serves it: documented rate limits on, 50 ms added to every call, in its own process.
The plan (the reconciler's, `account.read_concurrency` = 32 read workers, paced by the client's
rate limiter) must make exactly the minimum calls (one per listing page of 1,000, one schema
read per connection) in at most 1.3x the latency floor (minimum calls x latency / read
workers). Best of `rounds` plans; every round must be empty and make the minimum calls.

    .venv/bin/python -m bench.plan_scale --size tiny   # 100 x 5 = 500 connections, seconds
    .venv/bin/python -m bench.plan_scale --size full   # 2,000 x 5 = 10,000, a few minutes
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import Figure, at_most, finish, parser, self_peak_rss_mb
from bench.local_estate import (
    PER_GROUP,
    Server,
    minimum_plan_calls,
    plan_floor,
    rate_limited,
    reconciler,
    write_estate,
)
from fivetran_assets.emulator.dataplane.seed import seed_demo

SIZES = {"tiny": (100, 1), "full": (2000, 2)}  # groups, rounds
TIME_SCALE = 600.0
SETUP_WORKERS = 32


def provision(work: Path, estate_path: Path, groups: int) -> tuple[float, int]:
    """Apply the estate from empty on an unlimited, latency-free server; seconds taken and the
    server's port (served again on the same one: the estate's secret fingerprints are per URL)."""
    started = time.perf_counter()
    with Server(work / "emulator", TIME_SCALE, 0.0, rate_limits=False) as server:
        write_estate(estate_path, groups, server.base_url)
        rec = reconciler(estate_path, server, work, time_scale=TIME_SCALE, paced=False,
                         workers=SETUP_WORKERS, read_workers=SETUP_WORKERS)  # fmt: skip
        report = rec.apply(rec.plan())
        if not report.ok:
            print("setting up the estate failed:", *report.result.failures()[:10], sep="\n  ")
            sys.exit(1)
    return time.perf_counter() - started, server.port


def main() -> int:
    bench_started = time.perf_counter()
    cli = parser(__doc__, sizes=sorted(SIZES))
    cli.add_argument("--latency", type=float, default=0.05, help="Seconds added to every API call.")
    cli.add_argument("--read-workers", type=int, default=32)
    args = cli.parse_args()
    groups, rounds = SIZES[args.size]
    connections = groups * PER_GROUP
    work = Path(tempfile.mkdtemp(prefix="bench-plan-scale-"))
    try:
        seed_demo(work / "sources", departments=PER_GROUP, rows=5)
        (work / "warehouse").mkdir()
        estate_path = work / "estate.yaml"
        setup, port = provision(work, estate_path, groups)
        print(f"estate: {groups:,} groups x {PER_GROUP} = {connections:,} connections, "
              f"applied in {setup:.1f} s")  # fmt: skip
        minimum = minimum_plan_calls(connections, groups)
        floor = plan_floor(minimum, args.latency, args.read_workers)
        walls: list[float] = []
        calls: list[int] = []
        limited = 0
        with Server(work / "emulator", TIME_SCALE, args.latency, port=port) as server:
            rec = reconciler(estate_path, server, work, time_scale=TIME_SCALE, workers=8,
                             read_workers=args.read_workers)  # fmt: skip
            for _ in range(rounds):
                _, index = server.requests_since()
                started = time.perf_counter()
                plan = rec.plan()
                walls.append(time.perf_counter() - started)
                log, _ = server.requests_since(index)
                calls.append(len(log))
                limited += rate_limited(log)
                print(f"plan: {len(log):,} calls in {walls[-1]:.2f} s, empty: {plan.is_empty}")
                if not plan.is_empty:
                    print("the converged estate planned changes:", plan.summary())
                    return 1
            server_rss = server.peak_rss_mb()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    best = min(walls)
    print(f"minimum {minimum:,} calls; latency floor {floor:.2f} s "
          f"({args.latency * 1000:.0f} ms x calls / {args.read_workers}); "
          f"best wall {best:.2f} s = {best / floor:.2f}x (target <= 1.3x)")  # fmt: skip
    rss = self_peak_rss_mb()
    size = f"{connections:,} connections"
    figures = [
        Figure("plan_scale_calls", f"plan of a converged estate of {size}: API calls",
               max(calls), "calls", at_most(1.0, ratio=True), baseline=minimum,
               baseline_name="listing pages + schema reads", peak_rss_mb=rss,
               note=f"{limited} answered 429"),
        Figure("plan_scale_seconds",
               f"plan of a converged estate of {size}: wall time at "
               f"{args.latency * 1000:.0f} ms latency (best of {rounds})",
               best, "s", at_most(1.3, ratio=True), baseline=floor,
               baseline_name=f"latency floor (min calls x latency / {args.read_workers})",
               peak_rss_mb=rss, note=f"local Fivetran peak RSS {server_rss:.0f} MB"),
    ]  # fmt: skip
    details = {"groups": groups, "connections": connections, "setup_seconds": round(setup, 1),
               "walls_s": [round(w, 3) for w in walls], "calls": calls,
               "read_workers": args.read_workers, "latency_s": args.latency}  # fmt: skip
    finish("plan_scale", args.size, figures, json_path=args.json, details=details,
           started=bench_started)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
