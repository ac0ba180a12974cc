"""After the `pipeline` job ran, asset pages show the latest materialization and its row count.

The row counts are the seed's (each department database holds `SEED_ROWS` employees), so the
page, the run's events and the data agree or the test fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fivetran_assets.stack.runner import JobRun
from fivetran_assets_tests.ui.conftest import SEED_ROWS
from fivetran_assets_tests.ui.dagster_ui import open_page

DEPARTMENTS = 4


def _row_count_on_page(page: Any) -> int:
    page.get_by_text("Row count", exact=True).first.wait_for()
    found = re.search(r"Row count\s+([\d,]+)", page.inner_text("body"))
    assert found, "no row count shown on the asset page"
    return int(found.group(1).replace(",", ""))


@pytest.mark.parametrize(
    ("table", "rows"),
    [("employees", SEED_ROWS), ("stg_employees", DEPARTMENTS * SEED_ROWS)],
)
def test_the_asset_page_shows_the_latest_materialization_and_its_row_count(
    table: str,
    rows: int,
    dagster_webserver: str,
    pipeline_run: JobRun,
    page: Any,
    screenshot: Callable[[str], Path],
) -> None:
    mat = next(m for m in pipeline_run.materializations if m.asset_key[-1] == table)
    assert mat.row_count == rows, mat
    url = f"{dagster_webserver}/assets/{'/'.join(mat.asset_key)}"

    open_page(page, url)
    page.get_by_text("Latest materialization", exact=True).first.wait_for()
    assert _row_count_on_page(page) == rows
    screenshot(f"asset-{table}")

    open_page(page, f"{url}?view=events")
    page.get_by_text(f"Materialized in run {pipeline_run.run_id[:8]}").first.wait_for()
    page.get_by_text("dagster/row_count", exact=True).first.wait_for()
