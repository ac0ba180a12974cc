"""Fixtures for the local Fivetran's API tests: a checked `Api` on the shared `emulator`."""

from __future__ import annotations

from pathlib import Path

import pytest

from fivetran_assets_tests.emulator.support import Api, make_estate, make_source


@pytest.fixture
def api(emulator) -> Api:
    return Api(emulator.base_url, (emulator.api_key, emulator.api_secret))


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return make_source(tmp_path / "source.db")


@pytest.fixture
def group_id(api: Api, tmp_path: Path) -> str:
    return make_estate(api, tmp_path)
