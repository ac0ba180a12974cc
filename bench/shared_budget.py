"""One API budget for a deployment: three processes against one local Fivetran.

Three processes, each building its Fivetran client the project's way, run at once against a
local Fivetran (its own process, time-scaled) whose account limit equals the budget the config
gives the client (`account.rate_budget.requests_per_hour`):

- `plan`: `Reconciler.plan()` in a loop (the CLI's plan, without the process start);
- `sensor`: the project's `fivetran_sync_polling_sensor` evaluated tick after tick;
- `sync`: the `sync_all` job executed again and again (in process).

Ours: they share the budget through the state database (`state.sqlite` in one state folder).
Baseline: the same three with a state folder each, so each process believes the whole budget is
its own (the first wave's behaviour, measured in the issue). Figures from the local Fivetran's
request log: responses 429, and the most requests that reached it in any rolling (Fivetran)
hour, against the budget.

    .venv/bin/python -m bench.shared_budget --size tiny   # 6 s per phase
    .venv/bin/python -m bench.shared_budget --size full   # 60 s per phase

Targets (issue 12): 0 responses 429; no window over the budget.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import requests
import yaml

from bench.harness import Figure, at_most, finish, parser, self_peak_rss_mb
from bench.local_estate import KEY, ROOT, SECRET, Server, bench_env, rate_limited
from fivetran_assets.emulator.dataplane.seed import department_names, seed_demo

SECONDS = {"tiny": 6.0, "full": 60.0}
TIME_SCALE = 3600.0  # a Fivetran hour lasts a second
BUDGET = 40  # requests per (Fivetran) hour: the server's limit and the client's budget
ROLES = ("plan", "sensor", "sync")
DAGSTER_SCHEDULED, FIVETRAN_SCHEDULED = 3, 2


def write_budget_estate(path: Path, base_url: str) -> None:
    names = department_names(DAGSTER_SCHEDULED + FIVETRAN_SCHEDULED)

    def template(scheduled_by: str, items: list[str]) -> dict:
        return {
            "service": "sqlite",
            "config": {"database": "${env:BENCH_DIR}/sources/{name}.sqlite"},
            "scheduled_by": scheduled_by,
            "sync_frequency": 1440,
            "for_each": [{"name": n} for n in items],
        }

    data = {
        "account": {
            "base_url": base_url,
            "api_key_env": "BENCH_KEY",
            "api_secret_env": "BENCH_SECRET",
            "rate_budget": {"requests_per_hour": BUDGET},
        },
        "groups": [
            {
                "name": "budget",
                "destination": {
                    "service": "duckdb",
                    "config": {"path": "${env:BENCH_DIR}/warehouse/budget.duckdb"},
                },
                "connections": [
                    template("dagster", names[:DAGSTER_SCHEDULED]),
                    template("fivetran", names[DAGSTER_SCHEDULED:]),
                ],
            }
        ],
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def environment(work: Path, estate: Path, state: Path) -> dict[str, str]:
    env = {
        **os.environ,
        **bench_env(work),
        "FIVETRAN_TIME_SCALE": str(TIME_SCALE),
        "FIVETRAN_ASSETS_CONFIG": str(estate),
        "FIVETRAN_ASSETS_STATE_DIR": str(state),
        "FIVETRAN_ASSETS_SNAPSHOT": str(work / "snapshot.json"),
        "FIVETRAN_ASSETS_EVENT_LOG": "off",
    }
    env.pop("FIVETRAN_ASSETS_RATE_STATE", None)
    return env


def set_up(server: Server, work: Path, estate: Path) -> None:
    """Create the estate (the server's full limits) and write the snapshot the sensor needs."""
    from fivetran_assets.estate import load_estate
    from fivetran_assets.estate.connect import client_for
    from fivetran_assets.reconcile.service import Reconciler
    from fivetran_assets.snapshot.store import write_snapshot

    env = environment(work, estate, work / "setup-state")
    loaded = load_estate(estate, root=ROOT)
    variables = loaded.environment(env)
    client = client_for(loaded, variables)
    reconciler = Reconciler(loaded, client, environment=variables, refresh_snapshot=False)
    report = reconciler.apply(reconciler.plan())
    if not report.ok:
        raise RuntimeError(f"setting up the estate failed: {report.describe()}")
    write_snapshot(client, loaded, work / "snapshot.json", dbt=False)


def phase(server: Server, work: Path, estate: Path, *, shared: bool, seconds: float) -> dict:
    """Run the three workers for `seconds` after they are all ready; read the request log."""
    auth = (KEY, SECRET)
    limits = {"account_per_hour": BUDGET}
    requests.patch(server.base_url + "/_local/rate-limits", json=limits, auth=auth, timeout=30)
    name = "shared" if shared else "alone"
    workers = []
    for role in ROLES:
        state = work / f"state-{name}" if shared else work / f"state-{name}-{role}"
        command = [sys.executable, "-m", "bench.shared_budget", "--worker", role,
                   "--seconds", str(seconds), "--config", str(estate)]  # fmt: skip
        workers.append(
            subprocess.Popen(
                command,
                env=environment(work, estate, state),
                cwd=ROOT,
                text=True,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        )
    for worker in workers:
        assert worker.stdout is not None
        if worker.stdout.readline().strip() != "ready":
            raise RuntimeError(f"a {name} worker did not start")
    requests.delete(server.base_url + "/_local/rate-limits", auth=auth, timeout=30)
    _, start = server.requests_since()
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    done = {
        role: w.communicate(timeout=seconds + 600)[0].strip()
        for role, w in zip(ROLES, workers, strict=True)
    }
    log, _ = server.requests_since(start)
    log = [entry for entry in log if entry["path"].startswith("/v1/")]
    return {
        "requests": len(log),
        "responses_429": rate_limited(log),
        "busiest_hour": busiest_window(log, 3600.0),
        "work_done": done,
    }


def busiest_window(log: list[dict], seconds: float) -> int:
    """The most requests that arrived within any `seconds` of Fivetran time."""
    times = sorted(datetime.fromisoformat(e["at"].replace("Z", "+00:00")).timestamp() for e in log)
    most, first = 0, 0
    for last, at in enumerate(times):
        while times[first] <= at - seconds:
            first += 1
        most = max(most, last - first + 1)
    return most


def run(size: str) -> dict[str, object]:
    seconds = SECONDS[size]
    with tempfile.TemporaryDirectory(prefix="bench-budget-") as tmp:
        work = Path(tmp)
        seed_demo(work / "sources", departments=DAGSTER_SCHEDULED + FIVETRAN_SCHEDULED, rows=20)
        (work / "warehouse").mkdir()
        with Server(work / "emulator", TIME_SCALE, latency=0.0) as server:
            estate = work / "estate.yaml"
            write_budget_estate(estate, server.base_url)
            set_up(server, work, estate)
            ours = phase(server, work, estate, shared=True, seconds=seconds)
            alone = phase(server, work, estate, shared=False, seconds=seconds)
    return {"benchmark": "shared_budget", "size": size, "seconds": seconds, "budget": BUDGET,
            "time_scale": TIME_SCALE, "shared": ours, "alone": alone}  # fmt: skip


# -- the three workers -----------------------------------------------------------------------


def worker(role: str, config: str, seconds: float) -> int:
    """Import and build everything, say `ready`, wait for `go`, then work for `seconds`."""
    if role == "plan":
        from fivetran_assets.estate import load_estate
        from fivetran_assets.estate.connect import client_for
        from fivetran_assets.reconcile.service import Reconciler

        estate = load_estate(config, root=ROOT)
        reconciler = Reconciler(estate, client_for(estate), refresh_snapshot=False)

        def step() -> None:
            reconciler.plan()

    else:
        import dagster as dg

        from fivetran_assets.dagster.build import load_fivetran_definitions

        # The estate's definitions from the snapshot file set_up wrote ($FIVETRAN_ASSETS_SNAPSHOT;
        # the project's own code location reads its component's state instead).
        defs = load_fivetran_definitions(config)

        instance = dg.DagsterInstance.ephemeral()
        if role == "sensor":
            repository = defs.get_repository_def()
            sensor = repository.get_sensor_def("fivetran_sync_polling_sensor")
            cursor: list[str | None] = [None]

            def step() -> None:
                with dg.build_sensor_context(
                    instance=instance,
                    cursor=cursor[0],
                    repository_def=repository,
                    resources=defs.resources,
                ) as context:
                    cursor[0] = sensor.evaluate_tick(context).cursor
                time.sleep(0.05)

        else:
            job = defs.get_job_def("sync_all")

            def step() -> None:
                job.execute_in_process(instance=instance, raise_on_error=False)

    print("ready", flush=True)
    sys.stdin.readline()
    deadline = time.monotonic() + seconds
    steps = 0
    while time.monotonic() < deadline:
        step()
        steps += 1
    print(f"{steps} {role} step(s)", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    cli = parser(__doc__, sizes=sorted(SECONDS))
    cli.add_argument("--worker", choices=ROLES, help=argparse.SUPPRESS)
    cli.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    cli.add_argument("--config", help=argparse.SUPPRESS)
    args = cli.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.config, args.seconds)
    details = run(args.size)
    ours, alone = details["shared"], details["alone"]
    rss = self_peak_rss_mb()
    figures = [
        Figure(
            "budget_429s",
            "responses 429, three processes (plan loop, polling sensor, sync_all) on one budget",
            ours["responses_429"],
            "responses",
            at_most(0),
            baseline=alone["responses_429"],
            baseline_name="each process with its own budget (the first wave)",
            peak_rss_mb=rss,
        ),
        Figure(
            "budget_busiest_hour",
            f"most requests in a rolling Fivetran hour (budget {BUDGET})",
            ours["busiest_hour"],
            "requests",
            at_most(BUDGET),
            baseline=alone["busiest_hour"],
            baseline_name="each process with its own budget",
            peak_rss_mb=rss,
            note=f"{ours['requests']} requests in {details['seconds']:.0f} s (x{TIME_SCALE:.0f})",
        ),
    ]
    finish("shared_budget", args.size, figures, json_path=args.json, details=details,
           started=started)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
