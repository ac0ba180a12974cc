"""Run a job of the project's workspace through Dagster, following its events with rich.

Each run is launched in the code location `workspace.yaml` defines, the way the Dagster UI
launches one (`python -m fivetran_assets.stack.launch`, in a subprocess): the run carries its
origin, so it shows on its job's page and in the timeline and can be re-executed from the UI; it
goes into the persistent instance of DAGSTER_HOME; the code location is loaded fresh (so the
`pipeline` job sees the snapshot the provisioning run just wrote); and Dagster's verbose output
goes to a log file. This process reads the run's events from the same instance to show progress
and collect what the summary needs.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from fivetran_assets.stack.launch import EXIT_NO_JOB
from fivetran_assets.stack.processes import log_tail
from fivetran_assets.stack.settings import StackSettings

INVOCATION_TAG = "fivetran_assets/invocation"
ROW_COUNT = "dagster/row_count"
ROWS_SYNCED = "fivetran/rows_synced"


class DemoError(RuntimeError):
    """The demo cannot go on; the message says what is wrong and where to look."""


class MissingJobError(DemoError):
    """A job the demo runs is not defined in the workspace's code location."""


class JobFailedError(DemoError):
    """The job's run did not succeed."""


@dataclass(frozen=True)
class Materialized:
    asset_key: tuple[str, ...]
    step_key: str | None
    row_count: int | None
    rows_synced: int | None = None  # rows this run's sync wrote (connection tables only)


@dataclass(frozen=True)
class JobRun:
    """What one run did, read back from the instance's event log."""

    job_name: str
    run_id: str
    status: str
    log: Path
    materializations: tuple[Materialized, ...] = ()
    numbers: Mapping[str, float] = field(default_factory=dict)
    markdown: Mapping[str, str] = field(default_factory=dict)
    json: Mapping[str, Any] = field(default_factory=dict)


def _numeric(value: Any) -> float | None:
    inner = getattr(value, "value", value)
    if isinstance(inner, bool) or not isinstance(inner, int | float):
        return None
    return inner


class _Follower:
    """Turns one run's event records into console lines and the JobRun's collections."""

    def __init__(
        self,
        console: Console,
        job_name: str,
        show_json: Mapping[str, Callable[[Any], None]] | None = None,
    ) -> None:
        self.console = console
        self.job_name = job_name
        self.show_json = show_json or {}
        self.materializations: list[Materialized] = []
        self.numbers: dict[str, float] = {}
        self.markdown: dict[str, str] = {}
        self.json: dict[str, Any] = {}
        self.failures: list[str] = []

    def _metadata(self, metadata: Mapping[str, Any]) -> None:
        for label, value in metadata.items():
            number = _numeric(value)
            kind = type(value).__name__
            if number is not None and label not in (ROW_COUNT, ROWS_SYNCED):
                self.numbers[label] = number
            elif kind == "MarkdownMetadataValue":
                self.markdown[label] = str(value.value)
            elif kind == "JsonMetadataValue":
                self.json[label] = value.value
                if label in self.show_json:
                    self.show_json[label](value.value)

    def handle(self, entry: Any) -> None:
        event = entry.dagster_event
        step = entry.step_key or self.job_name
        if event is None:
            if entry.level >= logging.INFO and entry.user_message:
                self.console.log(f"[dim]{step}:[/] {entry.user_message}", markup=True)
            return
        kind = event.event_type_value
        if kind == "STEP_START":
            self.console.log(f"[cyan]▶ {step}[/]")
        elif kind == "STEP_SUCCESS":
            self.console.log(f"[green]✓ {step}[/]")
        elif kind == "STEP_FAILURE":
            message = _root_cause(getattr(event.step_failure_data, "error", None))
            message = message or entry.user_message
            self.failures.append(f"{step}: {message}")
            self.console.log(f"[red]✗ {step}: {message}[/]")
        elif kind == "RUN_FAILURE":
            self.failures.append(entry.user_message)
        elif kind == "ASSET_MATERIALIZATION":
            mat = entry.asset_materialization
            done = Materialized(
                tuple(mat.asset_key.path),
                entry.step_key,
                _int(_numeric(mat.metadata.get(ROW_COUNT))),
                _int(_numeric(mat.metadata.get(ROWS_SYNCED))),
            )
            self.materializations.append(done)
            self._metadata(mat.metadata)
            self.console.log(f"  materialized {'/'.join(done.asset_key)}{_rows(done)}")
        elif kind == "ASSET_OBSERVATION":
            self._metadata(entry.asset_observation.metadata)
        elif kind == "STEP_OUTPUT":
            self._metadata(getattr(event.step_output_data, "metadata", None) or {})


