"""The `fivetran-assets` command line: emulator, webhooks, validate (and later plan, apply, demo).

Each area owns its commands in its own `cli.py`; this module only assembles them. Heavy imports
stay inside the commands so `fivetran-assets --help` is instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from fivetran_assets import __version__
from fivetran_assets.emulator.cli import emulator
from fivetran_assets.estate.cli import validate
from fivetran_assets.reconcile.cli import AFTER_APPLY, apply, plan
from fivetran_assets.snapshot.cli import refresh
from fivetran_assets.stack.cli import demo, dev, stop
from fivetran_assets.webhooks.cli import webhooks


def _refresh_component_state(config: str, estate: Any, client: Any) -> list[str]:
    """After `apply`: refresh the state of the project's FivetranEstateComponent over `config`."""
    from fivetran_assets.dagster.component import refresh_project_state

    return refresh_project_state(Path(config), estate.root, client)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fivetran-assets")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Run a Fivetran estate as code, as Dagster assets."""
    ctx.meta[AFTER_APPLY] = _refresh_component_state


main.add_command(emulator)
main.add_command(webhooks)
main.add_command(validate)
main.add_command(plan)
main.add_command(apply)
main.add_command(refresh)
main.add_command(demo)
main.add_command(dev)
main.add_command(stop)
