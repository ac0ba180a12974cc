"""Fivetran's own CLI (`fivetran-cli` 1.1.0, unchanged, in its own virtualenv) manages users,
teams, roles and external logging on the local Fivetran.

The CLI hard-codes `https://api.fivetran.com`; it reaches the local Fivetran through an HTTPS
proxy that presents a certificate for that host (see `api_host`). The virtualenv is built once
and cached under `.cache/clients/`; the test is skipped only when pip cannot install the CLI
(no package registry), and says so.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fivetran_assets_tests.clients.api_host import (
    PeerError,
    api_host_proxy,
    client_environment,
    clients_venv,
    last_json,
    make_certificates,
)

CLI = "fivetran-cli==1.1.0"


@pytest.fixture(scope="module")
def cli_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        return clients_venv("fivetran-cli", (CLI,))
    except PeerError as exc:
        pytest.skip(f"{CLI} cannot be installed here: {str(exc)[-300:]}")


# Runs the CLI's own entry point (`fivetran_cli.run`, what the `fivetran` script calls) once per
# line of JSON argv read from stdin, answering a JSON line: one interpreter start for the whole
# session instead of one per command.
_DRIVER = """
import io, json, sys
from fivetran_cli import run
for line in sys.stdin:
    out, err = io.StringIO(), io.StringIO()
    code = run(json.loads(line), stdout=out, stderr=err)
    answer = {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
    print(json.dumps(answer), flush=True)
"""


@pytest.fixture
def cli_env(cli_bin: Path, emulator, tmp_path: Path) -> Iterator[dict[str, str]]:
    certificates = make_certificates(cli_bin / "python", tmp_path / "tls")
    key = base64.b64encode(f"{emulator.api_key}:{emulator.api_secret}".encode()).decode()
    with api_host_proxy((emulator.host, emulator.port), certificates) as proxy:
        yield client_environment(
            {**proxy, "FIVETRAN_API_KEY": key, "HOME": str(tmp_path), "DO_NOT_TRACK": "1"}
        )


@pytest.fixture
def run(cli_bin: Path, cli_env: dict[str, str]) -> Iterator[Any]:
    driver = subprocess.Popen(
        [str(cli_bin / "python"), "-c", _DRIVER],
        env=cli_env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert driver.stdin is not None and driver.stdout is not None

    def fivetran(*args: str, **payload: Any) -> Any:
        argv = ["beta", *args, "--output", "json"]
        if payload:
            argv += ["--config", json.dumps(payload)]
        driver.stdin.write(json.dumps(argv) + "\n")
        driver.stdin.flush()
        done = json.loads(driver.stdout.readline())
        assert done["code"] == 0, (argv, done)
        return last_json(done["stdout"])

    try:
        yield fivetran
    finally:
        driver.stdin.close()
        driver.wait(timeout=30)


def test_the_fivetran_command_itself_reaches_the_local_fivetran(
    cli_bin: Path, cli_env: dict[str, str]
) -> None:
    done = subprocess.run(
        [str(cli_bin / "fivetran"), "beta", "role", "list", "--output", "json"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert "Account Administrator" in {r["name"] for r in _items(last_json(done.stdout))}


def _data(answer: Any) -> Any:
    return answer.get("data", answer) if isinstance(answer, dict) else answer


def _items(answer: Any) -> list[dict]:
    data = _data(answer)
    return data["items"] if isinstance(data, dict) else data


def test_users_teams_roles_and_log_services(run, emulator) -> None:
    roles = {r["name"] for r in _items(run("role", "list"))}
    assert {"Account Administrator", "Team Member", "Connector Reviewer"} <= roles

    user = _data(
        run("user", "invite", email="ana@example.com", given_name="Ana", family_name="Lima",
            role="Account Reviewer")
    )  # fmt: skip
    assert user["email"] == "ana@example.com" and user["invited"] is True
    assert "ana@example.com" in {u["email"] for u in _items(run("user", "list"))}
    run("user", "update", "--user-id", user["id"], phone="+351 21 000 0000")
    assert _data(run("user", "get", "--user-id", user["id"]))["phone"] == "+351 21 000 0000"

    team = _data(run("team", "create", name="analysts", description="BI", role="Account Reviewer"))
    run("team", "user", "add", "--team-id", team["id"], user_id=user["id"], role="Team Member")
    members = _items(run("team", "user", "list", "--team-id", team["id"]))
    assert [m["user_id"] for m in members] == [user["id"]]
    run("team", "update", "--team-id", team["id"], description="Business intelligence")
    assert _data(run("team", "get", "--team-id", team["id"]))["description"] == (
        "Business intelligence"
    )

    group = _data(run("group", "create", name="sales"))
    run("user", "group", "add", "--user-id", user["id"], id=group["id"], role="Destination Analyst")
    assert [m["id"] for m in _items(run("user", "group", "list", "--user-id", user["id"]))] == [
        group["id"]
    ]

    log = _data(
        run("log-service", "group", "create", group_id=group["id"], service="datadog_log",
            config={"api_key": "dd-secret"}, run_setup_tests=True)
    )  # fmt: skip
    assert log["config"]["api_key"] == "******"
    run("log-service", "group", "update", "--log-id", log["id"], enabled=False)
    assert _data(run("log-service", "group", "get", "--log-id", log["id"]))["enabled"] is False
    assert [s["id"] for s in _items(run("log-service", "account", "list"))] == [group["id"]]
    run("log-service", "group", "delete", "--log-id", log["id"], "--yes")

    run("team", "delete", "--team-id", team["id"], "--yes")
    run("user", "delete", "--id", user["id"], "--yes")
    assert "ana@example.com" not in {u["email"] for u in _items(run("user", "list"))}
