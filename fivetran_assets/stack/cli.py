"""`fivetran-assets demo | dev | stop`: the local stack from one command, and its clean-up."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Sequence

import click
from rich.console import Console

from fivetran_assets.extras import MissingExtra
from fivetran_assets.stack.credentials import (
    CredentialsError,
    load_or_create_credentials,
    mask,
    stack_env,
)
from fivetran_assets.stack.devlog import LogFollower, log_size
from fivetran_assets.stack.env import EVAL_HINT
from fivetran_assets.stack.home import ensure_dagster_home
from fivetran_assets.stack.ports import PortBusyError, require_free_port
from fivetran_assets.stack.processes import ServiceError, ServiceManager, ServiceSpec, is_ours
from fivetran_assets.stack.runner import DemoError
from fivetran_assets.stack.services import (
    STOP_ORDER,
    dagster_dev_spec,
    emulator_spec,
    receiver_spec,
    seed_if_missing,
)
from fivetran_assets.stack.settings import StackConfigError, StackSettings

_EXPECTED = (
    StackConfigError,
    CredentialsError,
    PortBusyError,
    ServiceError,
    DemoError,
    MissingExtra,
)


def preflight(manager: ServiceManager, specs: Sequence[ServiceSpec]) -> None:
    """Check every port before starting anything, skipping services already running as ours."""
    for spec in specs:
        record = manager.read(spec.name)
        if record is not None and is_ours(record) and record.port == spec.port:
            continue
        require_free_port(
            manager.settings.host, spec.port, service=spec.title, env_var=spec.port_env
        )


def start_services(manager: ServiceManager, specs: Sequence[ServiceSpec], console: Console) -> None:
    """Start (or find) each service, then record the stack's ports for commands typed later."""
    preflight(manager, specs)
    for spec in specs:
        with console.status(f"starting {spec.title} on port {spec.port}"):
            started = manager.start(spec)
        how = "already running" if started.reused else "started"
        console.print(
            f"{spec.title}: {how} on port {spec.port} (pid {started.record.pid}, "
            f"log {started.record.log})",
            soft_wrap=True,  # a path stays whole for copy and paste
        )
    manager.settings.record()


def _prepare(console: Console) -> tuple[StackSettings, dict[str, str], ServiceManager, list]:
    from fivetran_assets.extras import require_local

    for module in ("duckdb", "pyarrow", "dagster_webserver"):
        require_local(module, "the local stack (demo, dev)")
    settings = StackSettings.from_env()
    creds = load_or_create_credentials(settings.state_dir)
    env = stack_env(settings, creds)
    ensure_dagster_home(settings.dagster_home)
    console.print(
        f"Local credentials: API key {mask(creds.api_key)} (secrets in "
        f"{settings.state_dir / 'credentials.json'}); DAGSTER_HOME={settings.dagster_home}",
        soft_wrap=True,
    )
    specs = [emulator_spec(settings, creds, env), receiver_spec(settings, env)]
    return settings, env, ServiceManager(settings), specs


@click.command()
@click.option("--departments", default=4, show_default=True, type=click.IntRange(min=1))
@click.option("--rows", default=1000, show_default=True, type=click.IntRange(min=1))
def demo(departments: int, rows: int) -> None:
    """Seed the demo data, start the local stack, provision and run the pipeline in Dagster."""
    from fivetran_assets.stack.pipeline import run_demo_pipeline

    console = Console(log_path=False)
    try:
        settings, env, manager, specs = _prepare(console)
        preflight(manager, specs)
        if seed_if_missing(settings, departments=departments, rows=rows):
            console.print(
                f"Seeded {departments} department databases in {settings.sources_dir}",
                soft_wrap=True,
            )
        start_services(manager, specs, console)
        run_demo_pipeline(env, settings=settings, console=console)
    except _EXPECTED as exc:
        raise click.ClickException(str(exc)) from None
    console.print(
        f"\nThe local Fivetran and the receiver keep running (ports recorded in "
        f"{settings.record_path}). `make dev` shows these runs in the Dagster UI; `make stop` "
        "stops everything. `.venv/bin/fivetran-assets plan` (or apply, refresh) typed in any "
        "shell finds them; for `dagster` commands, load their environment (DAGSTER_HOME "
        "included) into your shell first:",
        markup=False,
    )
    console.print(EVAL_HINT, markup=False, soft_wrap=True)


@click.command()
def dev() -> None:
    """Start the local stack and `dg dev` (webserver and daemon); Ctrl-C stops all.

    Dagster's output goes to .state/logs/dagster.log; the terminal shows its warnings and errors.
    """
    console = Console(log_path=False)
    try:
        settings, env, manager, specs = _prepare(console)
        dagster = dagster_dev_spec(settings, env)
        preflight(manager, [*specs, dagster])
        start_services(manager, specs, console)
        log = manager.log_path(dagster.name)
        follower = LogFollower(log, offset=log_size(log), show=_show_dagster_line(console))
        with console.status(f"starting dg dev on {settings.dagster_url} (loading code)"):
            started = manager.start(dagster)
    except _EXPECTED as exc:
        raise click.ClickException(str(exc)) from None
    follower.pump()
    console.print(f"\n[bold green]Dagster UI: {settings.dagster_url}[/]  (Ctrl-C stops everything)")
    console.print(f"Dagster's warnings and errors show here; its full log is {log}", soft_wrap=True)
    if started.process is None:
        console.print(f"dg dev was already running (pid {started.record.pid}).")
        return
    code = 0
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _interrupt)
    process = started.process
    try:
        follower.follow(lambda: process.poll() is None)
        code = process.returncode
        console.print(f"dg dev exited with code {code}; stopping the stack")
    except KeyboardInterrupt:
        console.print("\nstopping…")
    _report(console, manager.stop_all(order=STOP_ORDER))
    sys.exit(code)


@click.command()
def stop() -> None:
    """Stop what `demo` or `dev` left running (by pid files in .state/run/)."""
    console = Console(log_path=False)
    try:
        manager = ServiceManager(StackSettings.from_env())
        results = manager.stop_all(order=STOP_ORDER)
    except _EXPECTED as exc:
        raise click.ClickException(str(exc)) from None
    if not results:
        console.print("Nothing was running.")
    _report(console, results)


def _show_dagster_line(console: Console) -> Callable[[str], None]:
    def show(line: str) -> None:
        console.print(line, markup=False, highlight=False, soft_wrap=True)

    return show


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM or SIGHUP (terminal closed) stop the stack like Ctrl-C does."""
    raise KeyboardInterrupt


def _report(console: Console, results: dict) -> None:
    for name, result in results.items():
        console.print(f"{name}: {result.value}")
