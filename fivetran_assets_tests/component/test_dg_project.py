"""The component in a fresh `dg` project: `dg utils refresh-defs-state` captures its state through
the instance's defs state storage (a `file://` UPath), `dg list defs` then lists the estate's
assets, jobs, schedules and sensors with no call to Fivetran, and `dg check defs` passes."""

from __future__ import annotations

import json
from pathlib import Path

from fivetran_assets_tests.component.conftest import dg, instance_yaml, make_project
from fivetran_assets_tests.dagster.conftest import DEPARTMENTS, Demo, api_requests

TABLES = ("employees", "expenses", "tickets", "audit_log")
MODELS = {
    "stg_employees",
    "stg_expenses",
    "headcount_by_department",
    "spend_by_department",
    "open_tickets",
    "audit_events",
}


def test_a_fresh_dg_project_lists_the_estate_from_state_with_no_api_call(
    demo: Demo, tmp_path: Path
) -> None:
    state = tmp_path / "state-bucket"
    home = instance_yaml(tmp_path / "home", state)
    root = make_project(tmp_path, {"config": "config", "job_prefix": "acme_"})

    checked = dg(root, home, "check", "defs")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    _, start = api_requests(demo)
    refreshed = dg(root, home, "utils", "refresh-defs-state")
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    calls, start = api_requests(demo, start)
    assert calls and all(c["method"] == "GET" for c in calls)  # read-only capture
    assert list(state.rglob("*")), "no state stored under the file:// UPath"

    listed = dg(root, home, "list", "defs", "--json")
    assert listed.returncode == 0, listed.stderr
    assert api_requests(demo, start)[0] == []  # loading made no API call
    defs = json.loads(listed.stdout)
    keys = {a["asset_key"] for a in defs["assets"]}
    groups = {a["asset_key"]: a["group_name"] for a in defs["assets"]}
    assert groups["sales_main/employees"] == "departments__sales"
    assert {f"{d}_main/{t}" for d in DEPARTMENTS for t in TABLES} | MODELS <= keys
    jobs = {j["name"] for j in defs["jobs"]}
    assert {
        "acme_sync_all",
        "acme_transform_all",
        "acme_pipeline",
        "acme_group_departments",
        "acme_provision_fivetran",
        "acme_refresh_fivetran_state",
    } <= jobs
    assert {s["name"] for s in defs["schedules"]} == {"acme_departments__sync_every_360m"}
    sensors = {s["name"] for s in defs["sensors"]}
    assert {"acme_fivetran_config_sensor", "acme_fivetran_automation_sensor"} <= sensors
    assert "acme_fivetran_webhook_sensor" in sensors  # the demo config declares a webhook
