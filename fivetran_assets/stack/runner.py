"""Run a job of the project's Definitions through Dagster, following its events with rich.

The job runs as `dagster job execute -m fivetran_assets.definitions -j NAME` in a subprocess:
that is Dagster's own path (reconstructable job, the job's executor, the persistent instance of
DAGSTER_HOME), the code location is loaded fresh (so the `pipeline` job sees the snapshot the
provisioning run just wrote), and Dagster's verbose output goes to a log file. This process reads
the run's events from the same instance to show progress and collect what the summary needs.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import time
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from fivetran_assets.stack.processes import log_tail
from fivetran_assets.stack.services import dagster_argv
from fivetran_assets.stack.settings import StackSettings

DEFINITIONS_MODULE = "fivetran_assets.definitions"
INVOCATION_TAG = "fivetran_assets/invocation"
ROW_COUNT = "dagster/row_count"


class DemoError(RuntimeError):
    """The demo cannot go on; the message says what is wrong and where to look."""


class MissingJobError(DemoError):
    """A job the demo runs is not defined in the project's Definitions."""


class JobFailedError(DemoError):
    """The job's run did not succeed."""


@dataclass(frozen=True)
class Materialized:
    asset_key: tuple[str, ...]
    step_key: str | None
    row_count: int | None


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


def job_names(module: str = DEFINITIONS_MODULE) -> list[str]:
    """Names of the public jobs of `module`'s `defs` (imported here, with the current env).

    Loading warnings (a missing snapshot before the first provisioning, beta parameters) are
    silenced here: the runs load the definitions again and log them where they matter.
    """
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            defs = importlib.import_module(module).defs
            jobs = defs.resolve_all_job_defs()
    except Exception as exc:
        raise DemoError(
            f"cannot load the Dagster definitions from {module}: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        logging.disable(logging.NOTSET)
    return sorted(j.name for j in jobs if not j.name.startswith("__"))


def require_jobs(names: Sequence[str], *, module: str = DEFINITIONS_MODULE) -> None:
    """Fail naming every missing job (and those that exist), before anything runs."""
    available = job_names(module)
    missing = [n for n in names if n not in available]
    if missing:
        raise MissingJobError(
            f"{module}.defs has no job named {', '.join(repr(n) for n in missing)} "
            f"(jobs defined: {', '.join(available) or 'none'}); the demo runs "
            f"{' then '.join(names)}"
        )


def _numeric(value: Any) -> float | None:
    inner = getattr(value, "value", value)
    if isinstance(inner, bool) or not isinstance(inner, int | float):
        return None
    return inner


class _Follower:
    """Turns one run's event records into console lines and the JobRun's collections."""

    def __init__(self, console: Console, job_name: str) -> None:
        self.console = console
        self.job_name = job_name
        self.materializations: list[Materialized] = []
        self.numbers: dict[str, float] = {}
        self.markdown: dict[str, str] = {}
        self.failures: list[str] = []

    def _metadata(self, metadata: Mapping[str, Any]) -> None:
        for label, value in metadata.items():
            number = _numeric(value)
            if number is not None and label != ROW_COUNT:
                self.numbers[label] = number
            elif type(value).__name__ == "MarkdownMetadataValue":
                self.markdown[label] = str(value.value)

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
            rows = _numeric(mat.metadata.get(ROW_COUNT))
            key = tuple(mat.asset_key.path)
            self.materializations.append(Materialized(key, entry.step_key, _int(rows)))
            self._metadata(mat.metadata)
            suffix = f" ({int(rows):,} rows)" if rows is not None else ""
            self.console.log(f"  materialized {'/'.join(key)}{suffix}")
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


def execute_job(
    job_name: str,
    *,
    settings: StackSettings,
    env: Mapping[str, str],
    console: Console,
    run_config: Mapping[str, Any] | None = None,
    module: str = DEFINITIONS_MODULE,
    timeout: float = 3600.0,
    poll_interval: float = 0.5,
) -> JobRun:
    """Run `job_name` with `dagster job execute` in the instance of DAGSTER_HOME; follow it.

    The caller's process must have DAGSTER_HOME set (to read the same instance).
    """
    from dagster import DagsterInstance, RunsFilter

    token = uuid.uuid4().hex
    log = settings.logs_dir / f"job-{job_name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = [*dagster_argv(), "job", "execute", "-m", module, "-j", job_name]
    argv += ["--tags", json.dumps({INVOCATION_TAG: token})]
    if run_config:
        config_file = settings.run_dir / f"{job_name}-run-config.yaml"
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config_file.write_text(yaml.safe_dump(dict(run_config)))
        argv += ["-c", str(config_file)]
    instance = DagsterInstance.get()
    follower = _Follower(console, job_name)
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
        with console.status(f"[bold]{job_name}[/]: starting", spinner="dots"):
            while True:
                finished = process.poll() is not None
                if run_id is None:
                    runs = instance.get_runs(filters=RunsFilter(tags={INVOCATION_TAG: token}))
                    run_id = runs[0].run_id if runs else None
                if run_id is not None:
                    conn = instance.get_records_for_run(run_id, cursor=cursor)
                    for record in conn.records:
                        follower.handle(record.event_log_entry)
                    cursor = conn.cursor
                if finished:
                    break
                if time.monotonic() > deadline:
                    process.terminate()
                    process.wait(timeout=30)
                    raise JobFailedError(
                        f"job {job_name} did not finish within {timeout:g} s; see {log}"
                    )
                time.sleep(poll_interval)
    except KeyboardInterrupt:
        process.terminate()
        process.wait(timeout=30)
        raise
    if run_id is None:
        raise JobFailedError(
            f"`dagster job execute -j {job_name}` exited with code {process.returncode} "
            f"without starting a run. Last lines of {log}:\n{log_tail(log)}"
        )
    run = instance.get_run_by_id(run_id)
    status = run.status.value if run is not None else "UNKNOWN"
    if status != "SUCCESS" or process.returncode != 0:
        reasons = "\n".join(follower.failures) or log_tail(log)
        raise JobFailedError(
            f"job {job_name} run {run_id} ended {status}. {reasons}\n(full log: {log}; the run "
            f"is in the Dagster UI: `fivetran-assets dev`)"
        )
    return JobRun(
        job_name=job_name,
        run_id=run_id,
        status=status,
        log=log,
        materializations=tuple(follower.materializations),
        numbers=dict(follower.numbers),
        markdown=dict(follower.markdown),
    )
