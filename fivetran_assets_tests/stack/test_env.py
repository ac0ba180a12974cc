"""`python -m fivetran_assets.stack.env` gives a shell the local stack's environment."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from fivetran_assets.stack.credentials import load_or_create_credentials, stack_env
from fivetran_assets.stack.env import export_lines, main
from fivetran_assets.stack.settings import StackSettings


def _project(tmp_path: Path) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "workspace.yaml").write_text("")
    return tmp_path


def test_exports_survive_a_real_shell_eval(tmp_path: Path) -> None:
    root = _project(tmp_path / "it's here")
    settings = StackSettings(project_root=root, emulator_port=9311)
    expected = stack_env(settings, load_or_create_credentials(settings.state_dir))
    script = f'eval "$({sys.executable} -m fivetran_assets.stack.env)" && env'
    env = {**os.environ, "FIVETRAN_ASSETS_EMULATOR_PORT": "9311"}
    done = subprocess.run(
        ["sh", "-c", script], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    seen = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    for name, value in expected.items():
        assert seen[name] == value, name
    assert seen["FIVETRAN_BASE_URL"] == "http://127.0.0.1:9311"


def test_a_terminal_gets_the_hint_not_the_secrets(tmp_path: Path, monkeypatch, capsys) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.chdir(_project(tmp_path))
    out = Terminal()
    assert main(out) == 2
    assert out.getvalue() == ""
    assert "eval" in capsys.readouterr().err


def test_values_are_quoted() -> None:
    assert export_lines({"A": "x y'z"}) == "export A='x y'\"'\"'z'\n"
