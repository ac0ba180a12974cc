"""Loading the definitions on a fresh clone is quiet: no state yet is not a problem.

A state that lacks some connections is (the estate changed outside the project): that one
warns, naming them and how to refresh.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from fivetran_assets.dagster.build import build_fivetran_definitions
from fivetran_assets.dagster.estate_view import estate_view
from fivetran_assets.estate import load_estate
from fivetran_assets.snapshot.store import Snapshot

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture
def view():
    return estate_view(load_estate(CONFIG))


def test_no_state_yet_is_said_at_info_level(view, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="fivetran_assets"):
        build_fivetran_definitions(view, None, event_log=None)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert "no state captured yet" in caplog.text


def test_a_state_missing_connections_warns(view, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="fivetran_assets"):
        build_fivetran_definitions(
            view, Snapshot(written_at="2026-01-01T00:00:00Z"), event_log=None
        )
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "no snapshot entry for 4 connection(s)" in warnings[0]
    assert "departments/sales" in warnings[0]
