"""`fivetran-assets emulator ...`: run the local Fivetran."""

from __future__ import annotations

import click


@click.group()
def emulator() -> None:
    """The local Fivetran: a Fivetran-compatible server that really moves data."""


from fivetran_assets.emulator.dataplane.seed_cli import seed_demo  # noqa: E402

emulator.add_command(seed_demo)
