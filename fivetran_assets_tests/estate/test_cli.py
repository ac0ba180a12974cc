"""`fivetran-assets validate`: exit codes and output, through click's CliRunner."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from fivetran_assets.cli import main

ROOT = Path(__file__).resolve().parents[2]
BROKEN = Path(__file__).parent / "broken"


def test_valid_config_prints_a_summary_and_exits_0() -> None:
    result = CliRunner().invoke(main, ["validate", str(ROOT / "config")])
    assert result.exit_code == 0, result.output
    assert "1 group, 4 connections, 8 tables declared, 3 transformations" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_default_path_is_config(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 0, result.output
    assert "config is valid" in result.output


def test_invalid_config_prints_every_problem_and_exits_1(tmp_path: Path) -> None:
    file = tmp_path / "estate.yaml"
    file.write_text(
        """
groups:
  - name: finance
    destination: {service: duckdb}
    connections:
      - name: payroll_db
        service: sqlite
        sync_frequency: 45
        config: {password: hunter2}
        schema:
          tables:
            payroll:
              columns:
                ssn: {hashd: true}
"""
    )
    result = CliRunner().invoke(main, ["validate", str(file)])
    assert result.exit_code == 1
    out = result.output
    assert f"{file}:8:25" in out
    assert "groups[finance].connections[0].sync_frequency" in out
    assert "1, 5, 15, 30, 60, 120, 180, 360, 480, 720 or 1440" in out
    assert "groups[finance].connections[0].schema.tables.payroll.columns.ssn.hashd" in out
    assert "did you mean 'hashed'?" in out
    assert "groups[finance].connections[0].config.password" in out
    assert "hunter2" not in out
    assert "3 problems" in out


def test_missing_path_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "no config file or folder" in result.output


def test_validate_makes_no_api_call(monkeypatch) -> None:
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("validate must not open a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    result = CliRunner().invoke(main, ["validate", str(BROKEN / "duplicate_connection.yaml")])
    assert result.exit_code == 1
    assert "duplicate connection name 'hr'" in result.output