def _root_cause(error: Any) -> str:
    """The innermost error's message: Dagster wraps the op's own exception in its errors."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return str(getattr(error, "message", "") or "").strip()


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _rows(done: Materialized) -> str:
    """` (5 synced, 1,005 total)` for a synced table (this run's rows, then the table's), and
    ` (4,000 rows)` for a model."""
    if done.row_count is None:
        return ""
    if done.rows_synced is None:
        return f" ({done.row_count:,} {'row' if done.row_count == 1 else 'rows'})"
    return f" ({done.rows_synced:,} synced, {done.row_count:,} total)"


def execute_job(
    job_name: str,
    *,
    settings: StackSettings,
    env: Mapping[str, str],
    console: Console,
    run_config: Mapping[str, Any] | None = None,
    workspace: Path | None = None,
    require: Sequence[str] = (),
    show_json: Mapping[str, Callable[[Any], None]] | None = None,
    timeout: float = 3600.0,
    poll_interval: float = 0.5,
) -> JobRun:
    """Launch `job_name` in the workspace's code location (default: the project's
    workspace.yaml) into the instance of DAGSTER_HOME, and follow it.

    `require` names jobs that must exist too (checked before this one launches); `show_json`
    maps JSON metadata labels to what shows them as they arrive. The caller's process must have
    DAGSTER_HOME set (to read the same instance).
    """
    from dagster import DagsterInstance, RunsFilter

    token = uuid.uuid4().hex
    log = settings.logs_dir / f"job-{job_name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    workspace = workspace or settings.project_root / "workspace.yaml"
    argv = [sys.executable, "-m", "fivetran_assets.stack.launch", "-w", str(workspace)]
    argv += ["-j", job_name, "--tags", json.dumps({INVOCATION_TAG: token})]
    argv += [arg for name in require for arg in ("--require", name)]
    if run_config:
        config_file = settings.run_dir / f"{job_name}-run-config.yaml"
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config_file.write_text(yaml.safe_dump(dict(run_config)))
        argv += ["-c", str(config_file)]
    instance = DagsterInstance.get()
    follower = _Follower(console, job_name, show_json)
    run_id: str | None = None
    cursor: str | None = None
    deadline = time.monotonic() + timeout
    with open(log, "wb") as out:
        process = subprocess.Popen(
            argv,
            cwd=settings.project_root,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        with console.status(
            f"[bold]{job_name}[/]: loading the code location", spinner="dots"
        ) as status:
            while True:
                finished = process.poll() is not None
                if run_id is None:
                    runs = instance.get_runs(filters=RunsFilter(tags={INVOCATION_TAG: token}))
                    run_id = runs[0].run_id if runs else None
                    if run_id is not None:
                        status.update(f"[bold]{job_name}[/]: run {run_id[:8]}")
                if run_id is not None:
                    conn = instance.get_records_for_run(run_id, cursor=cursor)
                    for record in conn.records:
                        follower.handle(record.event_log_entry)
                    cursor = conn.cursor
                if finished:
                    break
                if time.monotonic() > deadline:
                    process.terminate()
                    process.wait(timeout=60)
                    raise JobFailedError(
                        f"job {job_name} did not finish within {timeout:g} s; see {log}"
                    )
                time.sleep(poll_interval)
    except KeyboardInterrupt:
        process.terminate()
        process.wait(timeout=60)
        raise
    if process.returncode == EXIT_NO_JOB:
        raise MissingJobError(_launch_error(log))
    if run_id is None:
        raise JobFailedError(
            f"launching job {job_name} exited with code {process.returncode} without starting "
            f"a run. Last lines of {log}:\n{log_tail(log)}"
        )
    run = instance.get_run_by_id(run_id)
    status = run.status.value if run is not None else "UNKNOWN"
    if status != "SUCCESS" or process.returncode != 0:
        reasons = "\n".join(follower.failures) or log_tail(log)
        raise JobFailedError(
            f"job {job_name} run {run_id} ended {status}. {reasons}\n(full log: {log}; the run "
            f"is in the Dagster UI: `make dev`)"
        )
    return JobRun(
        job_name=job_name,
        run_id=run_id,
        status=status,
        log=log,
        materializations=tuple(follower.materializations),
        numbers=dict(follower.numbers),
        markdown=dict(follower.markdown),
        json=dict(follower.json),
    )


def _launch_error(log: Path) -> str:
    """The launcher's `error: ...` line (a missing job, a code location that does not load)."""
    lines = log_tail(log, 200).splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    if not starts:
        return f"nothing was launched; see {log}"
    return "\n".join(lines[starts[-1] :]).removeprefix("error: ")
