"""`fivetran-assets validate`: check the estate config without calling the API."""

from __future__ import annotations

import click


@click.command()
@click.argument("path", required=False, default="config")
def validate(path: str) -> None:
    """Validate the estate config at PATH (a file or folder; default config/)."""
    raise click.ClickException("validate is not implemented yet")
