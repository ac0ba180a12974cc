"""The `fivetran-assets` command line: emulator, webhooks, validate, plan, apply, refresh, demo.

Each area owns its commands in its own `cli.py`; this module assembles them and owns the one
rule for failures: whatever goes wrong is one message on stderr (what failed, and where) and exit
status 1; the traceback only with `--debug` (anywhere on the line) or FIVETRAN_ASSETS_DEBUG=1.
Heavy imports stay inside the commands so `fivetran-assets --help` is instant.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import click

from fivetran_assets import __version__
from fivetran_assets.emulator.cli import emulator
from fivetran_assets.estate.cli import validate
from fivetran_assets.importer.cli import import_
from fivetran_assets.reconcile.cli import AFTER_APPLY, apply, plan
from fivetran_assets.snapshot.cli import refresh
from fivetran_assets.stack.cli import demo, dev, stop
from fivetran_assets.webhooks.cli import webhooks

DEBUG_ENV = "FIVETRAN_ASSETS_DEBUG"
_PASS_THROUGH = (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit)


def _refresh_component_state(config: str, estate: Any, client: Any) -> list[str]:
    """After `apply`: refresh the state of the project's FivetranEstateComponent over `config`."""
    from fivetran_assets.dagster.component import refresh_project_state

    return refresh_project_state(Path(config), estate.root, client)


def failure_message(exc: BaseException) -> str:
    """One line (or a few, for a config's problems) saying what failed and where."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.strerror or exc}: {exc.filename}"
    if isinstance(exc, sqlite3.Error):
        return f"database error: {exc}"
    text = str(exc).strip() or "(no message)"
    known = exc.__module__.startswith("fivetran_assets") or isinstance(exc, OSError)
    return text if known else f"{type(exc).__name__}: {text} (run with --debug for the traceback)"


class Cli(click.Group):
    """The root group: turns any failure of a command into one message and exit 1."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        cut = args.index("--") if "--" in args else len(args)
        if "--debug" in args[:cut]:
            ctx.meta["debug"] = True
            args = [a for a in args[:cut] if a != "--debug"] + args[cut:]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except Exception as exc:
            if ctx.meta.get("debug") or os.environ.get(DEBUG_ENV, "") not in ("", "0"):
                raise
            raise click.ClickException(failure_message(exc)) from exc


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show the traceback when a command fails.")
@click.version_option(__version__, prog_name="fivetran-assets")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Run a Fivetran estate as code, as Dagster assets."""
    ctx.meta[AFTER_APPLY] = _refresh_component_state


main.add_command(emulator)
main.add_command(webhooks)
main.add_command(validate)
main.add_command(plan)
main.add_command(apply)
main.add_command(import_)
main.add_command(refresh)
main.add_command(demo)
main.add_command(dev)
main.add_command(stop)

if __name__ == "__main__":
    main()
