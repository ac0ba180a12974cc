"""Profiles that explain a missed target: rerun the benchmark under cProfile, keep the top entries.

The issue asks for the profile behind every miss, not only the number. `python -m bench
--profile` reruns each benchmark that missed a target under `python -m cProfile` and writes its
top entries (by cumulative and by own time) next to the results. cProfile sees the benchmark's
own process. A benchmark that times its work in child processes (definitions_load) has each
child profile its timed section into the folder named by `CHILD_PROFILE_ENV`; those profiles
follow in the same file, one section per child. For figures measured in a server the benchmark
starts (the local Fivetran, the webhook receiver), profile that server with py-spy instead; the
file says so.
"""

from __future__ import annotations

import io
import os
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.harness import CHILD_PROFILE_ENV
from bench.registry import ROOT, Benchmark, by_name

TOP = 25


def profile_benchmark(benchmark: Benchmark, size: str, out_dir: Path) -> Path:
    """Rerun `benchmark` under cProfile; write and return `<out_dir>/<name>-<size>.txt`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{benchmark.name}-{size}.txt"
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        stats_path = Path(tmp) / "run.prof"
        children = Path(tmp) / "children"
        children.mkdir()
        command = benchmark.command(size, Path(tmp) / "figures.json")
        command[1:1] = ["-m", "cProfile", "-o", str(stats_path)]
        done = subprocess.run(
            command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=benchmark.timeout(size),
            env={**os.environ, CHILD_PROFILE_ENV: str(children)},
        )
        if done.returncode != 0 or not stats_path.exists():
            raise RuntimeError(
                f"profiling {benchmark.name} failed (status {done.returncode}):\n"
                f"{done.stderr[-2000:]}"
            )
        title = f"`python -m bench.{benchmark.name} --size {size}`"
        sections = [_top_entries(stats_path, f"cProfile of {title} (this process only)")]
        sections += [
            _top_entries(child, f"cProfile of the timed section of its child `{child.stem}`")
            for child in sorted(children.glob("*.prof"))
        ]
        if len(sections) == 1:
            sections.append(
                "\nServers this benchmark starts are not in it: attach py-spy to them.\n"
            )
        target.write_text("\n\n".join(sections))
    return target


def _top_entries(stats_path: Path, title: str) -> str:
    out = io.StringIO()
    out.write(f"{title}\n")
    for order in ("cumulative", "tottime"):
        out.write(f"\n== top {TOP} by {order} ==\n")
        stats = pstats.Stats(str(stats_path), stream=out)
        stats.strip_dirs().sort_stats(order).print_stats(TOP)
    return out.getvalue()


def main() -> int:
    """`python -m bench.profiling NAME [tiny|full]`: profile one benchmark now."""
    if len(sys.argv) not in (2, 3):
        raise SystemExit("usage: python -m bench.profiling NAME [tiny|full]")
    size = sys.argv[2] if len(sys.argv) == 3 else "tiny"
    print(
        profile_benchmark(by_name([sys.argv[1]])[0], size, ROOT / "bench" / "results" / "profiles")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
