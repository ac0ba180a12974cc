"""Benchmark: API calls spent on one connection sync lasting 10 (Fivetran) minutes.

Runs a local Fivetran at `--time-scale` (60: ten minutes last ten seconds), creates one SQLite
connection whose syncs last at least `--minutes`, and counts the requests its request log saw
for that connection while `runs.run_sync` triggered and waited:

- polling, cold: no previous duration known anywhere (the connection's first sync ever; first
  look after 10 s, doubling to 60 s);
- polling, warm: the previous sync's duration known (the cold sync's: ten minutes), so the
  first look is timed just before the expected end. Dagster knows it from its own last run of
  the connection, or, for a connection only Fivetran has synced so far, from the start and end
  the webhook sensor recorded. Real syncs do not repeat their length, so each of `draws` warm
  syncs lasts a length drawn uniformly within +-30% of that history (seeded, so a rerun draws
  the same lengths): the mean and the worst count are reported (targets <= 6 and <= 10).

The cold case cannot meet 12 within the issue's rules: with looks at most 60 s apart, a sync
lasting at least 600 s needs at least 10 looks after the trigger's GET and POST, and in practice
11 (the look at 600 s still sees it running), so no cold schedule does better than 13, and that
one would look first after a full minute, making every short first sync wait 60 s. The default
keeps the 10 s first look; the cost falls only on a connection's first-ever sync.

- dagster-fivetran 0.29's `FivetranClient.sync_and_poll` with its default 10 s poll interval
  (divided by the time scale so it sees the same Fivetran time), run from `bench/.peer-venv`
  (created by `bench.definitions_load.peer_python` when missing) with `--peer`.

The webhook waiter (issue 7) costs GET, POST, GET, GET by construction and is measured by the
webhooks benchmark.
Sizes: `full` runs 12 warm draws at time scale 60 with the peer; `tiny` 3 at 600 without it
(`--peer` adds it).
Usage: python -m bench.sync_api_calls [--size tiny|full] [--json PATH] [--peer | --no-peer]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

KEY, SECRET = "bench_key", "bench_secret"

PEER = r"""
import sys
from dagster_fivetran import FivetranWorkspace
workspace = FivetranWorkspace(account_id="bench", api_key=sys.argv[1], api_secret=sys.argv[2])
workspace.get_client().sync_and_poll(sys.argv[3], poll_interval=10 / float(sys.argv[4]))
print("{}")
"""
MINUTES = 10
SCALES = {"tiny": (600.0, False, 3), "full": (60.0, True, 12)}  # time scale, peer, warm draws
VARIATION = 0.3  # a warm sync lasts its history +- 30%
SEED = 19


def _calls(base_url: str, since: int, connection_id: str) -> tuple[list[str], int]:
    body = requests.get(
        f"{base_url}/_local/requests", params={"since": since}, auth=(KEY, SECRET), timeout=5
    ).json()
    calls = [f"{e['method']} {e['path']}" for e in body["items"] if connection_id in e["path"]]
    return calls, body["next_index"]


def main() -> None:
    from bench.harness import Figure, at_most, finish, parser, self_peak_rss_mb

    cli = parser(__doc__)
    cli.add_argument("--peer", action=argparse.BooleanOptionalAction, default=None)
    args = cli.parse_args()
    scale, peer, draws = SCALES[args.size]
    peer = peer if args.peer is None else args.peer
    started = time.perf_counter()
    calls = measure(scale, peer=peer, draws=draws)
    baseline = {"baseline": calls["peer"], "baseline_name": "dagster-fivetran sync_and_poll"}
    if calls["peer"] is None:
        baseline = {}
    peak = self_peak_rss_mb()
    warm = calls["warm"]
    lengths = ", ".join(f"{s / 60:.1f}" for s in calls["lengths"])
    figures = [
        Figure(
            "calls_polling_warm",
            f"API calls per {MINUTES}-minute sync +-{VARIATION:.0%}, polling (history), mean",
            statistics.mean(warm),
            "calls",
            target=at_most(6),
            **baseline,
            peak_rss_mb=peak,
            note=f"{len(warm)} syncs of {lengths} minutes; calls {warm}",
        ),
        Figure(
            "calls_polling_warm_worst",
            f"API calls per {MINUTES}-minute sync +-{VARIATION:.0%}, polling (history), worst",
            max(warm),
            "calls",
            target=at_most(10),
            **baseline,
            peak_rss_mb=peak,
        ),
        Figure(
            "calls_polling_cold",
            f"API calls, one {MINUTES}-minute sync, polling (first sync)",
            calls["cold"],
            "calls",
            **baseline,
            peak_rss_mb=peak,
            note=(
                "first sync ever, no duration known: first look after 10 s, doubling to 60 s; "
                "with looks <= 60 s apart no cold schedule gets a 600 s sync under 13 calls "
                "without making short first syncs wait a minute (trade-off kept)"
            ),
        ),
    ]
    details = {"seed": SEED, "warm_calls": warm, "warm_lengths_s": calls["lengths"]}
    finish("sync_api_calls", args.size, figures, json_path=args.json, details=details,
           started=started)  # fmt: skip


def measure(scale: float, *, peer: bool, draws: int) -> dict[str, Any]:
    """Calls on the connection's paths for a cold polling wait, for `draws` warm ones of random
    length around the cold one's, and for the peer's."""
    from bench.peers import run_peer
    from fivetran_assets.dagster.runs import SyncRequest, run_sync
    from fivetran_assets.dagster.waiting import PollingSettings, PollingWaiter
    from fivetran_assets.emulator.dataplane.seed import seed_demo
    from fivetran_assets.emulator.server import EmulatorServer
    from fivetran_assets.fivetran.client import FivetranClient

    result: dict[str, Any] = {"peer": None}
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        root = Path(tmp)
        (source,) = seed_demo(root / "sources", departments=1, rows=100)
        with EmulatorServer(
            state_dir=root / "emulator", api_key=KEY, api_secret=SECRET, time_scale=scale
        ) as server:
            client = FivetranClient(KEY, SECRET, base_url=server.base_url, rate_budget=None)
            group = client.create_group("bench")
            client.create_destination(
                group.id,
                "duckdb",
                time_zone_offset="0",
                config={"path": str(root / "warehouse.duckdb")},
            )
            conn = client.create_connection(
                group.id,
                "sqlite",
                config={"database": str(source), "schema_prefix": "bench"},
                schedule_type="manual",
                paused=False,
                run_setup_tests=True,
            )

            def last(seconds: float) -> None:
                requests.post(
                    f"{server.base_url}/_local/connections/{conn.id}/settings",
                    json={"min_sync_seconds": seconds},
                    auth=server.auth,
                    timeout=5,
                ).raise_for_status()

            def counted(expected: float | None) -> tuple[float, float]:
                _, start = _calls(server.base_url, 0, conn.id)
                outcome = run_sync(
                    client,
                    SyncRequest(conn.id, expected_duration=expected),
                    waiter=waiter,
                    time_scale=scale,
                )
                calls, _ = _calls(server.base_url, start, conn.id)
                return float(len(calls)), outcome.duration_seconds

            waiter = PollingWaiter(PollingSettings(time_scale=scale))
            last(MINUTES * 60)
            result["cold"], history = counted(None)
            draw = random.Random(SEED)
            result["warm"], result["lengths"] = [], []
            for _ in range(draws):
                length = MINUTES * 60 * (1 + draw.uniform(-VARIATION, VARIATION))
                last(length)
                calls, _ = counted(history)
                result["warm"].append(calls)
                result["lengths"].append(round(length))
            last(MINUTES * 60)
            if peer:
                _, start = _calls(server.base_url, 0, conn.id)
                run_peer(PEER, KEY, SECRET, conn.id, str(scale), base_url=server.base_url)
                result["peer"] = float(len(_calls(server.base_url, start, conn.id)[0]))
    return result


if __name__ == "__main__":
    main()
