"""Each edit of the config shows exactly its change in the plan, and apply makes it so."""

from __future__ import annotations

from fivetran_assets.emulator.dataplane.seed import department_names
from fivetran_assets.reconcile.plan import Action, Kind, Plan

NEW_DEPARTMENT = department_names(5)[4]


def _summary(plan: Plan) -> list[tuple[str, str, str, tuple[str, ...]]]:
    return [
        (c.action.value, c.kind.value, c.name, tuple(f.path for f in c.fields))
        for c in plan.changes
    ]


def _apply(demo, plan: Plan, *, prune: bool = False) -> None:
    report = demo.reconciler().apply(plan, prune=prune)
    assert report.result.ok, report.result.failures()
    assert report.verified, report.verification.to_json()


def _template(data: dict) -> dict:
    return data["groups"][0]["connections"][0]


def test_each_edit_shows_exactly_its_change_and_applies_it(demo) -> None:
    _apply(demo, demo.reconciler().plan())
    departments = ["engineering", "finance", "marketing", "sales"]

    demo.edit(lambda d: _template(d)["for_each"].append({"name": NEW_DEPARTMENT}))
    plan = demo.reconciler().plan()
    assert [(c.action, c.kind, c.name) for c in plan.changes] == [
        (Action.CREATE, Kind.CONNECTION, NEW_DEPARTMENT)
    ]
    _apply(demo, plan)
    departments = sorted([*departments, NEW_DEPARTMENT])

    def disable_expenses(d: dict) -> None:
        d["selections"]["department_default"]["tables"]["expenses"] = {"enabled": False}

    demo.edit(disable_expenses)
    plan = demo.reconciler().plan()
    path = "schemas.main.tables.expenses.enabled"
    assert _summary(plan) == [("update", "schema_config", n, (path,)) for n in departments]
    assert all((f.old, f.new) == (True, False) for c in plan.changes for f in c.fields)
    _apply(demo, plan)

    def hash_first_name(d: dict) -> None:
        columns = d["selections"]["department_default"]["tables"]["employees"]["columns"]
        columns["first_name"] = {"hashed": True}

    demo.edit(hash_first_name)
    plan = demo.reconciler().plan()
    path = "schemas.main.tables.employees.columns.first_name.hashed"
    assert _summary(plan) == [("update", "schema_config", n, (path,)) for n in departments]
    _apply(demo, plan)
    client = demo.client()
    sales = next(c for c in client.list_connections() if c.schema == "sales")
    employees = client.get_schema_config(sales.id).schemas["main"].tables["employees"]
    assert employees.columns["first_name"].hashed is True

    demo.edit(lambda d: _template(d).update(sync_frequency=60))
    plan = demo.reconciler().plan()
    assert _summary(plan) == [("update", "connection", n, ("sync_frequency",)) for n in departments]
    assert {(f.old, f.new) for c in plan.changes for f in c.fields} == {(360, 60)}
    _apply(demo, plan)

    def fewer_events(d: dict) -> None:
        d["groups"][0]["webhooks"][0]["events"] = ["sync_start", "sync_end"]

    demo.edit(fewer_events)
    plan = demo.reconciler().plan()
    ((action, kind, _, fields),) = _summary(plan)
    assert (action, kind, fields) == ("update", "webhook", ("events",))
    _apply(demo, plan)

    demo.env["FIVETRAN_WEBHOOK_SECRET"] = "whsec_rotated_0002"
    plan = demo.reconciler().plan()
    ((change),) = plan.changes
    assert (change.kind, [(f.path, f.secret, f.reason) for f in change.fields]) == (
        Kind.WEBHOOK,
        [("secret", True, "changed")],
    )
    assert "whsec_rotated" not in plan.to_json()
    _apply(demo, plan)

    def add_transformation(d: dict) -> None:
        d["groups"][0]["transformations"].append(
            {
                "name": "nightly_rollup",
                "steps": ["dbt run --select reporting"],
                "schedule": {"mode": "independent", "time_of_day": "02:00"},
                "scheduled_by": "fivetran",
            }
        )

    demo.edit(add_transformation)
    plan = demo.reconciler().plan()
    assert [(c.action, c.kind, c.name) for c in plan.changes] == [
        (Action.CREATE, Kind.TRANSFORMATION, "nightly_rollup")
    ]
    _apply(demo, plan)

    def partially_integrated(d: dict) -> None:
        d["groups"][0]["transformations"][-1]["schedule"] = {
            "mode": "partially_integrated",
            "connections": ["sales"],
            "interval": 120,
        }

    demo.edit(partially_integrated)
    plan = demo.reconciler().plan()
    ((change),) = plan.changes
    assert {f.path: (f.old, f.new) for f in change.fields} == {
        "schedule.schedule_type": ("TIME_OF_DAY", "INTERVAL"),
        "schedule.interval": (None, 120),
        "schedule.smart_syncing": (False, True),
        "schedule.connections": ([], ["sales"]),
    }
    _apply(demo, plan)
    rollup = next(t for t in client.list_transformations() if t.name == "nightly_rollup")
    assert rollup.schedule.smart_syncing is True and rollup.schedule.interval == 120
    assert rollup.schedule.connection_ids == (sales.id,)

    demo.edit(lambda d: _template(d)["for_each"].pop())
    plan = demo.reconciler().plan()
    assert plan.is_empty
    assert [(u.kind, u.name) for u in plan.unmanaged] == [(Kind.CONNECTION, NEW_DEPARTMENT)]
    _apply(demo, plan)
    assert any(c.schema == NEW_DEPARTMENT for c in client.list_connections())

    plan = demo.reconciler().plan(prune=True)
    assert [(c.action, c.kind, c.name) for c in plan.changes] == [
        (Action.DELETE, Kind.CONNECTION, NEW_DEPARTMENT)
    ]
    plan.raise_if_unsafe()
    _apply(demo, plan, prune=True)
    assert not any(c.schema == NEW_DEPARTMENT for c in client.list_connections())
