"""Where the shared state lives: one rule for the CLI, the Dagster resource and the jobs."""

from __future__ import annotations

from pathlib import Path

from fivetran_assets.estate.connect import state_location
from fivetran_assets.state.database import Dialect
from fivetran_assets.state.shared import state_folder


def test_the_state_folder_rule(tmp_path: Path) -> None:
    assert state_folder(tmp_path, {}) == tmp_path / ".state"
    assert state_folder(tmp_path, {"FIVETRAN_ASSETS_STATE_DIR": "var/ft"}) == tmp_path / "var/ft"
    assert state_folder(tmp_path, {"FIVETRAN_ASSETS_STATE_DIR": "/srv/ft"}) == Path("/srv/ft")


def test_env_then_config_then_sqlite_in_the_state_folder(tmp_path: Path) -> None:
    config = "postgresql://ft:${env:PG_PASSWORD}@db.internal:5432/dagster"
    local = state_location(tmp_path, None, {})
    assert local.url is None and local.database.path == tmp_path / ".state" / "state.sqlite"
    assert not local.uses_database_lock
    configured = state_location(tmp_path, config, {"PG_PASSWORD": "pw-from-env"})
    assert configured.database.dialect is Dialect.POSTGRES
    assert configured.database.conninfo == "postgresql://ft:pw-from-env@db.internal:5432/dagster"
    assert configured.describe() == "postgresql://ft:***@db.internal:5432/dagster"
    assert configured.uses_database_lock
    overridden = state_location(
        tmp_path, config, {"FIVETRAN_ASSETS_RATE_STATE": "sqlite:///shared/state.sqlite"}
    )
    assert overridden.database.path == tmp_path / "shared" / "state.sqlite"
