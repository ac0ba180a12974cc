"""Changes made by hand in Fivetran: declared ones are reverted, undeclared ones only reported,
copies of declared ones deleted."""

from __future__ import annotations

from fivetran_assets.reconcile.plan import Action, Kind


def test_hand_edits_declared_reverted_undeclared_warned_duplicates_deleted(demo) -> None:
    assert demo.reconciler().apply(demo.reconciler().plan()).verified
    client = demo.client()
    sales = next(c for c in client.list_connections() if c.schema == "sales")
    # Declared (email hashed): reverted. Undeclared (title): a warning only.
    client.update_column(sales.id, "main", "employees", "email", enabled=True, hashed=False)
    client.update_column(sales.id, "main", "employees", "title", enabled=True, hashed=True)
    client.update_connection(sales.id, paused=True)
    (hook,) = list(client.list_webhooks())
    duplicate = client.create_group_webhook(
        hook.group_id, hook.url, ["sync_end"], secret="whsec_other_0003"
    )

    plan = demo.reconciler().plan()
    assert [(c.action, c.kind, c.name, tuple(f.path for f in c.fields)) for c in plan.changes] == [
        (Action.UPDATE, Kind.CONNECTION, "sales", ("paused",)),
        (
            Action.UPDATE,
            Kind.SCHEMA_CONFIG,
            "sales",
            ("schemas.main.tables.employees.columns.email.hashed",),
        ),
        (Action.DUPLICATE, Kind.WEBHOOK, hook.url, ("duplicate_of", "created_at")),
    ]
    assert plan.changes[-1].live_id == duplicate.id
    assert plan.changes[-1].fields[0].new == hook.id
    assert [(w.name, w.message) for w in plan.warnings] == [
        ("sales", "column 'main.employees.title' is hashed in Fivetran but not declared")
    ]
    assert plan.unmanaged == ()
    report = demo.reconciler().apply(plan)
    assert report.verified, report.verification.to_json()
    assert client.get_connection(sales.id).paused is False
    assert [w.id for w in client.list_webhooks()] == [hook.id]
