"""deploy/: the production dagster.yaml passes Dagster's instance schema with the limits we want.

Docker and Kubernetes cannot run here; this is the part of deploy/ that can be checked.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_production_instance_config_is_valid(tmp_path: Path) -> None:
    shutil.copy(DEPLOY / "dagster.yaml", tmp_path / "dagster.yaml")
    config, custom_class = dagster_instance_config(str(tmp_path))
    assert custom_class is None
    db = config["storage"]["postgres"]["postgres_db"]
    # psycopg2 explicitly: SQLAlchemy 2.1 would pick psycopg 3 for a bare postgresql:// and
    # dagster-postgres's NOTIFY statement does not parse there.
    assert db["scheme"] == "postgresql+psycopg2"
    assert {name: value["env"] for name, value in db.items() if name != "scheme"} == {
        "hostname": "DAGSTER_PG_HOST",
        "port": "DAGSTER_PG_PORT",
        "username": "DAGSTER_PG_USER",
        "password": "DAGSTER_PG_PASSWORD",
        "db_name": "DAGSTER_PG_DB",
    }
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    limits = {
        item["key"]: item["limit"]
        for item in config["concurrency"]["runs"]["tag_concurrency_limits"]
    }
    assert limits["fivetran_assets/provision"] == 1
    assert "fivetran_assets/sync" not in limits  # syncs are bounded by their pool alone
    assert config["concurrency"]["pools"]["default_limit"] >= 1


def test_compose_runs_every_service_from_one_image() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "code", "webserver", "daemon", "receiver"} <= set(services)
    images = {services[name]["image"] for name in ("code", "webserver", "daemon", "receiver")}
    assert images == {"fivetran-assets:latest"}
    assert services["receiver"]["command"][:3] == ["fivetran-assets", "webhooks", "serve"]


def test_production_queue_settings_build_an_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The queue and pool settings load (storage swapped for SQLite; the production test in
    fivetran_assets_tests/production runs the PostgreSQL storage for real)."""
    from dagster import DagsterInstance

    monkeypatch.setenv("FIVETRAN_ASSETS_RATE_STATE", f"sqlite:///{tmp_path}/state.sqlite")

    config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    config["storage"] = {"sqlite": {"base_dir": str(tmp_path / "storage")}}
    config["compute_logs"]["config"]["base_dir"] = str(tmp_path / "compute_logs")
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    instance = DagsterInstance.from_config(str(tmp_path))
    try:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        queue = instance.get_concurrency_config().run_queue_config
        assert {"key": "fivetran_assets/provision", "limit": 1} in queue.tag_concurrency_limits
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 8
        assert type(instance.defs_state_storage).__name__ == "DatabaseDefsStateStorage"
    finally:
        instance.dispose()


def test_compose_shares_state_through_postgres_not_disks() -> None:
    """Two receivers on one event log in the PostgreSQL service; every Dagster service on the
    same event log and rate state; no volume mounted by two services."""
    compose = yaml.safe_load((DEPLOY / "docker-compose.yaml").read_text())
    services = compose["services"]
    receiver = services["receiver"]
    assert receiver["deploy"]["replicas"] == 2
    assert "--db" not in receiver["command"]  # it defaults to $FIVETRAN_ASSETS_EVENT_LOG
    for name in ("receiver", "code", "webserver", "daemon"):
        env = services[name]["environment"]
        assert env["FIVETRAN_ASSETS_EVENT_LOG"].startswith("postgresql://"), name
        assert "@postgres:5432/" in env["FIVETRAN_ASSETS_EVENT_LOG"], name
        if name != "receiver":
            assert env["FIVETRAN_ASSETS_RATE_STATE"].startswith("postgresql://"), name
    mounts: dict[str, list[str]] = {}
    for name, service in services.items():
        for volume in service.get("volumes", []):
            mounts.setdefault(volume.split(":", 1)[0], []).append(name)
    assert all(len(users) == 1 for users in mounts.values()), mounts
