"""`fivetran-assets plan` and `fivetran-assets apply`: reconcile Fivetran with config/.

`plan` is always a dry run: exit 0 when nothing is to do, 2 when changes are pending, 1 on
error; it takes no lock. `apply` takes the estate's apply lock (waiting up to `--lock-timeout`
for another apply or `provision_fivetran` run, then failing with a message naming the holder),
plans under it, shows the plan, asks unless `--yes`, applies it with a progress bar and reports
the verification (a fresh plan must be empty). The config is loaded and validated before any
client exists, so an invalid config costs no API call. Before reading, and again before
applying, each prints on stderr the API calls it will need and their share of the hourly budget
(`reconcile.budget`), with a warning past half of it.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from fivetran_assets.durations import Duration

EXIT_CLEAN = 0
EXIT_ERROR = 1
EXIT_PENDING = 2
AFTER_APPLY = "fivetran_assets.after_apply"
"""Key, in the root click context's `meta`, of `hook(config, estate, client) -> lines to print`
run after an apply that changed the estate. The top-level CLI sets it (the Dagster face
refreshes its component's state); this layer imports no Dagster. Without it, apply writes the
snapshot file."""


def _reconciler(config: str, *, workers: int | None = None, snapshot: bool = True) -> Any:
    """Load the estate (no API call), then build the client and the reconciler."""
    from fivetran_assets.estate import EstateError, load_estate
    from fivetran_assets.estate.connect import client_for
    from fivetran_assets.estate.errors import MissingCredentialsError
    from fivetran_assets.reconcile.service import Reconciler
    from fivetran_assets.stack.env import command_environment

    try:
        estate = load_estate(config)
        environment = command_environment(estate)
        return Reconciler(
            estate,
            client_for(estate, environment),
            environment=environment,
            workers=workers,
            refresh_snapshot=snapshot,
        )
    except MissingCredentialsError as exc:
        raise click.ClickException(str(exc)) from None
    except EstateError as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def _print_plan(console: Any, plan: Any) -> None:
    """The plan as the terminal's width allows (a list below 100 columns), then its summary."""
    from fivetran_assets.reconcile.render import render_plan

    for part in render_plan(plan, width=console.width):
        console.print(part)
    console.print(plan.summary(), style="bold")


def _say_calls(what: str, calls: int, estate: Any) -> None:
    """`Reading the live estate: ~1,006 calls, 5% of 20,000/h` on stderr (stdout may be JSON)."""
    from rich.console import Console

    from fivetran_assets.reconcile.budget import estimate

    needed = estimate(calls, estate)
    console = Console(stderr=True)
    console.print(f"{what}: {needed.describe()}", style="dim", highlight=False)
    warning = needed.warning()
    if warning:
        console.print(f"Warning: {warning}", style="yellow", highlight=False)


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(EXIT_ERROR)


@click.command()
@click.option(
    "--config", "config", default="config", show_default=True, help="Config file or folder."
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan(config: str, as_json: bool) -> None:
    """Show what apply would change (a dry run). Exit 0: nothing to do, 2: changes, 1: error."""
    from rich.console import Console

    from fivetran_assets.estate import EstateError
    from fivetran_assets.fivetran.errors import FivetranError
    from fivetran_assets.reconcile.budget import plan_calls
    from fivetran_assets.reconcile.reader import AmbiguousIdentityError
    from fivetran_assets.state.database import StateError

    try:
        reconciler = _reconciler(config)
        _say_calls("Reading the live estate", plan_calls(reconciler.estate), reconciler.estate)
        result = reconciler.plan()
    except click.ClickException as exc:
        _fail(exc.message)
        return
    except (FivetranError, EstateError, AmbiguousIdentityError, StateError) as exc:
        _fail(str(exc))
        return
    if as_json:
        click.echo(result.to_json())
    else:
        _print_plan(Console(), result)
    sys.exit(EXIT_CLEAN if result.is_empty else EXIT_PENDING)


@click.command()
@click.option(
    "--config", "config", default="config", show_default=True, help="Config file or folder."
)
@click.option("--yes", is_flag=True, help="Apply without asking.")
@click.option(
    "--prune",
    is_flag=True,
    help="Delete resources in managed groups that config/ does not declare.",
)
@click.option(
    "--allow-destructive",
    is_flag=True,
    help="Apply even when deletes/replacements exceed the safety threshold.",
)
@click.option(
    "--lock-timeout",
    type=Duration(),
    default="10m",
    show_default=True,
    help="How long to wait for another apply (or provision_fivetran run) of this estate.",
)
def apply(config: str, yes: bool, prune: bool, allow_destructive: bool, lock_timeout: Any) -> None:
    """Make the live Fivetran estate match config/, then verify it does."""
    from rich.console import Console

    from fivetran_assets.estate import EstateError
    from fivetran_assets.fivetran.errors import FivetranError
    from fivetran_assets.reconcile.plan import UnsafePlanError
    from fivetran_assets.reconcile.reader import AmbiguousIdentityError
    from fivetran_assets.state.database import StateError

    console = Console()

    def waiting(holder: Any) -> None:
        who = holder.describe() if holder else "another process"
        console.print(f"Waiting up to {lock_timeout} for the apply lock, held by {who}...")

    after_apply = click.get_current_context().find_root().meta.get(AFTER_APPLY)
    try:
        reconciler = _reconciler(config, snapshot=after_apply is None)
        with reconciler.lock(timeout=lock_timeout, on_wait=waiting):
            report = _plan_and_apply(console, reconciler, yes, prune, allow_destructive)
    except click.ClickException as exc:
        _fail(exc.message)
        return
    except (UnsafePlanError, FivetranError, EstateError, AmbiguousIdentityError, StateError) as exc:
        _fail(str(exc))
        return
    if report is None:
        return
    for line in report.result.failures():
        console.print(f"[red]{line}[/red]")
    console.print(report.describe(), style="bold green" if report.ok else "bold red")
    if report.verification is not None and not report.verified:
        _print_plan(console, report.verification)
    if report.ok and after_apply is not None:
        for line in after_apply(config, reconciler.estate, reconciler.client):
            console.print(line, markup=False)
    sys.exit(EXIT_CLEAN if report.ok else EXIT_ERROR)


def _plan_and_apply(
    console: Any, reconciler: Any, yes: bool, prune: bool, allow_destructive: bool
) -> Any:
    """Plan, show, confirm and apply (under the caller's lock); None when nothing was applied."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from fivetran_assets.reconcile.applier import task_count
    from fivetran_assets.reconcile.budget import apply_calls, plan_calls
    from fivetran_assets.reconcile.executor import TaskState

    estate = reconciler.estate
    _say_calls("Reading the live estate", plan_calls(estate), estate)
    current = reconciler.plan(prune=prune)
    _print_plan(console, current)
    if current.is_empty:
        console.print("Nothing to apply.")
        return None
    current.raise_if_unsafe(allow_destructive=allow_destructive)
    _say_calls("Applying and verifying", apply_calls(current, estate), estate)
    if not yes and not click.confirm("Apply these changes?", default=False):
        console.print("Not applied.")
        sys.exit(EXIT_PENDING)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        bar = progress.add_task("applying", total=task_count(current))

        def advance(result: Any) -> None:
            progress.advance(bar)
            if result.state is not TaskState.DONE:
                progress.console.print(
                    f"[red]{result.label}: {result.error or result.state.value}[/red]"
                )

        return reconciler.apply(current, prune=prune, on_result=advance)
