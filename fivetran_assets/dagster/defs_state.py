"""Dagster's definitions state (the component's snapshot) in the deployment's own database.

`FivetranEstateComponent` keeps its state (captured tables, dbt models) in the instance's
`defs_state_storage`. Dagster's default is a folder under DAGSTER_HOME, which only works when
every process shares that disk: a run worker launched for the daemon writes the state where the
daemon's instance points, and the code server reads its own. With no shared disk, the choices
are object storage (S3, GCS) or this: the state in the shared-state database the deployment
already has (`fivetran_assets.state.shared`, PostgreSQL in a deployment), with the latest
version's pointer in Dagster's run storage as the built-in storages keep it. In `dagster.yaml`:

    defs_state_storage:
      module: fivetran_assets.dagster.defs_state
      class: DatabaseDefsStateStorage
      config:
        url: {env: FIVETRAN_ASSETS_RATE_STATE}

The last `KEEP_VERSIONS` versions of each key are kept (a code server still loading an older
one finds it); older ones are deleted when a new one is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from dagster import Field, StringSource
from dagster._config.config_type import ConfigType
from dagster._config.field_utils import Shape
from dagster._core.storage.defs_state.base import DEFS_STATE_INFO_CURSOR_KEY, DefsStateStorage
from dagster._serdes.config_class import ConfigurableClass, ConfigurableClassData
from dagster_shared.serdes.objects.models.defs_state_info import DefsStateInfo
from dagster_shared.serdes.serdes import deserialize_value, serialize_value

from fivetran_assets.state.database import Database, DatabaseURL
from fivetran_assets.state.shared import SharedState

KEEP_VERSIONS = 5


class DatabaseDefsStateStorage(DefsStateStorage, ConfigurableClass):
    """Definitions state as rows of the shared-state database (see the module docstring)."""

    def __init__(self, url: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._url = DatabaseURL.parse(url)
        self._inst_data = inst_data

    def __repr__(self) -> str:
        return f"DatabaseDefsStateStorage({self._url.masked!r})"

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> ConfigType:
        return Shape({"url": Field(StringSource, is_required=True)})

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> Self:
        return cls(url=config_value["url"], inst_data=inst_data)

    def _state(self) -> SharedState:
        return SharedState.open(self._url)

    def download_state_to_path(self, key: str, version: str, path: Path) -> None:
        body = self._state().run(
            lambda db: db.scalar(
                "SELECT body FROM defs_state WHERE key = ? AND version = ?", (key, version)
            )
        )
        if body is None:
            raise ValueError(
                f"No state found for key {key} and version {version} in {self._url.masked}"
            )
        path.write_bytes(bytes(body))

    def upload_state_from_path(self, key: str, version: str, path: Path) -> None:
        body = path.read_bytes()

        def store(db: Database) -> None:
            with db.transaction():
                db.execute("DELETE FROM defs_state WHERE key = ? AND version = ?", (key, version))
                db.execute(
                    "INSERT INTO defs_state (key, version, body, stored_at) VALUES (?, ?, ?, ?)",
                    (key, version, body, db.now()),
                )
                kept = [
                    v
                    for (v,) in db.query(
                        "SELECT version FROM defs_state WHERE key = ? ORDER BY stored_at DESC",
                        (key,),
                    )
                ]
                for old in kept[KEEP_VERSIONS:]:
                    db.execute("DELETE FROM defs_state WHERE key = ? AND version = ?", (key, old))

        self._state().run(store)
        self.set_latest_version(key, version)

    def set_latest_version(self, key: str, version: str | None) -> None:
        current = self.get_latest_defs_state_info()
        info = (
            DefsStateInfo.remove_key(current, key)
            if version is None
            else DefsStateInfo.add_version(current, key, version)
        )
        self._instance.run_storage.set_cursor_values(
            {DEFS_STATE_INFO_CURSOR_KEY: serialize_value(info)}
        )

    def get_latest_defs_state_info(self) -> DefsStateInfo | None:
        raw = self._instance.run_storage.get_cursor_values({DEFS_STATE_INFO_CURSOR_KEY}).get(
            DEFS_STATE_INFO_CURSOR_KEY
        )
        return deserialize_value(raw, DefsStateInfo) if raw is not None else None
