"""Results of a benchmark run as people and machines read them: rich table, Markdown, JSON.

`bench/results/latest.json` holds the machine, the date and every benchmark's figures and ratios;
`latest.md` the same as a table (figure, ours, peer or floor, ratio, target, pass/fail). A run
of some benchmarks (`--only`) replaces those and keeps the others' last results, each with the
date it ran, so one slow benchmark can be rerun without redoing the rest.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.harness import BenchError, BenchResult, Figure, utc_now

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
VERSIONED = ("dagster", "duckdb", "dbt-core", "pyarrow", "starlette", "uvicorn")


def latest_paths(out_dir: Path, size: str) -> tuple[Path, Path]:
    """`latest.json`/`.md` for full runs (committed); tiny runs never overwrite them."""
    stem = "latest" if size == "full" else f"latest-{size}"
    return out_dir / f"{stem}.json", out_dir / f"{stem}.md"


def machine_info() -> dict[str, Any]:
    """What a reader needs to compare figures across machines (no host names or users)."""
    versions = {}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "python": platform.python_version(),
        "packages": versions,
        "commit": _git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def format_value(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def verdict(figure: Figure) -> str:
    if figure.passed is None:
        return "-"
    if figure.passed:
        return "pass"
    return f"FAIL: missed by {figure.shortfall:.0%}"


def rows(results: Iterable[BenchResult]) -> list[list[str]]:
    """One row per figure: benchmark, figure, ours, baseline, ratio, target, result, peak RSS."""
    table = []
    for result in results:
        for figure in result.figures:
            baseline = (
                "-"
                if figure.baseline is None
                else f"{format_value(figure.baseline)} ({figure.baseline_name})"
            )
            table.append(
                [
                    result.benchmark,
                    figure.label,
                    f"{format_value(figure.ours)} {figure.unit}",
                    baseline,
                    "-" if figure.ratio is None else f"{figure.ratio:.3g}x",
                    "-" if figure.target is None else figure.target.text(figure.unit),
                    verdict(figure),
                    format_value(figure.peak_rss_mb),
                ]
            )
    return table


HEADERS = ("benchmark", "figure", "ours", "peer or floor", "ratio", "target", "result", "RSS MB")


def make_console() -> Console:
    """A console wide enough for the table when output goes to a file or a pipe."""
    return Console(width=None if sys.stdout.isatty() else 160)


def print_results(
    results: Sequence[BenchResult],
    *,
    errors: Mapping[str, str] | None = None,
    console: Console | None = None,
) -> None:
    console = console or make_console()
    table = Table(*HEADERS, title=f"benchmarks ({', '.join(sorted({r.size for r in results}))})")
    for row in rows(results):
        style = "red" if row[6].startswith("FAIL") else None
        table.add_row(*row, style=style)
    console.print(table)
    for name, message in (errors or {}).items():
        console.print(f"[red]{name} did not run:[/red] {message}")


def markdown(
    results: Sequence[BenchResult],
    *,
    machine: Mapping[str, Any],
    size: str,
    errors: Mapping[str, str],
    profiles: Mapping[str, Path] | None = None,
) -> str:
    lines = [
        f"# Benchmark results ({size} size)",
        "",
        f"Written {utc_now()} by `python -m bench --size {size}` on {machine['cpus']} CPUs "
        f"({machine['cpu']}), {machine['memory_gb']} GB RAM, Python {machine['python']}, "
        f"commit `{(machine.get('commit') or 'unknown')[:12]}`"
        + (" with uncommitted changes." if machine.get("uncommitted_changes") else "."),
        "",
        "Ratio is ours / peer or floor in the figure's unit. RSS is the peak resident memory of "
        "the process that produced ours.",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "---|" * len(HEADERS),
    ]
    lines += [
        "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows(results)
    ]
    missed = [(r, f) for r in results for f in r.figures if f.passed is False]
    if missed:
        lines += ["", "## Targets missed", ""]
        lines += [
            f"- {r.benchmark} / {f.label}: {format_value(f.checked)} against "
            f"{f.target.text(f.unit)}, missed by {f.shortfall:.0%}."
            + (f" {f.note}" if f.note else "")
            for r, f in missed
        ]
        for name, path in (profiles or {}).items():
            lines.append(f"- profile of {name}: `{_relative(path)}`")
    if errors:
        lines += ["", "## Did not run", ""]
        lines += [f"- {name}: {message}" for name, message in errors.items()]
    lines += ["", "Runs: " + ", ".join(f"{r.benchmark} {r.ran_at}" for r in results), ""]
    return "\n".join(lines)


def write_latest(
    results: Sequence[BenchResult],
    *,
    size: str,
    errors: Mapping[str, str],
    profiles: Mapping[str, Path] | None = None,
    out_dir: Path = RESULTS_DIR,
    order: Sequence[str] = (),
) -> tuple[Path, Path]:
    """Merge these results into the latest files of this size and write JSON and Markdown."""
    json_path, md_path = latest_paths(out_dir, size)
    merged: dict[str, BenchResult] = {}
    previous, kept_profiles = _previous(json_path)
    for i, item in enumerate(previous):
        try:
            kept = BenchResult.from_json(item, where=f"{json_path} benchmarks[{i}]")
        except BenchError:
            continue
        merged[kept.benchmark] = kept
    for result in results:
        merged[result.benchmark] = result
    for name in errors:
        merged.pop(name, None)
    rerun = {r.benchmark for r in results} | set(errors)
    profile_paths = {
        name: ROOT / path
        for name, path in kept_profiles.items()
        if name in merged and name not in rerun and isinstance(path, str)
    }
    profile_paths.update(profiles or {})
    rank = {name: i for i, name in enumerate(order)}
    ordered = sorted(merged.values(), key=lambda r: (rank.get(r.benchmark, len(rank)), r.benchmark))
    machine = machine_info()
    document = {
        "written_at": utc_now(),
        "size": size,
        "machine": machine,
        "benchmarks": [r.to_json() for r in ordered],
        "errors": dict(errors),
        "profiles": {name: _relative(path) for name, path in profile_paths.items()},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(document, indent=2) + "\n")
    md_path.write_text(
        markdown(ordered, machine=machine, size=size, errors=errors, profiles=profile_paths)
    )
    return json_path, md_path


def _previous(path: Path) -> tuple[list[Any], dict[str, Any]]:
    """The benchmarks and profile links of an earlier latest file; none when it is missing or
    unreadable. A benchmark kept from it keeps its profile link."""
    try:
        previous = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return [], {}
    if not isinstance(previous, dict):
        return [], {}
    benchmarks = previous.get("benchmarks")
    profiles = previous.get("profiles")
    return (
        benchmarks if isinstance(benchmarks, list) else [],
        profiles if isinstance(profiles, dict) else {},
    )


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()
