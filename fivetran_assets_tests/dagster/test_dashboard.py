"""Links to Fivetran's dashboard only where there is one: never for the local Fivetran."""

from __future__ import annotations

from pathlib import Path

import pytest

from fivetran_assets.dagster.estate_view import FIVETRAN_DASHBOARD, dashboard_base_for, estate_view
from fivetran_assets.dagster.resources import FivetranResource
from fivetran_assets.dagster.translator import dashboard_metadata, dashboard_url
from fivetran_assets.estate import load_estate

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.mark.parametrize(
    ("base_url", "dashboard"),
    [
        (None, FIVETRAN_DASHBOARD),
        ("https://api.fivetran.com", FIVETRAN_DASHBOARD),
        ("https://api.fivetran.com/v1/", FIVETRAN_DASHBOARD),
        ("http://127.0.0.1:8765", ""),
        ("https://fivetran.com.example.org", ""),
    ],
)
def test_the_dashboard_follows_the_api(base_url: str | None, dashboard: str) -> None:
    assert dashboard_base_for(base_url) == dashboard
    assert FivetranResource(api_key="k", api_secret="s", base_url=base_url).dashboard_base() == (
        dashboard
    )


def test_the_demo_estate_on_the_local_fivetran_links_nowhere(monkeypatch) -> None:
    monkeypatch.delenv("FIVETRAN_BASE_URL", raising=False)
    assert estate_view(load_estate(CONFIG)).dashboard_base_url == ""
    monkeypatch.setenv("FIVETRAN_BASE_URL", "https://api.fivetran.com")
    assert estate_view(load_estate(CONFIG)).dashboard_base_url == FIVETRAN_DASHBOARD


def test_no_page_no_metadata() -> None:
    assert dashboard_url("", "c_1") == "" and dashboard_metadata("") == {}
    url = dashboard_url(FIVETRAN_DASHBOARD, "c_1")
    assert url == "https://fivetran.com/dashboard/connectors/c_1/status"
    assert dashboard_metadata(url)["fivetran/dashboard_url"].value == url
