"""`fivetran-assets import` against an account made by hand: the config it writes plans empty."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from fivetran_assets.estate import load_estate
from fivetran_assets.estate.connect import client_for
from fivetran_assets.reconcile.plan import Plan
from fivetran_assets.reconcile.service import Reconciler
from fivetran_assets_tests.importer.conftest import Account

_REFERENCE = re.compile(r"\$\{env:([A-Za-z0-9_{}]+)\}")


def templates_of(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Connection templates by `group/service`."""
    return {
        f"{group['name']}/{entry['service']}": entry
        for group in doc["groups"]
        for entry in group.get("connections", [])
        if "for_each" in entry
    }


def example_names(config: Path) -> set[str]:
    lines = config.with_name(config.name + ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}


def referenced_names(doc: dict[str, Any]) -> set[str]:
    """Every variable the config refers to, `{name}` expanded for each item of a template."""
    names = set(_REFERENCE.findall(yaml.safe_dump(doc["account"])))  # log services
    for group in doc["groups"]:
        entries = [group, *group.get("connections", [])]
        for entry in entries:
            text = yaml.safe_dump({k: v for k, v in entry.items() if k != "for_each"})
            found = _REFERENCE.findall(text) if entry is not group else []
            items = entry.get("for_each") or [{"name": entry.get("name")}]
            names |= {n.replace("{name}", str(i["name"])) for n in found for i in items}
        rest = {k: v for k, v in group.items() if k != "connections"}
        names |= set(_REFERENCE.findall(yaml.safe_dump(rest)))
    return names


def plan_of(account: Account, config: Path) -> Plan:
    estate = load_estate(config)
    environment = estate.environment(account.env())
    reconciler = Reconciler(
        estate,
        client_for(estate, environment),
        environment=environment,
        state_dir=account.state_dir,
        refresh_snapshot=False,
    )
    return reconciler.plan()


def assert_plans_empty(account: Account, config: Path) -> Plan:
    plan = plan_of(account, config)
    assert plan.is_empty, plan.to_json()
    messages = [w.message for w in plan.warnings if not w.message.startswith("advice: ")]
    assert all("not verifiable until ${env:" in m for m in messages), messages
    return plan


