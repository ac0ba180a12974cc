"""The `provision_fivetran` run's page shows the plan it applied (the plan op's Markdown)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fivetran_assets.stack.runner import JobRun
from fivetran_assets_tests.ui.dagster_ui import open_page


def test_the_provisioning_run_page_shows_its_plan(
    dagster_webserver: str,
    provisioned_estate: JobRun,
    page: Any,
    screenshot: Callable[[str], Path],
) -> None:
    plan = provisioned_estate.markdown["plan"]
    summary = plan.splitlines()[0].strip("*")
    changes = [
        line
        for line in plan.splitlines()
        if line.startswith("| ") and not line.startswith("| action")
    ]
    assert changes, f"a fresh estate's plan creates resources:\n{plan}"

    open_page(page, f"{dagster_webserver}/runs/{provisioned_estate.run_id}")
    page.get_by_text("provision_fivetran").first.wait_for()
    row = page.locator("tr", has=page.get_by_text("plan", exact=True)).first
    row.get_by_text("[Show Markdown]").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text(summary).first.wait_for()
    screenshot("provisioning-plan")

    shown = dialog.locator("tbody tr")
    assert shown.count() == len(changes)
    for index, line in enumerate(changes):
        action, kind, resource = (cell.strip().replace("\\", "") for cell in line.split("|")[1:4])
        cells = shown.nth(index).locator("td")
        assert [cells.nth(i).inner_text().strip() for i in range(3)] == [action, kind, resource]
