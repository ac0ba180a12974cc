"""`python -m fivetran_assets.stack.launch`: run one job in the workspace's code location.

The demo's runs must be the runs the Dagster UI itself launches: created from the code location
that `workspace.yaml` defines (so each run carries its origin, shows on its job's page and in
the timeline, and "Re-execute" works), and executed by the instance's run launcher in a run
worker of that location's code server. `dagster job launch` would hand the run to the queue,
which only a daemon drains, and the demo runs none; so this launches directly and stays until
the run ends, keeping the code server (and with it the run worker) alive. Exit status: 0 the
run succeeded, 1 it did not, 2 nothing was launched (a job missing, the location broken).
SIGTERM or Ctrl-C terminate the run first. Dagster's own output (the code server's, the run
worker's) goes to this process's stdout and stderr: the caller's log file.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

EXIT_NO_JOB = 2  # the workspace does not load or lacks a job: nothing was launched
POLL_SECONDS = 0.5
TERMINATE_GRACE_SECONDS = 30.0


class LaunchError(RuntimeError):
    """The workspace does not load or does not define the job."""


def _repositories(request_context: Any) -> list[tuple[Any, Any]]:
    """(code location, repository) pairs of the workspace; a location that failed to load is
    a LaunchError with Dagster's message."""
    pairs = []
    for name, entry in request_context.get_code_location_entries().items():
        if entry.code_location is None:
            message = entry.load_error.message.strip() if entry.load_error else "not loaded"
            raise LaunchError(f"code location {name} failed to load: {message}")
        pairs += [(entry.code_location, r) for r in entry.code_location.get_repositories().values()]
    return pairs


def require_jobs(request_context: Any, names: Sequence[str]) -> None:
    """Fail naming every job the workspace lacks (and those it has), before anything runs."""
    defined = {
        job.name
        for _, repo in _repositories(request_context)
        for job in repo.get_all_jobs()
        if not job.name.startswith("__")
    }
    missing = [n for n in names if n not in defined]
    if missing:
        raise LaunchError(
            f"the workspace has no job named {', '.join(repr(n) for n in missing)} "
            f"(jobs defined: {', '.join(sorted(defined)) or 'none'})"
        )


def _find_job(request_context: Any, job_name: str) -> tuple[Any, Any]:
    """(code location, repository) of the one location defining `job_name`."""
    found = [(loc, repo) for loc, repo in _repositories(request_context) if repo.has_job(job_name)]
    if len(found) > 1:
        where = ", ".join(f"{loc.name}:{repo.name}" for loc, repo in found)
        raise LaunchError(f"job {job_name} is defined in several code locations ({where})")
    if not found:
        require_jobs(request_context, [job_name])
    return found[0]


def create_run(
    instance: Any,
    request_context: Any,
    job_name: str,
    *,
    run_config: Mapping[str, Any],
    tags: Mapping[str, str],
) -> Any:
    """A NOT_STARTED run of the whole job, with the origins the UI needs to re-execute it."""
    from dagster._core.definitions.selector import JobSubsetSelector

    location, repo = _find_job(request_context, job_name)
    remote_job = location.get_job(
        JobSubsetSelector(
            location_name=location.name,
            repository_name=repo.name,
            job_name=job_name,
            op_selection=None,
        )
    )
    plan = location.get_execution_plan(
        remote_job,
        dict(run_config),
        step_keys_to_execute=None,
        known_state=None,
        instance=instance,
    ).execution_plan_snapshot
    return instance.create_run(
        job_name=job_name,
        run_id=None,
        run_config=dict(run_config),
        status=None,
        tags={**remote_job.tags, **tags},
        root_run_id=None,
        parent_run_id=None,
        step_keys_to_execute=plan.step_keys_to_execute,
        execution_plan_snapshot=plan,
        job_snapshot=remote_job.job_snapshot,
        parent_job_snapshot=remote_job.parent_job_snapshot,
        asset_selection=None,
        asset_check_selection=None,
        resolved_op_selection=remote_job.resolved_op_selection,
        op_selection=None,
        remote_job_origin=remote_job.get_remote_origin(),
        job_code_origin=remote_job.get_python_origin(),
        asset_graph=repo.asset_graph,
    )


def _wait(instance: Any, run_id: str) -> Any:
    while True:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.is_finished:
            return run
        time.sleep(POLL_SECONDS)


def _terminate(instance: Any, run_id: str) -> None:
    """Ask the run launcher to stop the run, and wait (bounded) for it to end."""
    print(f"terminating run {run_id}", flush=True)
    instance.run_launcher.terminate(run_id)
    deadline = time.monotonic() + TERMINATE_GRACE_SECONDS
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return
        time.sleep(POLL_SECONDS)


def launch_and_wait(
    workspace: Path,
    job_name: str,
    *,
    run_config: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    require: Sequence[str] = (),
) -> str:
    """Launch `job_name` from `workspace` in DAGSTER_HOME's instance; the run's final status.

    `require` names more jobs that must exist (the caller runs them next): checked first.
    """
    from dagster import DagsterInstance
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import WorkspaceFileTarget

    with (
        DagsterInstance.get() as instance,
        WorkspaceProcessContext(
            instance, WorkspaceFileTarget(paths=[str(workspace)])
        ) as process_context,
    ):
        request_context = process_context.create_request_context()
        require_jobs(request_context, [job_name, *require])
        run = create_run(
            instance, request_context, job_name, run_config=run_config or {}, tags=tags or {}
        )
        print(f"launching run {run.run_id} of {job_name}", flush=True)
        try:
            instance.launch_run(run.run_id, request_context)
            final = _wait(instance, run.run_id)
        except KeyboardInterrupt:
            _terminate(instance, run.run_id)
            raise
        print(f"run {run.run_id} ended {final.status.value}", flush=True)
        return final.status.value


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fivetran_assets.stack.launch")
    parser.add_argument("-w", "--workspace", required=True, type=Path)
    parser.add_argument("-j", "--job", required=True)
    parser.add_argument("-c", "--config", type=Path, help="run config (YAML)")
    parser.add_argument("--tags", default="{}", help="run tags (JSON object)")
    parser.add_argument("--require", action="append", default=[], help="another job to expect")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    run_config = yaml.safe_load(args.config.read_text()) if args.config else {}
    try:
        status = launch_and_wait(
            args.workspace,
            args.job,
            run_config=run_config or {},
            tags=json.loads(args.tags),
            require=args.require,
        )
    except LaunchError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return EXIT_NO_JOB
    except KeyboardInterrupt:
        return 130
    return 0 if status == "SUCCESS" else 1


if __name__ == "__main__":
    sys.exit(main())