def test_import_writes_a_config_that_plans_empty(account: Account, tmp_path: Path) -> None:
    out = tmp_path / "config" / "imported.yaml"
    account.clear_requests()
    result = account.run("import", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert (
        "60 resources (3 groups, 3 destinations, 1 webhook, 40 connections, 1 transformation "
        "project, 1 transformation, 3 users, 1 team, 4 members, 1 log service, 2 approvals)"
    ) in result.output
    assert "Found 4 connection templates and 3 shared selections" in result.output
    assert {e["method"] for e in account.api_requests()} == {"GET"}  # read-only

    text = out.read_text()
    doc = yaml.safe_load(text)
    assert [g["name"] for g in doc["groups"]] == ["finance", "people", "retail"]
    templates = templates_of(doc)
    assert sorted(templates) == [
        "finance/postgres",
        "finance/sqlite",
        "people/sqlite",
        "retail/sqlite",
    ]
    assert sum(len(t["for_each"]) for t in templates.values()) == 40
    assert sorted(doc["selections"]) == [
        "finance_postgres",
        "finance_retail_sqlite",
        "people_sqlite",
    ]

    retail = templates["retail/sqlite"]
    assert retail["config"] == {"database": str(account.sources / "{name}.sqlite")}
    assert (retail["sync_frequency"], retail["schema"]) == (60, {"use": "finance_retail_sqlite"})
    items = {i["name"]: i for i in retail["for_each"]}
    assert items["shop_07"] == {"name": "shop_07", "paused": True}
    assert items["shop_04"] == {
        "name": "shop_04",
        "sync_frequency": 1440,
        "daily_sync_time": "03:00",
    }
    assert items["shop_05"] == {"name": "shop_05"}
    people = templates["people/sqlite"]
    assert (people["config"], people["scheduled_by"]) == ({"database": "{database}"}, "dagster")
    assert [i["database"] for i in people["for_each"]] == [
        str(account.sources / f"hr_site{n * 3}.sqlite") for n in range(1, 16)
    ]
    books = templates["finance/postgres"]
    assert books["config"]["database"] == "{name}"
    assert books["config"]["password"] == "${env:FINANCE_{name}_PASSWORD}"
    assert doc["selections"]["finance_postgres"]["schemas"] == {
        "public": {"tables": {"entries": {"columns": {"memo": {"hashed": True}}}}}
    }
    for secret in ("pw-books", account.made.webhook_secret, "t0ken"):
        assert secret not in text
    retail_group = doc["groups"][2]
    assert retail_group["webhooks"][0]["secret"] == "${env:RETAIL_WEBHOOK_SECRET}"
    assert retail_group["transformation_project"]["environment_vars"] == {
        "DBT_TARGET_TIER": "gold",
        "DBT_API_TOKEN": "${env:RETAIL_DBT_API_TOKEN}",
    }
    (transformation,) = retail_group["transformations"]
    assert transformation == {
        "name": "shop_rollup",
        "steps": [{"name": "models", "command": "dbt run --select staging"}],
        "schedule": {"mode": "integrated", "connections": ["shop_01", "shop_02", "shop_03"]},
    }
    account_section = doc["account"]
    assert [u["email"] for u in account_section["users"]] == [
        "ana@corp.example",
        "owner@local-fivetran.invalid",  # the user behind the API key
        "raj@corp.example",
    ]
    assert account_section["teams"] == [
        {
            "name": "analysts",
            "description": "Reads it all",
            "members": [{"email": "raj@corp.example", "role": "Team Member"}],
        }
    ]
    assert account_section["log_services"] == [
        {
            "name": "finance_logs",
            "service": "datadog_log",
            "config": {"api_key": "${env:FINANCE_LOGS_API_KEY}", "region": "EU"},
        }
    ]
    finance_group = doc["groups"][0]
    assert finance_group["log_service"] == "finance_logs"
    assert finance_group["members"] == [{"team": "analysts", "role": "Destination Reviewer"}]
    assert finance_group["destination"]["fingerprints"][0]["hash"] == "SHA256:finance-bastion"
    (books_eu, _) = books["for_each"]
    assert [c["hash"] for c in books_eu["certificates"]] == ["c1"]
    assert retail_group["members"] == [{"email": "ana@corp.example", "role": "Destination Analyst"}]
    shop_01 = next(i for i in retail["for_each"] if i["name"] == "shop_01")
    assert shop_01["members"] == [{"email": "ana@corp.example", "role": "Connector Collaborator"}]
    assert "dd-hand-made-key" not in text and "approving one again" in text
    assert example_names(out) == referenced_names(doc)
    assert {"FINANCE_books_eu_PASSWORD", "FINANCE_DESTINATION_PASSWORD"} <= example_names(out)

    assert_plans_empty(account, out)
    assert load_estate(out).summary().connections == 40
    cli_plan = account.run("plan", "--config", str(out))
    assert cli_plan.exit_code == 0, cli_plan.output
    assert "No changes" in cli_plan.output and "not verifiable until" in cli_plan.output

    refused = account.run("import", "--out", str(out))
    assert refused.exit_code == 1 and "--force" in refused.output
    again = account.run("import", "--out", str(out), "--force")
    assert again.exit_code == 0, again.output
    assert out.read_text() == text  # stable: same names, same order


def test_unreadable_groups_and_unknown_services_are_reported_and_the_rest_imported(
    account: Account, tmp_path: Path
) -> None:
    out = tmp_path / "partial.yaml"
    people = account.made.groups["people"]
    account.fault(kind="status", path=f"/v1/groups/{people}/connections", status=403, count=-1)
    account.fault(kind="status", path="/v1/metadata/connector-types/postgres", status=404, count=-1)
    account.fault(kind="status", path="/v1/users", method="GET", status=403, count=-1)
    try:
        result = account.run("import", "--out", str(out))
    finally:
        account.clear_faults()
    assert result.exit_code == 2, result.output
    assert "not imported group people: 403" in result.output
    assert "not imported users: 403" in result.output
    doc = yaml.safe_load(out.read_text())
    assert [g["name"] for g in doc["groups"]] == ["finance", "retail"]
    # Users could not be read: no list of users, teams or members (each would be taken whole).
    assert "users" not in doc["account"] and "teams" not in doc["account"]
    assert all("members" not in g for g in doc["groups"])
    assert sorted(templates_of(doc)) == ["finance/sqlite", "retail/sqlite"]
    finance = doc["groups"][0]["connections"]
    books = [e for e in finance if e["service"] == "postgres"]
    assert [b["name"] for b in books] == ["books_eu", "books_us"]
    assert books[0]["config"]["password"] == "${env:FINANCE_books_eu_PASSWORD}"
    text = out.read_text()
    assert "Fivetran does not describe service 'postgres'" in text
    assert "group people: 403" in text  # the file says what it lacks
    plan = assert_plans_empty(account, out)
    assert [(u.kind.value, u.group) for u in plan.unmanaged] == [("group", "people")]


def test_group_selection_and_no_templates(account: Account, tmp_path: Path) -> None:
    out = tmp_path / "retail.yaml"
    result = account.run("import", "--group", "retail", "--no-templates", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Found 0 connection templates and 1 shared selection" in result.output
    doc = yaml.safe_load(out.read_text())
    (retail,) = doc["groups"]
    assert len(retail["connections"]) == 20 and not templates_of(doc)
    assert all(c["schema"] == {"use": "retail_sqlite"} for c in retail["connections"])
    assert_plans_empty(account, out)

    unknown = account.run("import", "--group", "retial", "--out", str(tmp_path / "x.yaml"))
    assert unknown.exit_code == 1 and "did you mean 'retail'" in unknown.output
    assert not (tmp_path / "x.yaml").exists()


def test_an_import_that_fails_midway_writes_nothing(account: Account, tmp_path: Path) -> None:
    out = tmp_path / "config" / "imported.yaml"
    gone = account.made.connections[("people", "office_09")]  # deleted while being read
    account.fault(
        kind="status",
        path=f"/v1/connections/{gone}/schemas",
        status=404,
        body={"code": "NotFound_Connection", "message": f"Connection '{gone}' doesn't exist"},
        count=-1,
    )
    try:
        result = account.run("import", "--out", str(out))
    finally:
        account.clear_faults()
    assert result.exit_code == 1, result.output
    assert f"Connection '{gone}' doesn't exist" in result.output
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
