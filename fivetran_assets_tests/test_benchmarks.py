"""Every registered benchmark runs once at tiny size, so none can rot; plus the harness's rules.

A benchmark is exercised exactly as `python -m bench` runs it (its own process, `--size tiny
--json PATH`): it must exit 0 and report every figure the registry expects. Targets are not
asserted here (tiny sizes do not meet throughput targets meaningfully); the full run does that.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import main as bench_main
from bench.harness import BenchError, BenchResult, Figure, at_least, at_most, run_measured
from bench.registry import BENCHMARKS, ROOT, by_name
from bench.report import latest_paths, write_latest


@pytest.mark.parametrize("benchmark", BENCHMARKS, ids=lambda b: b.name)
def test_benchmark_runs_at_tiny_size(benchmark, tmp_path: Path) -> None:
    json_path = tmp_path / "figures.json"
    done = subprocess.run(
        benchmark.command("tiny", json_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=benchmark.tiny_timeout,
    )
    assert done.returncode == 0, f"{benchmark.name} failed:\n{done.stdout}\n{done.stderr}"
    result = BenchResult.read(json_path)
    assert result.benchmark == benchmark.name
    assert result.size == "tiny"
    names = {figure.name for figure in result.figures}
    expected = set(benchmark.expected("tiny"))
    assert expected <= names, f"missing {expected - names}"
    for figure in result.figures:
        # A count whose target is zero (lost events, duplicates, 429s) may be 0; a measure not.
        counts_to_zero = figure.target is not None and figure.target.limit == 0
        assert math.isfinite(figure.ours) and (figure.ours > 0 or counts_to_zero), figure
        assert figure.peak_rss_mb is not None and figure.peak_rss_mb > 0, figure


def test_ratio_targets_pass_fail_and_shortfall() -> None:
    fast = Figure("speed", "speed", 80.0, "rows/s", at_least(0.7, ratio=True), 100.0, "bare")
    assert fast.ratio == pytest.approx(0.8) and fast.passed and fast.shortfall == 0
    slow = Figure("speed", "speed", 35.0, "rows/s", at_least(0.7, ratio=True), 100.0, "bare")
    assert slow.passed is False and slow.shortfall == pytest.approx(0.5)
    heavy = Figure("rss", "rss", 600.0, "MB", at_most(500))
    assert heavy.passed is False and heavy.shortfall == pytest.approx(0.2)
    assert Figure("info", "info", 3.0, "req/s").passed is None


def test_bad_figures_are_refused_with_the_reason() -> None:
    with pytest.raises(BenchError, match="needs a baseline"):
        Figure("x", "x", 1.0, "s", at_most(1.2, ratio=True))
    with pytest.raises(BenchError, match="snake_case"):
        Figure("Bad Name", "x", 1.0, "s")
    with pytest.raises(BenchError, match=r"out\.json figures\[0\]"):
        BenchResult.from_json(
            {"benchmark": "b", "size": "tiny", "figures": [{"name": "x"}]}, where="out.json"
        )
    with pytest.raises(BenchError, match="missing 'figures'"):
        BenchResult.from_json({"benchmark": "b", "size": "tiny"}, where="out.json")


def test_unknown_benchmark_names_are_listed() -> None:
    with pytest.raises(SystemExit, match="unknown benchmark"):
        by_name(["no_such_benchmark"])


def test_latest_files_merge_runs_and_say_by_how_much_a_target_is_missed(tmp_path: Path) -> None:
    first = BenchResult("one", "full", (Figure("a", "A", 50.0, "req/s", at_least(100)),))
    second = BenchResult("two", "full", (Figure("b", "B", 2.0, "s", at_most(4)),))
    write_latest([first, second], size="full", errors={}, out_dir=tmp_path)
    rerun = BenchResult("two", "full", (Figure("b", "B", 3.0, "s", at_most(4)),))
    json_path, md_path = write_latest([rerun], size="full", errors={}, out_dir=tmp_path)
    assert (json_path, md_path) == latest_paths(tmp_path, "full")
    document = json.loads(json_path.read_text())
    assert [b["benchmark"] for b in document["benchmarks"]] == ["one", "two"]
    assert document["benchmarks"][1]["figures"][0]["ours"] == 3.0
    assert document["machine"]["cpus"] >= 1
    table = md_path.read_text()
    assert "FAIL: missed by 50%" in table and "| two | B | 3 s |" in table
    assert latest_paths(tmp_path, "tiny")[0].name == "latest-tiny.json"


def test_runner_writes_results_for_a_chosen_benchmark(tmp_path: Path) -> None:
    assert bench_main(["--size", "tiny", "--only", "webhook_receiver", "--out", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "latest-tiny.json").read_text())
    assert [b["benchmark"] for b in document["benchmarks"]] == ["webhook_receiver"]
    assert "| webhook_receiver |" in (tmp_path / "latest-tiny.md").read_text()


def test_run_measured_reports_the_childs_own_peak_rss() -> None:
    grow = "x = bytearray(200 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096])"
    measured = run_measured([sys.executable, "-c", grow], timeout=60)
    assert measured.returncode == 0, measured.stderr
    assert measured.peak_rss_mb >= 200


def test_run_measured_leaves_out_the_parents_memory() -> None:
    # Linux folds a forked child's copy of the parent into its ru_maxrss at exec.
    ballast = bytearray(300 * 1024 * 1024)
    ballast[::4096] = b"1" * len(ballast[::4096])
    small = "import time; x = bytearray(20 * 1024 * 1024); x[::4096] = b'1' * 5120; time.sleep(0.3)"
    measured = run_measured([sys.executable, "-c", small], timeout=60)
    assert measured.returncode == 0, measured.stderr
    assert 20 <= measured.peak_rss_mb < 150, measured.peak_rss_mb
    del ballast


def test_a_rerun_of_others_keeps_a_kept_benchmarks_profile_link(tmp_path: Path) -> None:
    missed = BenchResult("one", "full", (Figure("a", "A", 50.0, "req/s", at_least(100)),))
    other = BenchResult("two", "full", (Figure("b", "B", 2.0, "s", at_most(4)),))
    profile = tmp_path / "profiles" / "one-full.txt"
    write_latest(
        [missed, other], size="full", errors={}, profiles={"one": profile}, out_dir=tmp_path
    )
    json_path, md_path = write_latest([other], size="full", errors={}, out_dir=tmp_path)
    assert json.loads(json_path.read_text())["profiles"] == {"one": str(profile)}
    assert f"profile of one: `{profile}`" in md_path.read_text()
    json_path, _ = write_latest([missed], size="full", errors={}, out_dir=tmp_path)
    assert json.loads(json_path.read_text())["profiles"] == {}
