"""`fivetran-assets emulator seed-demo` and `mutate-demo`: the demo's department databases."""

from __future__ import annotations

from pathlib import Path

import click

from fivetran_assets.emulator.dataplane import mutate
from fivetran_assets.emulator.dataplane.seed import seed_demo as create_departments


@click.command("seed-demo")
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False))
@click.option("--departments", default=4, show_default=True, type=click.IntRange(min=0))
@click.option("--rows", default=1000, show_default=True, type=click.IntRange(min=0))
@click.option("--seed", default=42, show_default=True, type=int)
def seed_demo(directory: str, departments: int, rows: int, seed: int) -> None:
    """Create DEPARTMENTS SQLite department databases under DIR."""
    paths = create_departments(Path(directory), departments=departments, rows=rows, seed=seed)
    for path in paths:
        click.echo(str(path))


@click.command("mutate-demo")
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False, exists=True))
@click.option("--department", default="sales", show_default=True)
@click.option("--inserts", default=5, show_default=True, type=click.IntRange(min=0))
@click.option("--updates", default=5, show_default=True, type=click.IntRange(min=0))
@click.option("--deletes", default=2, show_default=True, type=click.IntRange(min=0))
@click.option("--add-column", "new_column", default=None, help="Add this TEXT column to employees.")
@click.option("--add-table", "new_table", default=None, help="Add a table with this name.")
@click.option("--seed", default=0, show_default=True, type=int)
def mutate_demo(
    directory: str,
    department: str,
    inserts: int,
    updates: int,
    deletes: int,
    new_column: str | None,
    new_table: str | None,
    seed: int,
) -> None:
    """Change one department database so the next sync has something to move."""
    path = Path(directory) / f"{department}.sqlite"
    if not path.is_file():
        raise click.BadParameter(f"{path} does not exist", param_hint="--department")
    added = mutate.insert_employees(path, inserts, seed=seed)
    existing = list(range(1, updates + deletes + 1))
    mutate.raise_salaries(path, existing[:updates])
    mutate.delete_rows(path, "expenses", existing[updates:])
    if new_column:
        mutate.add_column(path, "employees", new_column, "TEXT")
    if new_table:
        mutate.add_table(path, new_table)
    click.echo(
        f"{path}: {len(added)} employees inserted, {updates} updated, "
        f"{deletes} expenses deleted"
        + (f", column employees.{new_column} added" if new_column else "")
        + (f", table {new_table} added" if new_table else "")
    )
