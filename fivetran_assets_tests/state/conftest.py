"""Shared-state databases on both backends."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from fivetran_assets.state.database import DatabaseURL
from fivetran_assets.state.shared import StateLocation
from fivetran_assets_tests.fixtures.postgres import PostgresServer

_numbers = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> StateLocation:
    """A fresh shared state: SQLite in a state folder, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return StateLocation(tmp_path / "state")
    return request.getfixturevalue("postgres_location")


@pytest.fixture
def postgres_location(postgres_server: PostgresServer, tmp_path: Path) -> StateLocation:
    name = f"state_{next(_numbers)}"
    postgres_server.create_database(name)
    return StateLocation(tmp_path / "state", DatabaseURL.parse(postgres_server.url(name)))
