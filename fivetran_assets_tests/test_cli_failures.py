"""Every command fails the same way: one message saying what failed and where, exit status 1,
and a traceback only when asked for with `--debug` (before or after the command) or
FIVETRAN_ASSETS_DEBUG=1."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fivetran_assets.cli import main

VALID = "groups:\n  - name: g\n    destination: {service: duckdb}\n"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def blocker(tmp_path: Path) -> Path:
    """A regular file where a command needs a folder."""
    path = tmp_path / "not-a-folder"
    path.write_text("")
    return path


def test_an_unexpected_failure_is_one_message_and_exit_1(blocker: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["webhooks", "serve", "--db", str(blocker / "events.sqlite")],
        env={"FIVETRAN_WEBHOOK_SECRET": "s", "FIVETRAN_ASSETS_DEBUG": ""},
    )
    assert result.exit_code == 1
    (line,) = [text for text in result.output.splitlines() if text.strip()]
    assert line.startswith("Error: ") and str(blocker) in line
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--debug", "webhooks", "serve"], {}),
        (["webhooks", "serve", "--debug"], {}),
        (["webhooks", "serve"], {"FIVETRAN_ASSETS_DEBUG": "1"}),
    ],
)
def test_debug_lets_the_exception_through(
    blocker: Path, args: list[str], env: dict[str, str]
) -> None:
    result = CliRunner().invoke(
        main,
        [*args, "--db", str(blocker / "e.db")],
        env={"FIVETRAN_WEBHOOK_SECRET": "s", "FIVETRAN_ASSETS_DEBUG": "", **env},
    )
    assert isinstance(result.exception, OSError), result.output


def test_debug_prints_the_traceback_in_a_shell(blocker: Path) -> None:
    command = [sys.executable, "-m", "fivetran_assets.cli", "webhooks", "serve", "--debug"]
    done = subprocess.run(
        [*command, "--db", str(blocker / "e.db")],
        env={"PATH": "/usr/bin:/bin", "FIVETRAN_WEBHOOK_SECRET": "s"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr


def test_a_dead_server_is_named(tmp_path: Path) -> None:
    config = tmp_path / "fivetran.yaml"
    config.write_text(VALID)
    url = f"http://127.0.0.1:{_closed_port()}"
    env = {"FIVETRAN_API_KEY": "k", "FIVETRAN_API_SECRET": "s", "FIVETRAN_BASE_URL": url}
    config.write_text("account: {base_url: '${env:FIVETRAN_BASE_URL}'}\n" + VALID)
    result = CliRunner().invoke(main, ["plan", "--config", str(config)], env=env)
    assert result.exit_code == 1, result.output
    assert url.removeprefix("http://") in result.output, result.output
    assert "Traceback" not in result.output
