"""Dagster's definitions state in the shared-state database (no shared disk needed)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from fivetran_assets.dagster.defs_state import KEEP_VERSIONS


def test_state_versions_round_trip_and_the_oldest_are_dropped(location, tmp_path: Path) -> None:
    url = location.database.conninfo or f"sqlite:///{location.database.path}"
    overrides = {
        "defs_state_storage": {
            "module": "fivetran_assets.dagster.defs_state",
            "class": "DatabaseDefsStateStorage",
            "config": {"url": url},
        }
    }
    with dg.instance_for_test(overrides=overrides) as instance:
        storage = instance.defs_state_storage
        assert type(storage).__name__ == "DatabaseDefsStateStorage"
        assert storage.get_latest_version("Estate") is None
        source = tmp_path / "state.json"
        for n in range(KEEP_VERSIONS + 2):
            source.write_bytes(f'{{"n": {n}}}'.encode())
            storage.upload_state_from_path("Estate", f"v{n}", source)
        assert storage.get_latest_version("Estate") == f"v{KEEP_VERSIONS + 1}"
        target = tmp_path / "read.json"
        storage.download_state_to_path("Estate", "v2", target)
        assert target.read_bytes() == b'{"n": 2}'
        with pytest.raises(ValueError, match="No state found for key Estate and version v0"):
            storage.download_state_to_path("Estate", "v0", target)
        assert "password" not in repr(storage)
