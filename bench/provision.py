"""Provisioning at scale: apply from empty and plan of a converged estate, against their floors.

Estate: G groups x 5 connections, every connection with a schema selection (a shared selection
hashing a column, blocking one and disabling a table), on the local Fivetran started as its own
process with Fivetran's documented limits (20,000 requests/hour, 20 connection creates/minute,
100/hour, setup-test and source-call limits), time-scaled, and 50 ms added to every API call.

Reported:
- apply from empty: makespan, API calls, and its ratio to the floor set by the binding limit
  (connection creates per rolling minute/hour, requests per hour, or minimum calls x latency /
  workers); beside it, a sequential create-one-at-a-time loop in the style of the seed's scripts
  (new HTTP connection per call, honouring Retry-After so it can finish) on a fresh server in the
  same run: on every group for `tiny`, on a sample of groups for `full` (extrapolated per
  connection, never below the create-cap floor; the sample size is printed);
- plan of the converged estate: API calls against the minimum (one call per listing page plus
  one schema read per connection) and wall time;
- peak RSS of this process (client side) and of the local Fivetran.

    .venv/bin/python -m bench.provision --size tiny [--json PATH]  # 10 x 5, seconds
    .venv/bin/python -m bench.provision --size full [--json PATH]  # 200 x 5 = 1,000, minutes
"""

from __future__ import annotations

import argparse
import math
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import Figure, at_most, finish, parser, self_peak_rss_mb  # noqa: E402
from fivetran_assets.emulator.dataplane.seed import department_names, seed_demo  # noqa: E402
from fivetran_assets.estate import load_estate  # noqa: E402
from fivetran_assets.fivetran.client import FivetranClient  # noqa: E402
from fivetran_assets.fivetran.ratelimit import RateBudget  # noqa: E402
from fivetran_assets.reconcile.applier import apply_plan  # noqa: E402
from fivetran_assets.reconcile.service import Reconciler  # noqa: E402

KEY, SECRET = "bench_key", "bench_secret"
PER_GROUP = 5
CREATES_PER_MINUTE, CREATES_PER_HOUR, REQUESTS_PER_HOUR = 20, 100, 20_000
CALLS_PER_GROUP = 2  # create group, create destination (its setup tests run within the create)
CALLS_PER_CONNECTION = 4  # create (setup tests within), schema reload, schema patch, unpause
MARGIN_SECONDS = 0.1  # above the added latency, so the server never sees a window overrun


@dataclass(frozen=True)
class Size:
    groups: int
    baseline_groups: int
    time_scale: float


SIZES = {"tiny": Size(10, 3, 600.0), "full": Size(200, 20, 600.0)}

