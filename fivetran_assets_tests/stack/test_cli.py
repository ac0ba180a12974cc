"""`fivetran-assets demo` and `stop` as a user types them, in a throwaway project folder."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fivetran_assets.cli import main
from fivetran_assets.stack.ports import free_port
from fivetran_assets.stack.processes import HealthCheck, ServiceManager, ServiceSpec
from fivetran_assets.stack.settings import StackSettings


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "workspace.yaml").write_text("load_from: []\n")
    monkeypatch.chdir(tmp_path)
    for name in ("EMULATOR", "RECEIVER", "DAGSTER"):
        monkeypatch.setenv(f"FIVETRAN_ASSETS_{name}_PORT", str(free_port()))
    monkeypatch.delenv("FIVETRAN_ASSETS_DEMO_DIR", raising=False)
    return tmp_path


def test_demo_reports_a_busy_port_before_doing_anything(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        monkeypatch.setenv("FIVETRAN_ASSETS_RECEIVER_PORT", str(port))
        result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is busy" in result.output
    assert "FIVETRAN_ASSETS_RECEIVER_PORT" in result.output
    assert not (project / ".state" / "demo" / "sources").exists()
    assert not (project / ".state" / "run").exists()


def test_stop_stops_what_was_left_running(project: Path) -> None:
    settings = StackSettings.from_env()
    port = settings.emulator_port
    spec = ServiceSpec(
        name="emulator",
        title="a stand-in local Fivetran",
        argv=(sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"),
        port=port,
        port_env="FIVETRAN_ASSETS_EMULATOR_PORT",
        health=HealthCheck(f"http://127.0.0.1:{port}/"),
    )
    ServiceManager(settings).start(spec)
    result = CliRunner().invoke(main, ["stop"])
    assert result.exit_code == 0, result.output
    assert "emulator: stopped" in result.output
    again = CliRunner().invoke(main, ["stop"])
    assert "Nothing was running." in again.output
