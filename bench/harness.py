"""The shared record every benchmark reports, its checks, peak-RSS measurement and standard CLI.

Every benchmark in `bench/` ends with the same JSON shape (`BenchResult.to_json`) so that
`python -m bench` can gather them into one table without knowing what each one measures. A
`Figure` pairs ours with its baseline (a peer such as dagster-fivetran, or a floor such as a bare
copy loop), and a `Target` says which of the two numbers the issue's target applies to: the
value itself ("at least 1,000 GETs/s") or the ratio ours / baseline ("within 1.2x of the floor").
The ratio is always ours / baseline in the figure's unit, so its meaning follows the unit.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, TextIO

SIZES = ("tiny", "full")
# Set by `python -m bench --profile` to a folder: a benchmark that times its work in child
# processes has each child profile its timed section into `<folder>/<name>.prof`, since
# cProfile on the benchmark itself would see only a parent waiting.
CHILD_PROFILE_ENV = "BENCH_CHILD_PROFILE_DIR"


class BenchError(ValueError):
    """A benchmark's output does not have the shape the harness reads; says what and where."""


class Direction(StrEnum):
    """Whether the target is a floor (at least) or a ceiling (at most)."""

    AT_LEAST = "at_least"
    AT_MOST = "at_most"


class Applies(StrEnum):
    """Which number the target checks: ours itself, or ours divided by the baseline."""

    VALUE = "value"
    RATIO = "ratio"


@dataclass(frozen=True)
class Target:
    limit: float
    direction: Direction
    applies_to: Applies = Applies.VALUE

    def met_by(self, value: float) -> bool:
        if self.direction is Direction.AT_LEAST:
            return value >= self.limit
        return value <= self.limit

    def shortfall(self, value: float) -> float:
        """How far `value` is from the limit, as a fraction of the limit (0 when met)."""
        if self.met_by(value) or self.limit == 0:
            return 0.0
        return abs(value - self.limit) / abs(self.limit)

    def text(self, unit: str) -> str:
        sign = ">=" if self.direction is Direction.AT_LEAST else "<="
        if self.applies_to is Applies.RATIO:
            return f"{sign} {_number(self.limit)}x"
        return f"{sign} {_number(self.limit)} {unit}"


def at_least(limit: float, *, ratio: bool = False) -> Target:
    return Target(limit, Direction.AT_LEAST, Applies.RATIO if ratio else Applies.VALUE)


def at_most(limit: float, *, ratio: bool = False) -> Target:
    return Target(limit, Direction.AT_MOST, Applies.RATIO if ratio else Applies.VALUE)


@dataclass(frozen=True)
class Figure:
    """One measured figure of ours, beside its baseline when it has one.

    `name` is a stable snake_case id (tests and diffs key on it), `label` what a reader sees.
    `peak_rss_mb` is the peak resident memory of the process that produced ours.
    """

    name: str
    label: str
    ours: float
    unit: str
    target: Target | None = None
    baseline: float | None = None
    baseline_name: str | None = None
    peak_rss_mb: float | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name != self.name.lower():
            raise BenchError(f"figure name {self.name!r} must be a snake_case identifier")
        if not math.isfinite(self.ours):
            raise BenchError(f"figure {self.name}: ours is {self.ours}, not a finite number")
        if (self.baseline is None) != (self.baseline_name is None):
            raise BenchError(f"figure {self.name}: baseline and baseline_name go together")
        if self.target and self.target.applies_to is Applies.RATIO and self.baseline is None:
            raise BenchError(f"figure {self.name}: a ratio target needs a baseline")

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.ours / self.baseline

    @property
    def checked(self) -> float | None:
        """The number the target applies to."""
        if self.target is None:
            return None
        return self.ratio if self.target.applies_to is Applies.RATIO else self.ours

    @property
    def passed(self) -> bool | None:
        checked = self.checked
        return None if checked is None else self.target.met_by(checked)

    @property
    def shortfall(self) -> float | None:
        """By how much the target is missed (fraction of the limit); None without a target."""
        checked = self.checked
        return None if checked is None else self.target.shortfall(checked)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "ours": _round(self.ours),
            "unit": self.unit,
            "baseline": _round(self.baseline),
            "baseline_name": self.baseline_name,
            "ratio": _round(self.ratio),
            "target": None
            if self.target is None
            else {
                "limit": self.target.limit,
                "direction": self.target.direction.value,
                "applies_to": self.target.applies_to.value,
            },
            "passed": self.passed,
            "shortfall": _round(self.shortfall),
            "peak_rss_mb": self.peak_rss_mb,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, where: str) -> Figure:
        try:
            raw_target = data.get("target")
            target = None
            if raw_target is not None:
                target = Target(
                    float(raw_target["limit"]),
                    Direction(raw_target["direction"]),
                    Applies(raw_target["applies_to"]),
                )
            return cls(
                name=str(data["name"]),
                label=str(data["label"]),
                ours=float(data["ours"]),
                unit=str(data["unit"]),
                target=target,
                baseline=_optional_float(data.get("baseline")),
                baseline_name=data.get("baseline_name"),
                peak_rss_mb=_optional_float(data.get("peak_rss_mb")),
                note=str(data.get("note") or ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BenchError(f"{where}: not a figure ({type(exc).__name__}: {exc})") from exc


@dataclass(frozen=True)
class BenchResult:
    """What one benchmark run reports: its figures plus free-form details for the curious."""

    benchmark: str
    size: str
    figures: tuple[Figure, ...]
    details: Mapping[str, Any] = field(default_factory=dict)
    ran_at: str = field(default_factory=lambda: utc_now())
    seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "size": self.size,
            "ran_at": self.ran_at,
            "seconds": self.seconds,
            "figures": [f.to_json() for f in self.figures],
            "details": dict(self.details),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, where: str) -> BenchResult:
        if not isinstance(data, Mapping):
            raise BenchError(f"{where}: expected a JSON object, got {type(data).__name__}")
        for key in ("benchmark", "size", "figures"):
            if key not in data:
                raise BenchError(f"{where}: missing {key!r} (is it written with bench.harness?)")
        if not isinstance(data["figures"], list):
            raise BenchError(f"{where}: 'figures' must be a list")
        figures = tuple(
            Figure.from_json(f, where=f"{where} figures[{i}]")
            for i, f in enumerate(data["figures"])
        )
        return cls(
            benchmark=str(data["benchmark"]),
            size=str(data["size"]),
            figures=figures,
            details=data.get("details") or {},
            ran_at=str(data.get("ran_at") or utc_now()),
            seconds=_optional_float(data.get("seconds")),
        )

    @classmethod
    def read(cls, path: Path) -> BenchResult:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise BenchError(f"{path}: cannot read benchmark JSON ({exc})") from exc
        return cls.from_json(data, where=str(path))


def parser(doc: str | None, *, sizes: Sequence[str] = SIZES) -> argparse.ArgumentParser:
    """The standard CLI every benchmark starts from: `--size` and `--json PATH`."""
    cli = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0])
    cli.add_argument("--size", choices=list(sizes), default="tiny")
    cli.add_argument("--json", type=Path, help="write the figures to this file (bench.harness)")
    return cli


