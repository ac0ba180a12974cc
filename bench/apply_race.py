"""Simultaneous applies: pairs of `fivetran-assets apply --yes` started at once on one estate.

Estate: G groups x 5 SQLite connections, each group with a webhook, on the local Fivetran in its
own process (60x, Fivetran's documented limits). Each pair starts from an empty account (the
server is reset) and a fresh state folder the pair shares, as two CI jobs or a CI job and the
`provision_fivetran` job would. Afterwards the account is listed and every copy beyond the first
of a group (by name), webhook (by group and URL) or connection (by group and schema) counts as a
duplicate.

Baseline: the same race with the first wave's apply (plan then apply, no lock), as
`Reconciler(...).apply(reconciler.plan())` in two processes: what the issue measured.

Targets (issue 12): 0 duplicates of any kind; every process exits 0 or with the lock-timeout
message.

    .venv/bin/python -m bench.apply_race --size tiny   # 1 pair, 2 x 5 connections
    .venv/bin/python -m bench.apply_race --size full   # 8 pairs, 10 x 5 = 50 connections
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
import yaml

from bench.harness import Figure, at_most, finish, parser, self_peak_rss_mb
from bench.local_estate import KEY, PER_GROUP, ROOT, SECRET, Server, bench_env, write_estate
from fivetran_assets.emulator.dataplane.seed import seed_demo
from fivetran_assets.fivetran.client import FivetranClient

SIZES = {"tiny": (1, 2), "full": (8, 10)}  # pairs, groups of 5 connections
TIME_SCALE = 60.0
LOCK_MESSAGE = "another apply holds the lock"
WEBHOOK_SECRET = "bench-race-webhook-secret"

FIRST_WAVE_APPLY = """
import sys
from fivetran_assets.estate import load_estate
from fivetran_assets.estate.connect import client_for
from fivetran_assets.reconcile.service import Reconciler

