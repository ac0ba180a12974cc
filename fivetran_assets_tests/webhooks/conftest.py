"""Event logs on both backends: every store test runs against SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from fivetran_assets_tests.fixtures.postgres import PostgresServer

_numbers = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def event_log_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty event log location: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/events.sqlite"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"events_{next(_numbers)}"
    server.create_database(name)
    return server.url(name)
