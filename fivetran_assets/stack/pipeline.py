"""The demo's main job: provisioning then the `pipeline` job, through Dagster, then a summary.

Both runs go into the persistent instance of DAGSTER_HOME (`<project>/.dagster_home`), so
`fivetran-assets dev` afterwards shows them with their materializations. Running the demo again
is fine: provisioning finds nothing to create and the syncs are incremental.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from fivetran_assets.reconcile.plan import Plan
from fivetran_assets.reconcile.render import PLAN_JSON, render_plan
from fivetran_assets.stack.runner import JobRun, execute_job
from fivetran_assets.stack.settings import StackSettings
from fivetran_assets.stack.summary import TableRows, render_summary, warehouse_tables

PROVISION_JOB = "provision_fivetran"
PIPELINE_JOB = "pipeline"


@dataclass(frozen=True)
class DemoResult:
    provision: JobRun
    pipeline: JobRun
    tables: tuple[TableRows, ...]


@contextlib.contextmanager
def _environ(env: Mapping[str, str]) -> Iterator[None]:
    """Apply `env` to os.environ for the block: definitions and DagsterInstance.get() read it."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _show_plan(console: Console, data: Any) -> None:
    """The provisioning run's plan, as `fivetran-assets plan` shows it at this width."""
    plan = Plan.from_dict(data)
    for part in render_plan(plan, width=console.width):
        console.print(part)


def run_demo_pipeline(
    env: Mapping[str, str],
    *,
    settings: StackSettings | None = None,
    console: Console | None = None,
    workspace: Path | None = None,
) -> DemoResult:
    """Run `provision_fivetran` then `pipeline` in the workspace's code location (default: the
    project's workspace.yaml); print the summary.

    `env` is the stack's environment (`credentials.stack_env`): base URL, credentials, demo
    folder, webhook URL and secret, DAGSTER_HOME. Raises MissingJobError naming a missing job
    before running anything, JobFailedError when a run fails.
    """
    settings = settings or StackSettings.from_env()
    console = console or Console(log_path=False)
    with _environ(env):
        console.rule(f"[bold]1/2 Provisioning[/] ({PROVISION_JOB})")
        provision = execute_job(
            PROVISION_JOB,
            settings=settings,
            env=env,
            console=console,
            workspace=workspace,
            require=[PIPELINE_JOB],
            show_json={PLAN_JSON: lambda data: _show_plan(console, data)},
        )
        console.rule(f"[bold]2/2 Syncs and transformations[/] ({PIPELINE_JOB})")
        started = datetime.now(UTC).replace(tzinfo=None)  # `_fivetran_synced` is naive UTC
        pipeline = execute_job(
            PIPELINE_JOB, settings=settings, env=env, console=console, workspace=workspace
        )
    tables = tuple(warehouse_tables(settings.warehouse_path, since=started))
    console.rule("[bold]Summary")
    render_summary(
        console,
        provision=provision,
        pipeline=pipeline,
        warehouse=settings.warehouse_path,
        tables=tables,
    )
    return DemoResult(provision=provision, pipeline=pipeline, tables=tables)
