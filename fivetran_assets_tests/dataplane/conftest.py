"""Fixtures of the data-plane tests: a seeded department database and a warehouse path."""

from __future__ import annotations

from pathlib import Path

import pytest

from fivetran_assets.emulator.dataplane.seed import create_department


@pytest.fixture
def sales(tmp_path: Path) -> Path:
    """A 200-employee `sales` department database."""
    path = tmp_path / "sales.sqlite"
    create_department(path, "sales", rows=200, seed=7)
    return path


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"