SELECTION = {
    "schema_change_handling": "ALLOW_COLUMNS",
    "tables": {
        "employees": {"columns": {"email": {"hashed": True}, "ssn": {"enabled": False}}},
        "payroll": {"enabled": False},
    },
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`fivetran-assets emulator serve` in its own process, with latency injected on /v1."""

    def __init__(self, state: Path, time_scale: float, latency: float) -> None:
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        command = [
            str(Path(sys.executable).with_name("fivetran-assets")), "emulator", "serve",
            "--port", str(self.port), "--state", str(state), "--api-key", KEY,
            "--api-secret", SECRET, "--time-scale", str(time_scale),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(self.base_url + "/_local/faults", auth=(KEY, SECRET), timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("the local Fivetran did not start") from None
                time.sleep(0.1)
        rule = {"kind": "delay", "path": "/v1/*", "seconds": latency, "count": -1}
        requests.post(
            self.base_url + "/_local/faults", json=rule, auth=(KEY, SECRET), timeout=5
        ).raise_for_status()

    def requests_since(self, index: int = 0) -> tuple[list[dict], int]:
        answer = requests.get(
            self.base_url + "/_local/requests",
            params={"since": index},
            auth=(KEY, SECRET),
            timeout=30,
        ).json()
        return answer["items"], answer["next_index"]

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def write_estate(path: Path, groups: int, base_url: str) -> None:
    names = department_names(PER_GROUP)
    data = {
        "account": {
            "base_url": base_url,
            "api_key_env": "BENCH_KEY",
            "api_secret_env": "BENCH_SECRET",
        },
        "selections": {"department_default": SELECTION},
        "groups": [
            {
                "name": f"bench_{g:03d}",
                "destination": {
                    "service": "duckdb",
                    "config": {"path": f"${{env:BENCH_DIR}}/warehouse/bench_{g:03d}.duckdb"},
                },
                "connections": [
                    {
                        "service": "sqlite",
                        "config": {"database": "${env:BENCH_DIR}/sources/{name}.sqlite"},
                        "scheduled_by": "dagster",
                        "schema": {"use": "department_default"},
                        "for_each": [{"name": n} for n in names],
                    }
                ],
            }
            for g in range(groups)
        ],
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))


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
    cli.add_argument("--workers", type=int, default=8)
    cli.add_argument(
        "--time-scale", type=float, default=None, help="Fivetran seconds per real second."
    )
    args = cli.parse_args()
    size = SIZES[args.size]
    scale = args.time_scale or size.time_scale
    connections = size.groups * PER_GROUP
    work = Path(tempfile.mkdtemp(prefix="bench-provision-"))
    try:
        _run(args, size, scale, connections, work, bench_started)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(
    args: argparse.Namespace,
    size: Size,
    scale: float,
    connections: int,
    work: Path,
    bench_started: float,
) -> None:
    seed_demo(work / "sources", departments=PER_GROUP, rows=5)
    (work / "warehouse").mkdir()
    env = {"BENCH_KEY": KEY, "BENCH_SECRET": SECRET, "BENCH_DIR": str(work)}
    print(
        f"estate: {size.groups} groups x {PER_GROUP} = {connections} connections; "
        f"time scale {scale:g}x; +{args.latency * 1000:.0f} ms per call; {args.workers} workers"
    )

    server = Server(work / "emulator", scale, args.latency)
    try:
        estate_path = work / "estate.yaml"
        write_estate(estate_path, size.groups, server.base_url)
        estate = load_estate(estate_path, root=ROOT)
        # The limiter's safety margin (1 s by default, for real hours) must shrink with the
        # time scale: 1 s at 600x would be ten Fivetran minutes added to every window.
        budget = RateBudget(time_scale=scale, margin_seconds=MARGIN_SECONDS)
        client = FivetranClient(KEY, SECRET, base_url=server.base_url, rate_budget=budget)
        reconciler = Reconciler(
            estate, client, environment=estate.environment(env), state_dir=work / "state",
            workers=args.workers, refresh_snapshot=False,
        )  # fmt: skip
        plan = reconciler.plan()
        _, index = server.requests_since()
        started = time.perf_counter()
        result = apply_plan(
            plan, client, environment=reconciler.environment,
            fingerprints=reconciler.fingerprints, workers=args.workers,
        )  # fmt: skip
        makespan = time.perf_counter() - started
        log, index = server.requests_since(index)
        if not result.ok:
            print("apply failed:", *result.failures()[:10], sep="\n  ")
            sys.exit(1)
        started = time.perf_counter()
        verification = reconciler.plan()
        verify_seconds = time.perf_counter() - started
        _, index = server.requests_since(index)
        mean_ms = sum(e["duration_ms"] for e in log) / len(log)
        apply_calls = len(log)
        limits = floors(size.groups, scale, args.latency, args.workers)
        binding = max(limits, key=limits.get)
        floor = limits[binding]
        print(
            f"\napply from empty: {makespan:.1f} s, {len(log)} calls (mean {mean_ms:.0f} ms each)"
        )
        print(
            f"  verification (a fresh plan): {verify_seconds:.1f} s, empty: {verification.is_empty}"
        )
        for name, value in limits.items():
            print(f"  floor by {name}: {value:.1f} s{'  <- binding' if name == binding else ''}")
        print(f"  ratio to the floor: {makespan / floor:.2f}x (target <= 1.2x)")

        started = time.perf_counter()
        converged = reconciler.plan()
        plan_seconds = time.perf_counter() - started
        log, index = server.requests_since(index)
        pages = 6 * max(1, math.ceil(connections / 1000))
        minimum = connections + pages
        plan_calls = len(log)
        print(
            f"\nplan of the converged estate: {plan_calls} calls in {plan_seconds:.1f} s; "
            f"empty: {converged.is_empty}"
        )
        print(f"  minimum: {pages} listing pages + {connections} schema reads = {minimum}; "
              f"ratio {len(log) / minimum:.3f}x (target <= 1.1x)")  # fmt: skip
        server_rss = server.peak_rss_mb()
    finally:
        server.stop()

    baseline_server = Server(work / "emulator-baseline", scale, args.latency)
    try:
        sample = min(size.baseline_groups, size.groups)
        seconds, calls = seed_style_loop(baseline_server, estate_path, sample, env)
    finally:
        baseline_server.stop()
    sampled = sample * PER_GROUP
    if sample == size.groups:
        baseline, how = seconds, "measured on the whole estate"
    else:
        per_connection = seconds / sampled
        baseline = max(
            per_connection * connections,
            floors(size.groups, scale, args.latency, 1)["connection creates"],
        )
        how = f"extrapolated from {sampled} connections measured ({seconds:.1f} s, {calls} calls)"
    print(f"\nsequential seed-style loop: {baseline:.1f} s ({how})")
    print(f"  reconciler speed-up over it: {baseline / makespan:.1f}x")
    client_rss = self_peak_rss_mb()
    print(f"\npeak RSS: this process {client_rss:.0f} MB, local Fivetran {server_rss:.0f} MB")
    figures = [
        Figure("apply_vs_floor", f"apply from empty, {connections:,} connections", makespan,
               "s", at_most(1.2, ratio=True), baseline=floor,
               baseline_name=f"floor by {binding}", peak_rss_mb=client_rss,
               note=f"{apply_calls} calls, mean {mean_ms:.0f} ms; re-plan empty: "
                    f"{verification.is_empty}"),
        Figure("apply_vs_seed_loop", "apply from empty beside the seed-style loop", makespan,
               "s", baseline=baseline, baseline_name="sequential seed-style loop",
               peak_rss_mb=client_rss, note=how),
        Figure("plan_api_calls", "plan of the converged estate: API calls", plan_calls,
               "calls", at_most(1.1, ratio=True), baseline=minimum,
               baseline_name="listing pages + schema reads", peak_rss_mb=client_rss,
               note=f"empty: {converged.is_empty}"),
        Figure("plan_seconds", "plan of the converged estate: wall time", plan_seconds, "s",
               peak_rss_mb=client_rss),
    ]  # fmt: skip
    details = {
        "groups": size.groups, "connections": connections, "time_scale": scale,
        "latency_s": args.latency, "workers": args.workers, "floors_s": limits,
        "apply_calls": apply_calls, "verify_seconds": verify_seconds,
        "server_peak_rss_mb": server_rss, "seed_loop_seconds_measured": seconds,
        "seed_loop_calls_measured": calls, "seed_loop_connections_measured": sampled,
    }  # fmt: skip
    finish("provision", args.size, figures, json_path=args.json, details=details,
           started=bench_started)  # fmt: skip


if __name__ == "__main__":
    main()