def finish(
    benchmark: str,
    size: str,
    figures: Iterable[Figure],
    *,
    json_path: Path | None,
    details: Mapping[str, Any] | None = None,
    started: float | None = None,
) -> BenchResult:
    """Print the figures as a table and write them to `json_path` when given.

    A missed target is reported, not raised: the exit status says whether the benchmark ran.
    """
    from bench.report import print_results

    result = BenchResult(
        benchmark=benchmark,
        size=size,
        figures=tuple(figures),
        details=details or {},
        seconds=None if started is None else round(time.perf_counter() - started, 2),
    )
    names = [f.name for f in result.figures]
    if len(set(names)) != len(names):
        raise BenchError(f"{benchmark}: duplicate figure names in {names}")
    print_results([result])
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return result


def self_peak_rss_mb() -> float:
    """Peak RSS of this process so far (Linux reports ru_maxrss in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def pid_peak_rss_mb(pid: int) -> float:
    """Peak RSS (VmHWM) of a live process, such as a server this benchmark started."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise BenchError(f"/proc/{pid}/status has no VmHWM line")


def pid_rss_mb(pid: int) -> float:
    """Current RSS (VmRSS) of a live process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise BenchError(f"/proc/{pid}/status has no VmRSS line")


@dataclass(frozen=True)
class Measured:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float


def run_measured(
    command: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    echo: bool = False,
) -> Measured:
    """Run a command to completion and return its output, wall time and its own peak RSS.

    The peak is the child's VmHWM, read from /proc while it runs: the `ru_maxrss` that
    `os.wait4` reports is at least this process's RSS when it forked (Linux folds the forked
    copy's high-water mark into it at exec), so a child of a large parent would report the
    parent's size. A child too short to be seen falls back to `ru_maxrss`. With `echo`, the
    child's output is also copied to ours as it comes, so a long benchmark shows its progress.
    """
    started = time.perf_counter()
    with subprocess.Popen(
        list(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=None if env is None else dict(env),
        cwd=cwd,
    ) as process:
        out: list[bytes] = []
        err: list[bytes] = []
        pumps = [
            threading.Thread(
                target=_pump, args=(process.stdout, out, sys.stdout if echo else None)
            ),
            threading.Thread(
                target=_pump, args=(process.stderr, err, sys.stderr if echo else None)
            ),
        ]
        for pump in pumps:
            pump.start()
        deadline = started + timeout
        peak_kib = 0
        while True:
            peak_kib = max(peak_kib, _vm_hwm_kib(process.pid))
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                os.wait4(process.pid, 0)
                process.returncode = -9
                raise subprocess.TimeoutExpired(list(command), timeout)
            time.sleep(0.02)
        process.returncode = os.waitstatus_to_exitcode(status)
        for pump in pumps:  # a grandchild still holding the pipe must not hang us
            pump.join(timeout=5)
        return Measured(
            returncode=process.returncode,
            stdout=b"".join(out).decode(errors="replace"),
            stderr=b"".join(err).decode(errors="replace"),
            seconds=time.perf_counter() - started,
            peak_rss_mb=round((peak_kib or usage.ru_maxrss) / 1024, 1),
        )


def _vm_hwm_kib(pid: int) -> int:
    """A live process's VmHWM in KiB; 0 once it has exited (or is a zombie)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pump(stream: IO[bytes], sink: list[bytes], echo: TextIO | None) -> None:
    for line in iter(stream.readline, b""):
        sink.append(line)
        if echo is not None:
            echo.write(line.decode(errors="replace"))
            echo.flush()


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _number(value: float) -> str:
    if value == int(value) and abs(value) >= 10:
        return f"{int(value):,}"
    return f"{value:g}"
