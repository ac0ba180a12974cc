"""Plan and apply the demo estate against the local Fivetran, from empty to converged."""

from __future__ import annotations

from fivetran_assets.reconcile.plan import Action, Kind

WRITES = ("POST", "PATCH", "DELETE")


def _writes(entries: list[dict]) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in entries if e["method"] in WRITES]


def test_empty_estate_to_demo_config_then_plan_is_empty(demo) -> None:
    reconciler = demo.reconciler()
    plan = reconciler.plan()
    kinds = sorted({c.kind for c in plan.changes}, key=lambda k: k.rank)
    assert kinds == [
        Kind.GROUP,
        Kind.DESTINATION,
        Kind.WEBHOOK,
        Kind.CONNECTION,
        Kind.TRANSFORMATION_PROJECT,
        Kind.TRANSFORMATION,
        Kind.USER,
        Kind.TEAM,
        Kind.TEAM_MEMBER,
        Kind.GROUP_MEMBER,
    ]
    assert all(c.action is Action.CREATE for c in plan.changes)
    assert "whsec" not in plan.to_json()

    report = reconciler.apply(plan)
    assert report.result.ok, report.result.failures()
    assert report.verified, report.verification.to_json()

    client = demo.client()
    (group,) = [g for g in client.list_groups() if g.name == "departments"]
    assert client.get_destination(group.id).setup_status.value == "CONNECTED"
    (hook,) = [w for w in client.list_webhooks() if w.group_id == group.id]
    assert sorted(hook.events) == sorted(
        [
            "sync_start",
            "sync_end",
            "dbt_run_start",
            "dbt_run_succeeded",
            "dbt_run_failed",
            "edit_connector",
        ]
    )
    connections = {c.schema: c for c in client.list_connections(group_id=group.id)}
    assert sorted(connections) == ["engineering", "finance", "marketing", "sales"]
    for connection in connections.values():
        assert connection.schedule_type.value == "manual"
        assert connection.paused is False
        assert connection.status.setup_state.value == "connected"
        config = client.get_schema_config(connection.id)
        assert config.schema_change_handling.value == "ALLOW_COLUMNS"
        tables = config.schemas["main"].tables
        assert tables["payroll"].enabled is False
        assert tables["employees"].columns["email"].hashed is True
        assert tables["employees"].columns["ssn"].enabled is False
        assert tables["expenses"].enabled is True
    (project,) = [p for p in client.list_transformation_projects() if p.group_id == group.id]
    live = {t.name: t for t in client.list_transformations(project_id=project.id)}
    assert sorted(live) == ["audit_trail", "department_models", "ticket_queue"]
    integrated, partial, independent = (
        live[n].schedule for n in ("department_models", "ticket_queue", "audit_trail")
    )
    assert integrated.schedule_type.value == "INTEGRATED"
    assert sorted(integrated.connection_ids) == sorted(c.id for c in connections.values())
    assert live["department_models"].paused is True  # scheduled_by: dagster
    assert (partial.schedule_type.value, partial.interval, partial.smart_syncing) == (
        "INTERVAL",
        60,
        True,
    )
    assert sorted(partial.connection_ids) == sorted(
        connections[n].id for n in ("engineering", "sales")
    )
    assert (independent.schedule_type.value, independent.cron) == ("CRON", ("*/15 * * * *",))
    assert not live["ticket_queue"].paused and not live["audit_trail"].paused  # Fivetran's

    demo.clear_requests()
    again = demo.reconciler()
    second = again.plan()
    assert second.is_empty, second.to_json()
    report = again.apply(second)
    assert report.verified
    assert _writes(demo.requests()) == []
