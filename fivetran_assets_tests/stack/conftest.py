"""Fixtures for the stack tests: settings rooted in a temp folder, a manager that cleans up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fivetran_assets.stack.ports import free_port
from fivetran_assets.stack.processes import ServiceManager
from fivetran_assets.stack.settings import StackSettings


@pytest.fixture
def settings(tmp_path: Path) -> StackSettings:
    return StackSettings(
        project_root=tmp_path,
        emulator_port=free_port(),
        receiver_port=free_port(),
        dagster_port=free_port(),
    )


@pytest.fixture
def manager(settings: StackSettings) -> Iterator[ServiceManager]:
    """A manager whose services are all stopped after the test, even when it fails."""
    mgr = ServiceManager(settings)
    yield mgr
    mgr.stop_all(grace=2.0)
