"""`python -m bench [--size tiny|full] [--only NAME ...]`: run every benchmark, write the results.

Each benchmark runs in its own process (so one's memory or threads cannot colour another's
figures), pairing ours with its baseline inside that run. The runner gathers their JSON, writes
`bench/results/latest.json` and `latest.md` (tiny runs write `latest-tiny.*` instead, so they
never replace the committed full results) and prints the table. Exit status: 1 when a benchmark
failed to run, or with `--strict` when a target was missed; 0 otherwise. With `--profile`,
each benchmark that missed a target is rerun under cProfile (see bench.profiling).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from bench.harness import SIZES, BenchError, BenchResult, run_measured
from bench.profiling import profile_benchmark
from bench.registry import BENCHMARKS, ROOT, Benchmark, by_name
from bench.report import RESULTS_DIR, make_console, print_results, write_latest


def run_one(benchmark: Benchmark, size: str, workdir: Path, console: Console) -> BenchResult | str:
    """The benchmark's result, or why it did not produce one."""
    json_path = workdir / f"{benchmark.name}.json"
    console.rule(f"{benchmark.name} ({size})")
    try:
        measured = run_measured(
            benchmark.command(size, json_path),
            timeout=benchmark.timeout(size),
            cwd=ROOT,
            echo=True,
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {benchmark.timeout(size):.0f} s"
    except OSError as exc:
        return f"could not start: {exc}"
    if measured.returncode != 0:
        return f"exit status {measured.returncode}: {_last_line(measured.stderr)}"
    try:
        result = BenchResult.read(json_path)
    except BenchError as exc:
        return str(exc)
    missing = sorted(set(benchmark.expected(size)) - {f.name for f in result.figures})
    if missing:
        return f"its JSON lacks the figures {missing}"
    console.print(f"{benchmark.name}: {measured.seconds:.1f} s, process peak RSS "
                  f"{measured.peak_rss_mb:.0f} MB")  # fmt: skip
    return result


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--size", choices=SIZES, default="full")
    cli.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    cli.add_argument("--out", type=Path, default=RESULTS_DIR, help="where latest.* are written")
    cli.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    cli.add_argument(
        "--profile", action="store_true", help="rerun each benchmark that missed under cProfile"
    )
    args = cli.parse_args(argv)
    chosen = by_name(args.only)
    console = make_console()
    results: list[BenchResult] = []
    errors: dict[str, str] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for benchmark in chosen:
            outcome = run_one(benchmark, args.size, Path(tmp), console)
            if isinstance(outcome, BenchResult):
                results.append(outcome)
            else:
                errors[benchmark.name] = outcome
    profiles: dict[str, Path] = {}
    if args.profile:
        for benchmark in chosen:
            missed = [r for r in results if r.benchmark == benchmark.name and _missed(r)]
            if missed:
                console.rule(f"profiling {benchmark.name}")
                try:
                    profiles[benchmark.name] = profile_benchmark(
                        benchmark, args.size, args.out / "profiles"
                    )
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    console.print(f"[red]could not profile {benchmark.name}:[/red] {exc}")
    json_path, md_path = write_latest(
        results,
        size=args.size,
        errors=errors,
        profiles=profiles,
        out_dir=args.out,
        order=[b.name for b in BENCHMARKS],
    )
    console.rule(f"all benchmarks ({time.perf_counter() - started:.0f} s)")
    print_results(results, errors=errors, console=console)
    console.print(f"wrote {json_path} and {md_path}")
    missed = any(_missed(r) for r in results)
    return 1 if errors or (args.strict and missed) else 0


def _missed(result: BenchResult) -> bool:
    return any(f.passed is False for f in result.figures)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no error output)"


if __name__ == "__main__":
    sys.exit(main())
