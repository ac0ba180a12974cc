"""`fivetran-assets emulator ...`: run the local Fivetran."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def emulator() -> None:
    """The local Fivetran: a Fivetran-compatible server that really moves data."""


@emulator.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option(
    "--state",
    "state_dir",
    default=".state/emulator",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory holding the state file.",
)
@click.option("--api-key", default="local_key", show_default=True, envvar="FIVETRAN_API_KEY")
@click.option(
    "--api-secret",
    default="local_secret",
    envvar="FIVETRAN_API_SECRET",
    help="HTTP Basic secret (default: local_secret).",
)
@click.option(
    "--time-scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="How many Fivetran seconds pass per real second.",
)
@click.option(
    "--sync-seconds",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Minimum duration of a sync, in Fivetran seconds.",
)
@click.option("--sync-workers", default=4, show_default=True, type=click.IntRange(min=1))
@click.option("--no-rate-limits", is_flag=True, help="Admit every request (no 429).")
@click.option(
    "--access-log/--no-access-log",
    default=False,
    show_default=True,
    help="Print a line per request (GET /_local/requests lists them either way).",
)
def serve(
    host: str,
    port: int,
    state_dir: Path,
    api_key: str,
    api_secret: str,
    time_scale: float,
    sync_seconds: float,
    sync_workers: int,
    no_rate_limits: bool,
    access_log: bool,
) -> None:
    """Serve Fivetran's REST API on HOST:PORT, state under --state."""
    from fivetran_assets.extras import MissingExtra, require_local

    try:
        for module in ("duckdb", "pyarrow"):
            require_local(module, "the local Fivetran")
    except MissingExtra as exc:
        raise click.ClickException(str(exc)) from None
    from fivetran_assets.emulator.context import Settings
    from fivetran_assets.emulator.ratelimit import RateLimits
    from fivetran_assets.emulator.server import serve as run

    settings = Settings(
        state_dir=state_dir,
        api_key=api_key,
        api_secret=api_secret,
        time_scale=time_scale,
        default_sync_seconds=sync_seconds,
        sync_workers=sync_workers,
        rate_limits=RateLimits(enabled=not no_rate_limits),
    )
    click.echo(f"Local Fivetran on http://{host}:{port} (state in {state_dir}, API key {api_key})")
    run(settings, host=host, port=port, access_log=access_log)


from fivetran_assets.emulator.dataplane.seed_cli import mutate_demo, seed_demo  # noqa: E402

emulator.add_command(seed_demo)
emulator.add_command(mutate_demo)
