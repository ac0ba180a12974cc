"""Shared fixtures: a local Fivetran on a free port, and (from fixtures/) a throwaway PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fivetran_assets_tests.fixtures.postgres import postgres_server  # noqa: F401

AMBIENT = ("FIVETRAN_", "DAGSTER_")
"""Variables the project reads: no ambient value may change a test's result."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--campaign",
        choices=("test", "bench"),
        default="test",
        help="size of the fuzz and fault campaigns: test (make test, bounded) or bench (longer)",
    )
    # An option, not a variable: the environment is scrubbed of FIVETRAN_* before tests run.
    parser.addoption(
        "--airflow",
        action="store_true",
        help="also run the Airflow provider against the local Fivetran (installs apache-airflow)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Tests build their own environment: drop every FIVETRAN_*/DAGSTER_* variable the shell
    exported (a busy port, a real account, a DAGSTER_HOME) before anything is imported or
    started. A test that needs one sets it, with monkeypatch or in a subprocess's env."""
    for name in [n for n in os.environ if n.startswith(AMBIENT)]:
        del os.environ[name]
    # Nor a local stack a developer's `make demo` recorded in the checkout (.state/run/).
    os.environ["FIVETRAN_ASSETS_LOCAL_STACK"] = "off"


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """What a test sets in FIVETRAN_*/DAGSTER_* without monkeypatch does not reach the next."""
    before = {n: v for n, v in os.environ.items() if n.startswith(AMBIENT)}
    yield
    for name in [n for n in os.environ if n.startswith(AMBIENT)]:
        if name not in before:
            del os.environ[name]
    os.environ.update(before)


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


@pytest.fixture
def unlimited_emulator(tmp_path: Path) -> Iterator:
    """Like `emulator`, with no rate limits: every request reaches its route (a 429 would hide
    what the route does with a hostile or generated request)."""
    from fivetran_assets.emulator.ratelimit import RateLimits
    from fivetran_assets.emulator.server import EmulatorServer

    with EmulatorServer(
        state_dir=tmp_path / "emulator",
        api_key=API_KEY,
        api_secret=API_SECRET,
        time_scale=60,
        rate_limits=RateLimits(enabled=False),
    ) as server:
        yield server
