"""Run a transformation project's dbt commands against the group's destination.

The local Fivetran cannot clone git: `git_remote_url` must be a local folder or a `file://`
URL. A profile for the destination (dbt-duckdb or dbt-postgres) is generated in the run's work
folder; each step runs dbt-core in a subprocess (so a crashing model cannot take the server
down, and a run can be cancelled). For DuckDB the destination's writer lock is held while dbt
runs, since dbt writes the same file the syncs do.

Each step reports what Fivetran's dbt run events carry (its command, exit code, dbt's console
output, start and end, models built and failed); the step's `run_results.json` is kept in the
request's `results_dir`, one file per step.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml

from fivetran_assets.emulator.dataplane.contract import (
    Cancelled,
    DataPlaneError,
    DbtRunReport,
    DbtRunRequest,
    DbtStepResult,
    SetupTest,
)
from fivetran_assets.emulator.dataplane.locks import destination_lock
from fivetran_assets.emulator.dataplane.registry import make_destination

_SUBCOMMANDS = {"run", "build", "test", "seed", "snapshot", "compile", "deps", "source", "ls"}
_FULL_REFRESH = {"run", "build", "seed"}


def resolve_project(project_config: dict[str, Any]) -> Path:
    """The folder holding dbt_project.yml, from git_remote_url (+ folder_path)."""
    url = project_config.get("git_remote_url")
    if not isinstance(url, str) or not url:
        raise DataPlaneError("project_config.git_remote_url is required")
    if url.startswith("file://"):
        root = Path(unquote(urlparse(url).path))
    elif "://" in url or url.startswith("git@"):
        raise DataPlaneError(
            f"project_config.git_remote_url {url!r}: the local Fivetran cannot clone remote git "
            "repositories; use a local path or a file:// URL to the dbt project"
        )
    else:
        root = Path(url).expanduser()
    folder = str(project_config.get("folder_path") or "").strip("/")
    project = root / folder if folder else root
    if not (project / "dbt_project.yml").is_file():
        raise DataPlaneError(f"no dbt_project.yml in {project} (git_remote_url + folder_path)")
    return project


def test_project(project_config: dict[str, Any]) -> list[SetupTest]:
    title = "Finding the dbt project"
    try:
        resolve_project(project_config)
    except DataPlaneError as exc:
        return [SetupTest(title, "FAILED", str(exc))]
    return [SetupTest(title, "PASSED")]


def _profile(request: DbtRunRequest, project: Path) -> tuple[str, dict[str, Any]]:
    meta = yaml.safe_load((project / "dbt_project.yml").read_text()) or {}
    name = str(meta.get("profile") or "fivetran_assets")
    cfg = request.project_config
    target = str(cfg.get("target_name") or "prod")
    common = {
        "schema": str(cfg.get("default_schema") or "analytics"),
        "threads": int(cfg.get("threads") or 4),
    }
    dest = request.destination_config
    if request.destination_service == "duckdb":
        output = {"type": "duckdb", "path": str(Path(dest["path"]).expanduser().resolve())}
    elif request.destination_service == "postgres_warehouse":
        output = {
            "type": "postgres",
            "host": str(dest["host"]),
            "port": int(dest["port"]),
            "user": str(dest["user"]),
            # dbt scrubs DBT_ENV_SECRET_* values from its logs; the file never holds the secret.
            "password": "{{ env_var('DBT_ENV_SECRET_PASSWORD') }}",
            "dbname": str(dest["database"]),
        }
    else:
        raise DataPlaneError(f"dbt cannot run on destination {request.destination_service!r}")
    return name, {name: {"target": target, "outputs": {target: output | common}}}


def _dbt_command() -> list[str]:
    sibling = Path(sys.executable).with_name("dbt")
    return [str(sibling)] if sibling.exists() else [sys.executable, "-m", "dbt.cli.main"]


def _environment(request: DbtRunRequest) -> dict[str, str]:
    env = dict(os.environ)
    work = request.work_dir
    if request.destination_service == "postgres_warehouse":
        env["DBT_ENV_SECRET_PASSWORD"] = str(request.destination_config.get("password") or "")
    env |= {
        "DBT_PROFILES_DIR": str(work),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
        "DBT_PARTIAL_PARSE": "false",
    }
    for item in request.project_config.get("environment_vars") or []:
        name, sep, value = str(item).partition("=")
        if not sep or not name:
            raise DataPlaneError(f"project_config.environment_vars: {item!r} is not NAME=value")
        env[name] = value
    return env


def _step_args(command: str, *, full_refresh: bool) -> list[str]:
    args = shlex.split(command)
    if len(args) < 2 or args[0] != "dbt" or args[1] not in _SUBCOMMANDS:
        raise DataPlaneError(
            f"step command {command!r}: expected 'dbt <{'|'.join(sorted(_SUBCOMMANDS))}> ...'"
        )
    if full_refresh and args[1] in _FULL_REFRESH and "--full-refresh" not in args:
        args.append("--full-refresh")
    return args[1:]


def _results(path: Path) -> tuple[list[str], list[str], int]:
    """(models built, failure messages, models failed) from a step's run_results.json."""
    if not path.is_file():
        return [], [], 0
    built, failures, failed = [], [], 0
    for result in json.loads(path.read_text()).get("results", []):
        unique_id = str(result.get("unique_id", ""))
        status = result.get("status")
        if unique_id.startswith("model.") and status == "success":
            built.append(unique_id.rsplit(".", 1)[-1])
        elif status in ("error", "fail", "runtime error"):
            failed += unique_id.startswith("model.")
            failures.append(f"{unique_id}: {result.get('message') or status}")
    return built, failures, failed


