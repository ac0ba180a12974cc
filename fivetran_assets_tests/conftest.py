"""Shared fixtures: a local Fivetran on a free port, and (from fixtures/) a throwaway PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fivetran_assets_tests.fixtures.postgres import postgres_server  # noqa: F401

API_KEY = "test_key"
API_SECRET = "test_secret"


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator:
    """A local Fivetran started in-process on a free port, stopped after the test.

    Time runs 60x faster (a Fivetran minute lasts a second).
    """
    from fivetran_assets.emulator.server import EmulatorServer

    with EmulatorServer(
        state_dir=tmp_path / "emulator",
        api_key=API_KEY,
        api_secret=API_SECRET,
        time_scale=60,
    ) as server:
        yield server
