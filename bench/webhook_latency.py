"""Benchmark: latency from the local Fivetran's `sync_end` to the webhook sensor's output.

The demo estate runs on a local Fivetran (time scale 60) whose group webhook points at a real
receiver; `sales` and `marketing` are recorded as Fivetran-scheduled, the integrated
`department_models` transformation is Dagster's. Each round syncs the four connections; the
sensor is evaluated the way the Dagster daemon does it, once per `minimum_interval_seconds`,
and each output is timed against the moment Fivetran created the event behind it:

- run request: the `sync_end` that completed the transformation's set -> the run request;
- materialization: each Fivetran-scheduled `sync_end` -> its tables' materializations.

    python -m bench.webhook_latency --size tiny|full [--json PATH]

Target: every latency at most the sensor interval plus 1 s. `created` is in Fivetran time; it
is mapped to wall-clock time through the local Fivetran's clock (same process). The sensor reads
no row counts here: in one process DuckDB refuses a read-only connection to the warehouse file
the local Fivetran holds open read-write (and the reverse), which would fail its syncs.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dagster as dg

from fivetran_assets.dagster.webhook_sensor import build_webhook_sensor

# The live estate (local Fivetran + receiver + demo estate) is the end-to-end tests' fixture;
# run as a script, the repository root is not on sys.path, so put it there to share it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.harness import Figure, at_most, finish, parser, self_peak_rss_mb
from fivetran_assets_tests.dagster_webhooks.estate import Ticker
from fivetran_assets_tests.dagster_webhooks.live import live_estate

SIZES = {"tiny": {"interval": 1, "rounds": 2}, "full": {"interval": 5, "rounds": 6}}
FIVETRAN_SCHEDULED = ("sales", "marketing")
EVENT_ID = "fivetran/webhook_event_id"
ROUND_TIMEOUT = 60.0


def _wall_clock_of(clock: Any, created: Any) -> float:
    """Wall-clock time at which the local Fivetran's clock read `created`."""
    behind = (clock.now() - created).total_seconds() / clock.time_scale
    return time.time() - behind


def run(size: str) -> dict[str, object]:
    settings = SIZES[size]
    interval = settings["interval"]
    run_latencies: list[float] = []
    record_latencies: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="webhook-latency-") as workdir,
        live_estate(Path(workdir), fivetran_scheduled=FIVETRAN_SCHEDULED) as live,
    ):
        conns, transforms = live.assets()
        sensor = build_webhook_sensor(
            conns,
            transforms,
            event_log=live.receiver.log.url,
            minimum_interval_seconds=interval,
            start_from_latest=True,
        )
        ticker = Ticker(sensor, dg.DagsterInstance.ephemeral(), live.resources(warehouse=False))
        ticker.tick()
        clock = live.server.emulator.clock
        log = live.receiver.log
        created_at: dict[int, float] = {}

        def latency(event_id: int, now: float) -> float:
            if event_id not in created_at:
                (stored,) = log.read_after(event_id - 1, limit=1)
                created_at[event_id] = _wall_clock_of(clock, stored.event.created)
            return now - created_at[event_id]

        next_tick = time.monotonic() + interval
        phases = random.Random(7)
        for _ in range(settings["rounds"]):
            time.sleep(phases.uniform(0, interval))  # syncs end at any phase of the tick cycle
            for connection_id in live.connection_ids.values():
                live.client.sync_connection(connection_id)
            deadline = time.monotonic() + ROUND_TIMEOUT
            requested = False
            while not requested:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no run request within {ROUND_TIMEOUT} s")
                now_mono = time.monotonic()
                if next_tick < now_mono:  # the daemon skips missed ticks instead of bunching
                    next_tick = now_mono + interval - (now_mono - next_tick) % interval
                time.sleep(max(0.0, next_tick - now_mono))
                next_tick += interval
                result = ticker.tick()
                now = time.time()
                for event in result.asset_events:
                    if isinstance(event, dg.AssetMaterialization):
                        record_latencies.append(latency(int(event.metadata[EVENT_ID].value), now))
                for request in result.run_requests:
                    run_latencies.append(latency(int(request.tags[EVENT_ID]), now))
                    requested = True
            live.wait_idle(*live.connection_ids)
    target = interval + 1.0
    worst = max(run_latencies + record_latencies)
    return {
        "benchmark": "webhook_latency",
        "size": size,
        "sensor_interval_seconds": interval,
        "rounds": settings["rounds"],
        "target_seconds": target,
        "run_request_latency": _summary(run_latencies),
        "materialization_latency": _summary(record_latencies),
        "worst_seconds": round(worst, 3),
        "meets_target": worst <= target,
    }


def _summary(values: list[float]) -> dict[str, float | int]:
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "p50": round(statistics.median(ordered), 3),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3),
        "max": round(ordered[-1], 3),
    }


def main() -> None:
    started = time.perf_counter()
    args = parser(__doc__, sizes=sorted(SIZES)).parse_args()
    details = run(args.size)
    target = at_most(details["target_seconds"])
    interval = details["sensor_interval_seconds"]
    peak = self_peak_rss_mb()
    figures = [
        Figure(
            "run_request_latency",
            f"sync_end -> run request, worst (sensor interval {interval} s)",
            details["run_request_latency"]["max"],
            "s",
            target,
            peak_rss_mb=peak,
            note=f"p50 {details['run_request_latency']['p50']} s",
        ),
        Figure(
            "materialization_latency",
            f"sync_end -> materialization, worst (sensor interval {interval} s)",
            details["materialization_latency"]["max"],
            "s",
            target,
            peak_rss_mb=peak,
            note=f"p50 {details['materialization_latency']['p50']} s",
        ),
    ]
    finish("webhook_latency", args.size, figures, json_path=args.json, details=details,
           started=started)  # fmt: skip


if __name__ == "__main__":
    main()