def _tail(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return "\n".join((errors or lines)[-15:])


def _keep(results: Path, request: DbtRunRequest, index: int, name: str) -> None:
    """Keep the step's run_results.json beside the run's others (`results_dir`)."""
    if request.results_dir is None or not results.is_file():
        return
    request.results_dir.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "step"
    shutil.copyfile(results, request.results_dir / f"{index}-{safe}.json")


def _run_step(
    request: DbtRunRequest,
    project: Path,
    env: dict[str, str],
    index: int,
    step: tuple[str, str, list[str]],
    cancelled: Cancelled,
) -> tuple[DbtStepResult, list[str]]:
    """Run one dbt command; its result and the models it built."""
    name, command, args = step
    results = request.work_dir / "target" / "run_results.json"
    results.unlink(missing_ok=True)
    started = time.monotonic()
    proc = subprocess.Popen(
        [*_dbt_command(), *args, "--project-dir", str(project)],
        cwd=request.work_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = _wait(proc, cancelled)
    ended = time.monotonic()
    if output is None:
        canceled = DbtStepResult(name, command, None, "", "canceled", started, ended)
        return canceled, []
    built, failures, failed = _results(results)
    _keep(results, request, index, name)
    error = "" if proc.returncode == 0 else ("\n".join(failures) or _tail(output))
    result = DbtStepResult(
        name,
        command,
        proc.returncode,
        output,
        error,
        started,
        ended,
        successful_models=len(built),
        failed_models=failed,
    )
    return result, built


def run_dbt(request: DbtRunRequest, *, cancelled: Cancelled) -> DbtRunReport:
    project = resolve_project(request.project_config)
    work = request.work_dir
    work.mkdir(parents=True, exist_ok=True)
    _, profiles = _profile(request, project)
    # profiles.yml may hold the warehouse password: private to the owner, like the state file
    profile_file = work / "profiles.yml"
    profile_file.touch(mode=0o600)
    profile_file.chmod(0o600)
    profile_file.write_text(yaml.safe_dump(profiles))
    env = _environment(request)
    steps = [
        (
            s.get("name", ""),
            s["command"],
            _step_args(s["command"], full_refresh=request.full_refresh),
        )
        for s in request.steps
    ]
    destination = make_destination(request.destination_service, request.destination_config)
    lock = (
        destination_lock(destination.lock_key)
        if request.destination_service == "duckdb"
        else nullcontext()
    )
    models: list[str] = []
    done: list[DbtStepResult] = []
    with lock:
        for index, step in enumerate(steps, start=1):
            result, built = _run_step(request, project, env, index, step, cancelled)
            done.append(result)
            models.extend(m for m in built if m not in models)
            if result.exit_code is None:
                message = f"step {result.name!r}: canceled"
                return DbtRunReport(False, tuple(models), message, tuple(done))
            if not result.succeeded:
                message = f"step {result.name!r} failed: {result.error}"
                return DbtRunReport(False, tuple(models), message, tuple(done))
    return DbtRunReport(
        True,
        tuple(models),
        f"{len(steps)} step(s) succeeded; {len(models)} model(s) built",
        tuple(done),
    )


def _wait(proc: subprocess.Popen[str], cancelled: Cancelled) -> str | None:
    """Wait for dbt, killing it when the run is cancelled (then None)."""
    while True:
        try:
            out, _ = proc.communicate(timeout=0.2)
            return out or ""
        except subprocess.TimeoutExpired:
            if cancelled():
                proc.terminate()
                try:
                    proc.communicate(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()
                return None
