"""`fivetran-assets emulator seed-demo`: create the demo's department databases."""

from __future__ import annotations

import click


@click.command("seed-demo")
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False))
@click.option("--departments", default=4, show_default=True, type=int)
@click.option("--rows", default=1000, show_default=True, type=int)
@click.option("--seed", default=42, show_default=True, type=int)
def seed_demo(directory: str, departments: int, rows: int, seed: int) -> None:
    """Create DEPARTMENTS SQLite department databases under DIR."""
    raise click.ClickException("seed-demo is not implemented yet")
