"""A newcomer's first hour in the Dagster UI after `make demo` and `make dev`, in Chromium.

The path, in order: the global lineage (one box per connection and per transformation, each
told apart by its name; expanded, every table is told apart by the box it sits in), a table's
page (its row count, its columns, its fully qualified table name, no link to a dashboard the
local Fivetran does not have), the jobs' pages and the runs timeline listing the demo's runs,
and "Re-execute all" on the demo's `pipeline` run, which the daemon launches and which succeeds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from fivetran_assets.stack.runner import JobRun
from fivetran_assets.stack.settings import StackSettings
from fivetran_assets_tests.ui.conftest import SEED_ROWS
from fivetran_assets_tests.ui.dagster_ui import graph_edges, graph_nodes, graphql, open_page

TABLE = ("sales_main", "employees")
LOCATIONS_QUERY = "{ workspaceOrError { ... on Workspace { locationEntries { name } } } }"
GROUPS_QUERY = "{ assetNodes { assetKey { path } groupName opNames isMaterializable } }"
RUN_QUERY = """
query ($id: ID!) { runOrError(runId: $id) { ... on Run { status parentRunId jobName } } }
"""
REEXECUTE_SECONDS = 300
FULL_GRAPH = {"width": 3200, "height": 6000}  # sources, tables and models: all drawn


@pytest.fixture(scope="module")
def groups(dagster_webserver: str) -> dict[str, set[str]]:
    """Asset group -> the names of its assets, as the code location defines them (not the
    source tables upstream, external assets in groups of their own)."""
    found: dict[str, set[str]] = {}
    for node in graphql(dagster_webserver, GROUPS_QUERY)["assetNodes"]:
        if not node["isMaterializable"]:
            continue
        found.setdefault(node["groupName"], set()).add(node["assetKey"]["path"][-1])
    return found


@pytest.fixture(scope="module")
def location(dagster_webserver: str) -> str:
    entries = graphql(dagster_webserver, LOCATIONS_QUERY)["workspaceOrError"]["locationEntries"]
    assert len(entries) == 1, entries
    return entries[0]["name"]


def test_the_lineage_tells_every_connection_and_table_apart(
    dagster_webserver: str,
    groups: dict[str, set[str]],
    page: Any,
    screenshot: Callable[[str], Path],
) -> None:
    departments = ("engineering", "finance", "marketing", "sales")
    connections = sorted(g for g in groups if g.removeprefix("departments__") in departments)
    assert len(connections) == 4, sorted(groups)  # one group per department connection
    open_page(page, f"{dagster_webserver}/asset-groups")
    page.get_by_text("Global asset lineage").first.wait_for()
    # the source tables' boxes (`<group>__<connection>__source`) are drawn too, upstream
    drawn = [node.name for node in graph_nodes(page, groups) if node.name in groups]
    screenshot("newcomer-lineage")
    assert sorted(drawn) == sorted(groups), drawn  # one box per group, each name once
    edges = set(graph_edges(page, groups))
    models = next(g for g in groups if g.endswith("department_models"))
    assert {(c, models) for c in connections} <= edges, edges

    # Expanded (the graph's settings menu), every table sits in its connection's box. The graph
    # draws only what the window shows: a tall window shows it all.
    page.set_viewport_size(FULL_GRAPH)
    page.locator("[aria-label='settings']").last.click()
    page.get_by_role("menuitem", name=re.compile("Expand all groups")).click()
    assets = {a for names in groups.values() for a in names}
    page.wait_for_function(
        "n => document.querySelectorAll('svg > foreignObject [data-tooltip]').length >= n",
        arg=len(groups) + sum(len(names) for names in groups.values()),
    )
    nodes = graph_nodes(page, [*groups, *assets])
    screenshot("newcomer-lineage-expanded")
    placed = [(n.within, n.name) for n in nodes if n.name in assets and n.within in groups]
    assert sorted(placed) == sorted((g, a) for g, names in groups.items() for a in names)
    assert len(set(placed)) == len(placed)  # 4 `employees`, each told apart by its box


def test_a_tables_page_shows_rows_columns_and_where_it_lives(
    dagster_webserver: str,
    pipeline_run: JobRun,
    stack_settings: StackSettings,
    page: Any,
    screenshot: Callable[[str], Path],
) -> None:
    with duckdb.connect(str(stack_settings.warehouse_path), read_only=True) as con:
        (catalog,) = con.execute("SELECT current_database()").fetchone()
        columns = [
            name
            for (name,) in con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                list(TABLE),
            ).fetchall()
        ]
    open_page(page, f"{dagster_webserver}/assets/{'/'.join(TABLE)}")
    page.get_by_text("Row count", exact=True).first.wait_for()
    page.get_by_text("Columns", exact=True).first.wait_for()
    screenshot("newcomer-table")
    body = page.inner_text("body")

    shown = re.search(r"Row count\s+([\d,]+)", body)
    assert shown and int(shown.group(1).replace(",", "")) == SEED_ROWS, body
    column_table = page.locator("table", has=page.get_by_text("Column name", exact=True))
    listed = [
        cell.strip() for cell in column_table.locator("tbody tr td:first-child").all_inner_texts()
    ]
    assert [cell.split("\n")[0] for cell in listed] == columns
    assert "ssn" not in columns  # blocked by the config's selection, so never landed
    assert f"{catalog}.{TABLE[0]}.{TABLE[1]}" in body  # the fully qualified table name
    assert "fivetran.com" not in page.content()  # the local Fivetran has no dashboard


def test_the_jobs_and_the_timeline_list_the_demos_runs(
    dagster_webserver: str,
    location: str,
    provisioned_estate: JobRun,
    pipeline_run: JobRun,
    page: Any,
    screenshot: Callable[[str], Path],
) -> None:
    for run in (provisioned_estate, pipeline_run):
        open_page(page, f"{dagster_webserver}/locations/{location}/jobs/{run.job_name}/runs")
        page.get_by_text(run.run_id[:8]).first.wait_for()
        screenshot(f"newcomer-job-{run.job_name}")
    open_page(page, f"{dagster_webserver}/overview/activity/timeline")
    page.get_by_text(location).first.wait_for()
    timeline = page.inner_text("body")
    screenshot("newcomer-timeline")
    assert "No runs" not in timeline
    for run in (provisioned_estate, pipeline_run):
        assert run.job_name in timeline


def test_re_executing_the_demos_pipeline_run_succeeds(
    dagster_webserver: str,
    pipeline_run: JobRun,
    page: Any,
    screenshot: Callable[[str], Path],
) -> None:
    open_page(page, f"{dagster_webserver}/runs/{pipeline_run.run_id}")
    page.get_by_role("button", name=re.compile("Re-execute all")).first.click()
    page.wait_for_url(lambda url: "/runs/" in url and pipeline_run.run_id not in url)
    new_run = page.url.rsplit("/runs/", 1)[1].split("?")[0]

    deadline = time.monotonic() + REEXECUTE_SECONDS
    while True:
        run = graphql(dagster_webserver, RUN_QUERY, {"id": new_run})["runOrError"]
        if run["status"] in ("SUCCESS", "FAILURE", "CANCELED") or time.monotonic() > deadline:
            break
        time.sleep(2)
    page.reload()
    page.wait_for_load_state("networkidle")
    screenshot("newcomer-reexecuted")
    assert run == {"status": "SUCCESS", "parentRunId": pipeline_run.run_id, "jobName": "pipeline"}
