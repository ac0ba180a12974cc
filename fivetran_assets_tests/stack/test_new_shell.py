"""Commands typed in a new shell find the stack where it runs, from `.state/run/stack.json`.

Each test builds a project in a temp folder (the demo config, a pyproject.toml, a
workspace.yaml) and runs the CLI with every Fivetran variable removed, as a fresh terminal
would have it; the local Fivetran is a real server on a free port with the stack's generated
credentials.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from fivetran_assets.cli import main
from fivetran_assets.emulator.server import EmulatorServer
from fivetran_assets.estate import load_estate
from fivetran_assets.stack.credentials import load_or_create_credentials
from fivetran_assets.stack.env import complete_environ_for_project, local_stack_variables
from fivetran_assets.stack.ports import free_port
from fivetran_assets.stack.settings import StackSettings

REPO = Path(__file__).resolve().parents[2]
UNSET = {
    name: None
    for name in (
        "FIVETRAN_BASE_URL",
        "FIVETRAN_API_KEY",
        "FIVETRAN_API_SECRET",
        "FIVETRAN_WEBHOOK_URL",
        "FIVETRAN_WEBHOOK_SECRET",
        "FIVETRAN_ASSETS_DEMO_DIR",
        "FIVETRAN_ASSETS_EMULATOR_PORT",
        "FIVETRAN_ASSETS_RECEIVER_PORT",
        "FIVETRAN_ASSETS_DAGSTER_PORT",
        "FIVETRAN_ASSETS_HOST",
        "FIVETRAN_ASSETS_CONFIG",
        "FIVETRAN_ASSETS_STATE_DIR",
        "FIVETRAN_ASSETS_SNAPSHOT",
        "MY_KEY",
        "MY_SECRET",
        "FIVETRAN_ASSETS_LOCAL_STACK",  # the suite turns the recorded stack off; these test it
    )
}


def _project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("")
    (root / "workspace.yaml").write_text("")
    shutil.copytree(REPO / "config", root / "config", ignore=shutil.ignore_patterns("examples"))
    return root


def _run(root: Path, *args: str, env: dict[str, str | None] | None = None):
    return CliRunner().invoke(
        main, list(args), env={**UNSET, "COLUMNS": "80", **(env or {})}, catch_exceptions=False
    )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[StackSettings]:
    """A project whose recorded stack runs a real local Fivetran on a free port."""
    root = _project(tmp_path / "project")
    settings = StackSettings(
        project_root=root,
        emulator_port=free_port(),
        receiver_port=free_port(),
        dagster_port=free_port(),
    )
    creds = load_or_create_credentials(settings.state_dir)
    with EmulatorServer(
        state_dir=settings.emulator_state_dir,
        api_key=creds.api_key,
        api_secret=creds.api_secret,
        port=settings.emulator_port,
    ):
        settings.record()
        yield settings


def test_without_a_stack_plan_asks_for_the_credentials(tmp_path: Path) -> None:
    root = _project(tmp_path / "project")
    result = _run(root, "plan", "--config", str(root / "config"))
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: set FIVETRAN_API_KEY and FIVETRAN_API_SECRET "
        "(or account.api_key_env/api_secret_env)"
    )
    config = root / "config" / "fivetran.yaml"
    config.write_text(
        config.read_text()
        .replace("api_key_env: FIVETRAN_API_KEY", "api_key_env: MY_KEY")
        .replace("api_secret_env: FIVETRAN_API_SECRET", "api_secret_env: MY_SECRET")
    )
    only_key = _run(root, "plan", "--config", str(root / "config"), env={"MY_KEY": "k"})
    assert only_key.output.strip() == "Error: set MY_SECRET (or account.api_secret_env)"
    refresh = _run(root, "refresh", "--config", str(root / "config"))
    assert "set MY_KEY and MY_SECRET (or account.api_key_env/api_secret_env)" in refresh.output


def test_plan_in_a_new_shell_uses_the_recorded_stack(stack: StackSettings) -> None:
    config = str(stack.project_root / "config")
    result = _run(stack.project_root, "plan", "--config", config)

    assert result.exit_code == 2, result.output  # a fresh local Fivetran: 18 to create
    assert f"Using the local stack at {stack.emulator_url}" in result.output
    assert "18 to create" in result.output  # 11 pipeline resources, 7 of access
    creds = load_or_create_credentials(stack.state_dir)
    assert creds.api_secret not in result.output


def test_a_shell_aimed_elsewhere_is_left_alone(stack: StackSettings) -> None:
    config = str(stack.project_root / "config")
    elsewhere = f"http://127.0.0.1:{free_port()}"
    result = _run(
        stack.project_root, "plan", "--config", config, env={"FIVETRAN_BASE_URL": elsewhere}
    )
    assert "Using the local stack" not in result.output
    assert "set FIVETRAN_API_KEY and FIVETRAN_API_SECRET" in result.output

    # A config aimed at another Fivetran never receives the local credentials.
    path = stack.project_root / "config" / "fivetran.yaml"
    path.write_text(
        path.read_text().replace(
            "${env:FIVETRAN_BASE_URL:-http://127.0.0.1:8765}", "https://api.fivetran.com"
        )
    )
    assert local_stack_variables(load_estate(path), environ={}) is None


def test_settings_and_exports_follow_the_record(stack: StackSettings) -> None:
    root = stack.project_root
    again = StackSettings.from_env(project_root=root, environ={})
    assert (again.emulator_port, again.receiver_port, again.dagster_port) == (
        stack.emulator_port,
        stack.receiver_port,
        stack.dagster_port,
    )
    moved = StackSettings.from_env(
        project_root=root, environ={"FIVETRAN_ASSETS_DAGSTER_PORT": "4999"}
    )
    assert moved.dagster_port == 4999 and moved.emulator_port == stack.emulator_port
    shell = {k: v for k, v in os.environ.items() if k not in UNSET}
    exported = subprocess.run(
        [sys.executable, "-m", "fivetran_assets.stack.env"],
        cwd=root,
        env=shell,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"export FIVETRAN_BASE_URL={stack.emulator_url}\n" in exported
    assert f"export FIVETRAN_WEBHOOK_URL={stack.webhook_url}\n" in exported
    assert f"export DAGSTER_HOME={stack.dagster_home}\n" in exported


def test_the_code_location_completes_an_empty_environment(stack: StackSettings) -> None:
    """What a `dagster` command typed in a new shell loads: the variables its runs read."""
    environ: dict[str, str] = {}
    with pytest.MonkeyPatch.context() as patch:
        for name in UNSET:
            patch.delenv(name, raising=False)
        patch.setattr(os, "environ", environ)
        added = complete_environ_for_project(stack.project_root)
    assert environ["FIVETRAN_BASE_URL"] == stack.emulator_url
    assert environ["FIVETRAN_WEBHOOK_URL"] == stack.webhook_url
    creds = load_or_create_credentials(stack.state_dir)
    assert environ["FIVETRAN_API_KEY"] == creds.api_key
    assert set(added) == set(environ)
    assert "DAGSTER_HOME" not in environ  # the instance is the command's choice

    aimed = {"FIVETRAN_API_KEY": "a-real-key"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "environ", aimed)
        assert complete_environ_for_project(stack.project_root) == []
    assert aimed == {"FIVETRAN_API_KEY": "a-real-key"}
    assert complete_environ_for_project(stack.project_root.parent) == []  # nothing recorded
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "environ", {"FIVETRAN_ASSETS_LOCAL_STACK": "off"})
        assert complete_environ_for_project(stack.project_root) == []