estate = load_estate(sys.argv[1])
reconciler = Reconciler(estate, client_for(estate), refresh_snapshot=False)
report = reconciler.apply(reconciler.plan())
print(report.describe())
sys.exit(0 if report.ok else 1)
"""


class _Accept(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@contextmanager
def webhook_receiver() -> Iterator[str]:
    """Accepts every delivery (Fivetran tests a webhook's URL when it is created)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Accept)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/fivetran/webhook"
    finally:
        server.shutdown()
        server.server_close()


def write_race_estate(path: Path, groups: int, base_url: str, webhook_url: str) -> None:
    write_estate(path, groups, base_url)
    data = yaml.safe_load(path.read_text())
    for group in data["groups"]:
        group["webhooks"] = [
            {"url": webhook_url, "events": ["sync_end"], "secret": "${env:BENCH_WEBHOOK_SECRET}"}
        ]
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def duplicates(client: FivetranClient) -> dict[str, int]:
    """Copies beyond the first of each group, webhook and connection identity."""

    def extra(keys: list[object]) -> int:
        return sum(n - 1 for n in Counter(keys).values())

    return {
        "groups": extra([g.name for g in client.list_groups()]),
        "webhooks": extra([(w.group_id, w.url) for w in client.list_webhooks()]),
        "connections": extra([(c.group_id, c.schema) for c in client.list_connections()]),
    }


def race(
    server: Server, work: Path, estate: Path, pair: int, *, locked: bool
) -> tuple[dict[str, int], list[tuple[int, str]]]:
    """One pair from an empty account; returns the duplicates and each process's outcome."""
    auth = (KEY, SECRET)
    requests.post(server.base_url + "/_local/reset", auth=auth, timeout=30).raise_for_status()
    requests.delete(server.base_url + "/_local/rate-limits", auth=auth, timeout=30)
    state = work / f"state-{'locked' if locked else 'unlocked'}-{pair}"
    env = {
        **os.environ,
        **bench_env(work),
        "BENCH_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "FIVETRAN_TIME_SCALE": str(TIME_SCALE),
        "FIVETRAN_ASSETS_STATE_DIR": str(state),
        "FIVETRAN_ASSETS_SNAPSHOT": str(state / "snapshot.json"),
    }
    env.pop("FIVETRAN_ASSETS_RATE_STATE", None)
    if locked:
        command = [str(Path(sys.executable).with_name("fivetran-assets")), "apply", "--yes",
                   "--config", str(estate)]  # fmt: skip
    else:
        command = [sys.executable, "-c", FIRST_WAVE_APPLY, str(estate)]
    processes = [
        subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    outcomes = [(p.wait(timeout=900), p.stdout.read() if p.stdout else "") for p in processes]
    client = FivetranClient(KEY, SECRET, base_url=server.base_url, rate_budget=None)
    return duplicates(client), outcomes


def run(size: str) -> dict[str, object]:
    pairs, groups = SIZES[size]
    with tempfile.TemporaryDirectory(prefix="bench-race-") as tmp, webhook_receiver() as hook:
        work = Path(tmp)
        seed_demo(work / "sources", departments=PER_GROUP, rows=5)
        (work / "warehouse").mkdir()
        with Server(work / "emulator", TIME_SCALE, latency=0.0) as server:
            estate = work / "estate.yaml"
            write_race_estate(estate, groups, server.base_url, hook)
            results: dict[str, list] = {"locked": [], "unlocked": []}
            started = time.perf_counter()
            for pair in range(pairs):
                results["locked"].append(race(server, work, estate, pair, locked=True))
            locked_seconds = time.perf_counter() - started
            for pair in range(pairs):
                results["unlocked"].append(race(server, work, estate, pair, locked=False))
    locked = results["locked"]
    bad = [
        (code, out[-400:])
        for _, outcomes in locked
        for code, out in outcomes
        if code != 0 and LOCK_MESSAGE not in out
    ]
    return {
        "benchmark": "apply_race",
        "size": size,
        "pairs": pairs,
        "connections": groups * PER_GROUP,
        "duplicates_locked": sum(sum(d.values()) for d, _ in locked),
        "duplicates_unlocked": sum(sum(d.values()) for d, _ in results["unlocked"]),
        "duplicates_unlocked_by_kind": dict(
            sum((Counter(d) for d, _ in results["unlocked"]), Counter())
        ),
        "pairs_with_duplicates_unlocked": sum(1 for d, _ in results["unlocked"] if any(d.values())),
        "exits_locked": [code for _, outcomes in locked for code, _ in outcomes],
        "lock_timeouts": sum(LOCK_MESSAGE in out for _, outcomes in locked for _, out in outcomes),
        "waited_for_the_lock": sum(
            "Waiting up to" in out for _, outcomes in locked for _, out in outcomes
        ),
        "bad_exits": bad,
        "seconds_locked": round(locked_seconds, 2),
    }


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    args = parser(__doc__, sizes=sorted(SIZES)).parse_args(argv)
    details = run(args.size)
    pairs, connections = details["pairs"], details["connections"]
    figures = [
        Figure(
            "race_duplicates",
            f"duplicates after {pairs} pair(s) of simultaneous applies ({connections} connections)",
            details["duplicates_locked"],
            "resources",
            at_most(0),
            baseline=details["duplicates_unlocked"],
            baseline_name="the same race without the apply lock (the first wave's apply)",
            peak_rss_mb=self_peak_rss_mb(),
            note=f"{details['waited_for_the_lock']} of {2 * pairs} applies waited for the lock",
        ),
        Figure(
            "race_bad_exits",
            "applies that exited neither 0 nor with the lock-timeout message",
            len(details["bad_exits"]),
            "processes",
            at_most(0),
            peak_rss_mb=self_peak_rss_mb(),
        ),
    ]
    finish("apply_race", args.size, figures, json_path=args.json, details=details,
           started=started)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
