"""Access and governance as code: users, teams, members, log services, certificates.

The demo estate declares two users, a team and the group's members; every apply re-plans and
expects an empty plan.
"""

from __future__ import annotations

import pytest

from fivetran_assets.estate import EstateError
from fivetran_assets.reconcile.plan import Action, Kind
from fivetran_assets.reconcile.render import compact_lines, plan_markdown
from fivetran_assets_tests.emulator.test_governance import CERTIFICATE, FINGERPRINT

DATADOG_KEY = "dd-key-0001"
DEPARTMENTS = ("sales", "marketing", "engineering", "finance")


def _apply(reconciler, plan) -> None:
    report = reconciler.apply(plan)
    assert report.result.ok, report.result.failures()
    assert report.verified, report.verification.to_json()


def test_demo_access_applies_then_plans_empty_and_prunes_only_when_asked(demo) -> None:
    reconciler = demo.reconciler()
    plan = reconciler.plan()
    access = {c.kind: [x.label for x in plan.changes if x.kind is c.kind] for c in plan.changes}
    assert access[Kind.USER] == ["ana.lima@example.com", "ben.okafor@example.com"]
    assert access[Kind.TEAM] == ["data-platform"]
    assert access[Kind.TEAM_MEMBER] == [
        "data-platform/ana.lima@example.com",
        "data-platform/ben.okafor@example.com",
    ]
    assert access[Kind.GROUP_MEMBER] == [
        "departments/team:data-platform",
        "departments/user:ben.okafor@example.com",
    ]
    text = "\n".join(line.plain for line in compact_lines(plan, width=80))
    assert text.index("access:") > text.index("+ connection departments/sales")
    assert "**Access**" in plan_markdown(plan)
    _apply(reconciler, plan)

    client = demo.client()
    users = {u.email: u for u in client.list_users()}
    assert users["ben.okafor@example.com"].role == "Account Analyst"
    (team,) = [t for t in client.list_teams() if t.name == "data-platform"]
    group = next(g for g in client.list_groups() if g.name == "departments")
    members = client.list_memberships("team", team.id, "group")
    assert [(m.id, m.role) for m in members] == [(group.id, "Destination Administrator")]

    # a role change is an update; a user removed from the config is left alone ...
    def edit(data: dict) -> None:
        data["account"]["users"][0]["role"] = "Account Analyst"
        data["account"]["users"].pop(1)
        data["account"]["teams"][0]["members"].pop(1)
        data["groups"][0]["members"].pop(1)

    demo.edit(edit)
    reconciler = demo.reconciler()
    plan = reconciler.plan()
    assert [(c.action, c.kind, c.label) for c in plan.changes] == [
        (Action.UPDATE, Kind.USER, "ana.lima@example.com")
    ]
    unmanaged = {(u.kind, u.name) for u in plan.unmanaged}
    assert (Kind.USER, "ben.okafor@example.com") in unmanaged
    assert (Kind.GROUP_MEMBER, "user:ben.okafor@example.com") in unmanaged
    _apply(reconciler, plan)
    assert "ben.okafor@example.com" in {u.email for u in client.list_users()}

    # ... and deleted only with --prune; the user behind the API key is never a candidate
    pruned = reconciler.plan(prune=True)
    deletes = {(c.kind, c.label) for c in pruned.changes if c.action is Action.DELETE}
    assert (Kind.USER, "ben.okafor@example.com") in deletes
    assert all(c.kind is not Kind.USER or "owner" not in c.label for c in pruned.changes)
    report = reconciler.apply(pruned, prune=True)
    assert report.result.ok, report.result.failures()
    assert report.verified, report.verification.to_json()
    assert "ben.okafor@example.com" not in {u.email for u in client.list_users()}


def test_unknown_role_is_a_plan_error_naming_the_known_ones(demo) -> None:
    demo.edit(lambda data: data["groups"][0]["members"][1].update(role="Destination Boss"))
    with pytest.raises(EstateError) as caught:
        demo.reconciler().plan()
    text = str(caught.value)
    assert "groups[departments].members[1].role" in text
    assert "Destination Boss" in text and "Destination Analyst" in text


def test_log_service_certificates_and_fingerprints(demo) -> None:
    def edit(data: dict) -> None:
        data["account"]["log_services"] = [
            {"name": "datadog", "service": "datadog_log", "config": {
                "api_key": "${env:DD_API_KEY}", "region": "US5"}}
        ]  # fmt: skip
        group = data["groups"][0]
        group["log_service"] = "datadog"
        group["destination"]["fingerprints"] = [FINGERPRINT]
        group["connections"][0]["certificates"] = [{"hash": "c1", "public_key": CERTIFICATE}]

    demo.edit(edit)
    demo.env["DD_API_KEY"] = DATADOG_KEY
    reconciler = demo.reconciler()
    plan = reconciler.plan()
    governance = [(c.kind, c.label) for c in plan.changes if c.kind.area == "governance"]
    assert sorted(governance) == sorted(
        [
            (Kind.LOG_SERVICE, "departments/datadog"),
            *((Kind.CERTIFICATE, f"departments/{d}/c1") for d in DEPARTMENTS),
            (Kind.FINGERPRINT, f"departments/destination/{FINGERPRINT['hash']}"),
        ]
    )
    assert DATADOG_KEY not in plan.to_json()
    _apply(reconciler, plan)
    client = demo.client()
    group = next(g for g in client.list_groups() if g.name == "departments")
    log = client.get_log_service(group.id)
    assert log.config == {"api_key": "******", "region": "US5"}

    demo.env["DD_API_KEY"] = "dd-key-0002"  # a rotated secret is seen by its fingerprint
    plan = demo.reconciler().plan()
    (change,) = plan.changes
    assert change.kind is Kind.LOG_SERVICE and change.fields[0].secret
    _apply(demo.reconciler(), plan)
