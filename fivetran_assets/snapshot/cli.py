"""`fivetran-assets refresh`: re-read the captured schemas into the asset snapshot."""

from __future__ import annotations

import click


@click.command()
@click.option(
    "--config",
    "config_path",
    default="config",
    show_default=True,
    type=click.Path(exists=True),
    help="Estate config file or folder.",
)
@click.option(
    "--snapshot",
    "snapshot_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Where to write (default $FIVETRAN_ASSETS_SNAPSHOT or .state/snapshot.json).",
)
@click.option("--no-dbt", is_flag=True, help="Skip `dbt parse` of transformation projects.")
def refresh(config_path: str, snapshot_path: str | None, no_dbt: bool) -> None:
    """Refresh the cached snapshot the Dagster definitions are built from.

    Reads every connection's schema config from Fivetran (read-only calls), column types from
    the warehouse when reachable, and dbt models by parsing each transformation project.
    """
    from fivetran_assets.estate import EstateError, load_estate
    from fivetran_assets.estate.connect import client_for
    from fivetran_assets.fivetran.errors import FivetranError
    from fivetran_assets.snapshot.store import (
        SnapshotError,
        default_snapshot_path,
        write_snapshot,
    )
    from fivetran_assets.stack.env import command_environment

    try:
        estate = load_estate(config_path)
        client = client_for(estate, command_environment(estate))
        snapshot = write_snapshot(client, estate, snapshot_path, dbt=not no_dbt)
    except (EstateError, FivetranError, SnapshotError) as exc:
        raise click.ClickException(str(exc)) from exc
    tables = sum(len(c.tables) for c in snapshot.connections)
    models = sum(len(t.models) for t in snapshot.transformations)
    click.echo(
        f"snapshot written to {snapshot_path or default_snapshot_path(estate.root)}: "
        f"{len(snapshot.connections)} connections, {tables} tables, {models} models"
    )
