"""The stack's services (local Fivetran, receiver, `dg dev`) and the demo data they need."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from fivetran_assets.stack.credentials import Credentials
from fivetran_assets.stack.processes import HealthCheck, ServiceSpec
from fivetran_assets.stack.settings import (
    DAGSTER_PORT_ENV,
    EMULATOR_PORT_ENV,
    RECEIVER_PORT_ENV,
    StackSettings,
)

EMULATOR = "emulator"
RECEIVER = "receiver"
DAGSTER = "dagster"
STOP_ORDER = (DAGSTER, RECEIVER, EMULATOR)


def _bin(name: str) -> Path:
    return Path(sys.executable).parent / name


def cli_argv() -> tuple[str, ...]:
    """How to run this installation's `fivetran-assets` (the console script beside Python)."""
    script = _bin("fivetran-assets")
    if script.exists():
        return (str(script),)
    return (sys.executable, "-c", "from fivetran_assets.cli import main; main()")


def dev_argv() -> tuple[str, ...]:
    """`dg dev` (dagster-dg-cli, the dev extra), else `dagster dev`, which dg supersedes: with
    `-w` both start the same webserver and daemon over the same workspace."""
    if _bin("dg").exists():
        return (str(_bin("dg")), "dev")
    script = _bin("dagster")
    return (str(script), "dev") if script.exists() else (sys.executable, "-m", "dagster", "dev")


def emulator_spec(
    settings: StackSettings, creds: Credentials, env: Mapping[str, str]
) -> ServiceSpec:
    """The local Fivetran; credentials reach it through FIVETRAN_API_KEY/SECRET, not argv."""
    return ServiceSpec(
        name=EMULATOR,
        title="the local Fivetran",
        argv=(
            *cli_argv(),
            "emulator",
            "serve",
            "--host",
            settings.host,
            "--port",
            str(settings.emulator_port),
            "--state",
            str(settings.emulator_state_dir),
        ),
        port=settings.emulator_port,
        port_env=EMULATOR_PORT_ENV,
        health=HealthCheck(
            f"{settings.emulator_url}/v1/account/info", auth=(creds.api_key, creds.api_secret)
        ),
        env=env,
    )


def receiver_spec(settings: StackSettings, env: Mapping[str, str]) -> ServiceSpec:
    """The webhook receiver; its secret comes from FIVETRAN_WEBHOOK_SECRET in `env`."""
    return ServiceSpec(
        name=RECEIVER,
        title="the webhook receiver",
        argv=(
            *cli_argv(),
            "webhooks",
            "serve",
            "--host",
            settings.host,
            "--port",
            str(settings.receiver_port),
            "--db",
            str(settings.webhook_db),
        ),
        port=settings.receiver_port,
        port_env=RECEIVER_PORT_ENV,
        health=HealthCheck(f"{settings.receiver_url}/healthz"),
        env=env,
    )


def dagster_dev_spec(
    settings: StackSettings,
    env: Mapping[str, str],
    *,
    workspace: Path | None = None,
    cwd: Path | None = None,
) -> ServiceSpec:
    """`dg dev` (webserver and daemon) on `workspace` (default: the project's)."""
    return ServiceSpec(
        name=DAGSTER,
        title="dg dev",
        argv=(
            *dev_argv(),
            "-w",
            str(workspace or settings.project_root / "workspace.yaml"),
            "-h",
            settings.host,
            "-p",
            str(settings.dagster_port),
        ),
        port=settings.dagster_port,
        port_env=DAGSTER_PORT_ENV,
        health=HealthCheck(f"{settings.dagster_url}/server_info"),
        env=env,
        startup_timeout=180.0,
        cwd=cwd,
    )


def seed_if_missing(settings: StackSettings, *, departments: int = 4, rows: int = 1000) -> bool:
    """Create the department databases unless some exist already; True when it created them."""
    if any(settings.sources_dir.glob("*.sqlite")):
        return False
    from fivetran_assets.emulator.dataplane.seed import seed_demo

    seed_demo(settings.sources_dir, departments=departments, rows=rows)
    return True
