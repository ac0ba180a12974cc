"""`fivetran-assets webhooks ...`: run the webhook receiver, list the events it stored.

Both commands take the event log as `--db` (default `$FIVETRAN_ASSETS_EVENT_LOG`, else
`.state/webhooks.sqlite`): a file path, `sqlite:///PATH` or `postgresql://user@host:port/db`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import click

from fivetran_assets.durations import Duration

DEFAULT_SECRET_ENV = "FIVETRAN_WEBHOOK_SECRET"
EVENT_LOG_ENV = "FIVETRAN_ASSETS_EVENT_LOG"
DEFAULT_EVENT_LOG = ".state/webhooks.sqlite"


def secrets_from_env(names: Sequence[str]) -> list[str]:
    """The non-empty values of the named environment variables, in order.

    The seam for secret sources: the estate config's webhook secret references will resolve to
    values the same way and be passed on beside (or instead of) these.
    """
    return [value for name in names if (value := os.environ.get(name))]


def _db_option(help_text: str) -> Any:
    return click.option(
        "--db",
        default=DEFAULT_EVENT_LOG,
        show_default=True,
        envvar=EVENT_LOG_ENV,
        show_envvar=True,
        metavar="URL",
        help=help_text,
    )


def _event_log_url(value: str) -> Any:
    from fivetran_assets.state.database import DatabaseURL, StateError

    if value.strip().lower() in ("", "off", "none", "false", "0"):
        raise click.BadParameter(
            f"{value!r} turns the event log off; give a path or URL", param_hint="--db"
        )
    try:
        return DatabaseURL.parse(value)
    except StateError as exc:
        raise click.BadParameter(str(exc), param_hint="--db") from None


@click.group()
def webhooks() -> None:
    """Receive Fivetran's signed webhooks into a durable event log."""


@webhooks.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8766, show_default=True, type=click.IntRange(0, 65535))
@_db_option(
    "Event log: a file path, sqlite:///PATH, or postgresql://user@host:port/db shared by "
    "every receiver (created or migrated if needed)."
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
    db: str,
    path: str,
    secret_envs: tuple[str, ...],
    retention_hours: int,
    access_log: bool,
) -> None:
    """Serve POST <path> (signed Fivetran webhooks) and GET /healthz."""
    from fivetran_assets.state.database import StateError
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
    url = _event_log_url(db)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        run_receiver(
            secrets,
            db=url,
            host=host,
            port=port,
            path=path,
            retention=timedelta(hours=retention_hours),
            access_log=access_log,
        )
    except StateError as exc:
        raise click.ClickException(f"cannot open the event log: {exc}") from None


@webhooks.command()
@_db_option("Event log to read: a file path, sqlite:///PATH or postgresql://...")
@click.option(
    "--since", type=Duration(), default=None, help="Only events received this recently (2h, 1d)."
)
@click.option(
    "--event", "event_names", multiple=True, metavar="NAME", help="Only this event (repeatable)."
)
@click.option(
    "--connection",
    "connection_ids",
    multiple=True,
    metavar="ID",
    help="Only this connection id (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1), metavar="N")
def events(
    db: str,
    since: timedelta | None,
    event_names: tuple[str, ...],
    connection_ids: tuple[str, ...],
    as_json: bool,
    limit: int,
) -> None:
    """List stored events, newest first: what Fivetran sent and how often it delivered each."""
    import json
    from datetime import UTC, datetime

    from fivetran_assets.state.database import Dialect, StateError
    from fivetran_assets.webhooks.store import EventLog

    url = _event_log_url(db)
    if url.dialect is Dialect.SQLITE and not url.path.exists():
        raise click.ClickException(
            f"no event log at {url.path}: start the receiver with --db {url.path}, or pass the "
            f"log's path or URL with --db (or ${EVENT_LOG_ENV})"
        )
    try:
        with EventLog(url) as log:
            stored = log.list_events(
                since=datetime.now(UTC) - since if since is not None else None,
                events=event_names or None,
                connection_ids=connection_ids or None,
                limit=limit,
            )
    except StateError as exc:
        raise click.ClickException(f"cannot read the event log: {exc}") from None
    rows = [_row(item) for item in stored]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    _print_table(rows, source=url.masked)


def _row(stored: Any) -> dict[str, Any]:
    event = stored.event
    return {
        "id": stored.id,
        "received_at": stored.received_at.isoformat().replace("+00:00", "Z"),
        "event": str(event.event),
        "group_id": event.group_id,
        "connection_id": event.connector_id,
        "sync_id": event.sync_id,
        "status": str(event.status) if event.status is not None else None,
        "created": event.created.isoformat().replace("+00:00", "Z"),
        "deliveries": stored.deliveries,
    }


def _print_table(rows: list[dict[str, Any]], *, source: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not rows:
        console.print(f"No events in {source} match.")
        return
    table = Table(title=f"{len(rows)} event(s) in {source}, newest first", title_justify="left")
    for column in ("time (UTC)", "event", "group", "connection", "sync id", "status"):
        table.add_column(column)
    table.add_column("deliveries", justify="right")
    for row in rows:
        table.add_row(
            row["received_at"].replace("T", " ")[:19],
            row["event"],
            row["group_id"] or "",
            row["connection_id"] or "",
            row["sync_id"] or "",
            row["status"] or "",
            str(row["deliveries"]),
        )
    console.print(table)
