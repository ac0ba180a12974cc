"""`fivetran-assets webhooks ...`: run the webhook receiver."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import click

DEFAULT_SECRET_ENV = "FIVETRAN_WEBHOOK_SECRET"


def secrets_from_env(names: Sequence[str]) -> list[str]:
    """The non-empty values of the named environment variables, in order.

    The seam for secret sources: the estate config's webhook secret references will resolve to
    values the same way and be passed on beside (or instead of) these.
    """
    return [value for name in names if (value := os.environ.get(name))]


@click.group()
def webhooks() -> None:
    """Receive Fivetran's signed webhooks into a durable event log."""


@webhooks.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8766, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--db",
    default=Path(".state/webhooks.sqlite"),
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite event log (created if missing).",
)
@click.option("--path", "path", default="/fivetran/webhook", show_default=True)
@click.option(
    "--secret-env",
    "secret_envs",
    multiple=True,
    metavar="NAME",
    help=f"Environment variable holding a signing secret; repeat to accept several during a "
    f"rotation. Default: {DEFAULT_SECRET_ENV}.",
)
@click.option(
    "--retention-hours",
    default=24 * 7,
    show_default=True,
    type=click.IntRange(min=1),
    help="Keep events this long (keep it above Fivetran's 24 hours of redeliveries).",
)
@click.option("--access-log/--no-access-log", default=False, show_default=True)
def serve(
    host: str,
    port: int,
    db: Path,
    path: str,
    secret_envs: tuple[str, ...],
    retention_hours: int,
    access_log: bool,
) -> None:
    """Serve POST <path> (signed Fivetran webhooks) and GET /healthz."""
    from datetime import timedelta

    from fivetran_assets.webhooks.server import run_receiver

    names = list(secret_envs) or [DEFAULT_SECRET_ENV]
    secrets = secrets_from_env(names)
    if not secrets:
        raise click.UsageError(
            "no webhook signing secret: set "
            + " or ".join(names)
            + " (the secret given to Fivetran when the webhook was created), or name other"
            " variables with --secret-env"
        )
    if not path.startswith("/"):
        raise click.BadParameter(f"must start with '/', got {path!r}", param_hint="--path")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    run_receiver(
        secrets,
        db=db,
        host=host,
        port=port,
        path=path,
        retention=timedelta(hours=retention_hours),
        access_log=access_log,
    )
