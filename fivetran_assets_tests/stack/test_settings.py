"""Settings from the environment, the demo credentials and the local Dagster home."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from dagster import DagsterInstance

from fivetran_assets.stack.credentials import (
    CredentialsError,
    load_or_create_credentials,
    stack_env,
)
from fivetran_assets.stack.home import MARKER, ensure_dagster_home
from fivetran_assets.stack.settings import StackConfigError, StackSettings, find_project_root

PROJECT = Path(__file__).resolve().parents[2]


def test_ports_come_from_the_environment(tmp_path: Path) -> None:
    env = {
        "FIVETRAN_ASSETS_EMULATOR_PORT": "9001",
        "FIVETRAN_ASSETS_RECEIVER_PORT": " 9002 ",
        "FIVETRAN_ASSETS_DEMO_DIR": "data/demo",
    }
    s = StackSettings.from_env(project_root=tmp_path, environ=env)
    assert (s.emulator_port, s.receiver_port, s.dagster_port) == (9001, 9002, 3000)
    assert s.emulator_url == "http://127.0.0.1:9001"
    assert s.webhook_url == "http://127.0.0.1:9002/fivetran/webhook"
    assert s.warehouse_path == tmp_path.resolve() / "data/demo/warehouse.duckdb"
    assert s.sources_dir == tmp_path.resolve() / "data/demo/sources"
    assert s.dagster_home == tmp_path.resolve() / ".dagster_home"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("http", "'http' is not a port number"), ("70000", "outside 1..65535")],
)
def test_a_bad_port_names_the_variable(tmp_path: Path, value: str, expected: str) -> None:
    with pytest.raises(StackConfigError, match="FIVETRAN_ASSETS_DAGSTER_PORT") as info:
        StackSettings.from_env(
            project_root=tmp_path, environ={"FIVETRAN_ASSETS_DAGSTER_PORT": value}
        )
    assert expected in str(info.value)


def test_project_root_is_found_from_a_subfolder(tmp_path: Path) -> None:
    assert find_project_root(PROJECT / "fivetran_assets" / "stack") == PROJECT
    with pytest.raises(StackConfigError, match="no fivetran-assets project"):
        find_project_root(tmp_path)


def test_credentials_are_generated_once_private_and_masked(tmp_path: Path) -> None:
    first = load_or_create_credentials(tmp_path / ".state")
    again = load_or_create_credentials(tmp_path / ".state")
    assert first == again
    path = tmp_path / ".state" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    shown = repr(first)
    for secret in (first.api_secret, first.webhook_secret, first.api_key):
        assert secret not in shown
    other = load_or_create_credentials(tmp_path / "elsewhere")
    assert other.api_secret != first.api_secret


def test_unreadable_credentials_say_which_file(tmp_path: Path) -> None:
    (tmp_path / "credentials.json").write_text("{not json")
    with pytest.raises(CredentialsError, match=r"credentials\.json: unreadable"):
        load_or_create_credentials(tmp_path)


def test_stack_env_exports_what_the_config_reads(tmp_path: Path) -> None:
    settings = StackSettings(project_root=tmp_path, emulator_port=9101, receiver_port=9102)
    creds = load_or_create_credentials(settings.state_dir)
    env = stack_env(settings, creds)
    assert env["FIVETRAN_BASE_URL"] == "http://127.0.0.1:9101"
    assert env["FIVETRAN_API_KEY"] == creds.api_key
    assert env["FIVETRAN_API_SECRET"] == creds.api_secret
    assert env["FIVETRAN_WEBHOOK_SECRET"] == creds.webhook_secret
    assert env["FIVETRAN_WEBHOOK_URL"] == "http://127.0.0.1:9102/fivetran/webhook"
    assert env["FIVETRAN_ASSETS_DEMO_DIR"] == str(tmp_path / ".state" / "demo")
    assert env["DAGSTER_HOME"] == str(tmp_path / ".dagster_home")
    assert env["FIVETRAN_ASSETS_EVENT_LOG"] == str(tmp_path / ".state" / "webhooks.sqlite")


def test_dagster_home_loads_as_an_instance_with_run_queue_limits(tmp_path: Path) -> None:
    home = ensure_dagster_home(tmp_path / ".dagster_home")
    instance = DagsterInstance.from_config(str(home))
    try:
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert {"key": "fivetran_assets/provision", "limit": 1} in limits
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    finally:
        instance.dispose()


def test_a_users_own_dagster_yaml_is_left_alone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    ensure_dagster_home(home)
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: true\n"
    (home / "dagster.yaml").write_text(MARKER + "\nold: content\n")
    ensure_dagster_home(home)
    assert "tag_concurrency_limits" in (home / "dagster.yaml").read_text()
