"""The list of benchmarks `python -m bench` runs and the tiny-size test checks: one line each.

A benchmark is the module `bench.<name>`, run as its own process with the harness CLI
(`--size`, `--json`); `figures` are the figure names its JSON must hold, so a benchmark that
silently stops reporting one fails the test instead of vanishing from the table, and
`full_figures` the ones it must add at full size (a peer too slow for `make test`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Benchmark:
    name: str
    figures: tuple[str, ...]
    tiny_timeout: float = 120.0
    full_timeout: float = 3600.0
    full_figures: tuple[str, ...] = ()

    def expected(self, size: str) -> tuple[str, ...]:
        """The figure names a run at `size` must report."""
        return self.figures + (self.full_figures if size == "full" else ())

    def command(self, size: str, json_path: Path) -> list[str]:
        """Run from the repository root (`cwd=ROOT`) so `bench` is importable as a package."""
        return [
            sys.executable,
            *("-m", f"bench.{self.name}", "--size", size, "--json", str(json_path)),
        ]

    def timeout(self, size: str) -> float:
        return self.tiny_timeout if size == "tiny" else self.full_timeout


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("emulator_throughput", ("get_rps", "list_rps", "create_rps", "rss_10k_connections")),
    Benchmark(
        "sync_throughput",
        (
            "sync_rows_per_s",
            "sync_vs_columnar",
            "sync_vs_row_loop",
            "incremental",
            "sync_rss",
            "sync_rss_wide",
        ),
    ),
    Benchmark("webhook_receiver", ("events_per_s",)),
    Benchmark("receivers_postgres", ("pg_events_per_s", "pg_lost", "pg_duplicates")),
    Benchmark(
        "provision", ("apply_vs_floor", "apply_vs_seed_loop", "plan_api_calls", "plan_seconds")
    ),
    Benchmark("plan_scale", ("plan_scale_calls", "plan_scale_seconds")),
    Benchmark("apply_race", ("race_duplicates", "race_bad_exits"), tiny_timeout=240.0),
    Benchmark("shared_budget", ("budget_429s", "budget_busiest_hour"), tiny_timeout=240.0),
    Benchmark(
        "sync_api_calls", ("calls_polling_warm", "calls_polling_warm_worst", "calls_polling_cold")
    ),
    Benchmark("webhook_latency", ("run_request_latency", "materialization_latency")),
    # Full size runs dagster-fivetran once over the whole estate: 15-20 minutes on a quiet machine.
    Benchmark(
        "definitions_load",
        ("load_assets", "load_full"),
        tiny_timeout=60.0,
        full_timeout=4200.0,
        full_figures=("load_vs_dagster_fivetran",),
    ),
)


def by_name(names: list[str] | None) -> tuple[Benchmark, ...]:
    """The benchmarks named (all when None); an unknown name is an error naming the known ones."""
    if not names:
        return BENCHMARKS
    known = {b.name: b for b in BENCHMARKS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; known: {sorted(known)}")
    return tuple(known[n] for n in names)
