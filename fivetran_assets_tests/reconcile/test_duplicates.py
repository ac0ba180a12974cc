"""Duplicates are drift: copies of a declared resource are shown and deleted, newest first."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from fivetran_assets.cli import main
from fivetran_assets.estate.estate import Selection
from fivetran_assets.estate.references import Environment
from fivetran_assets.reconcile.desired import ConnectionSpec, DestinationSpec, GroupSpec
from fivetran_assets.reconcile.diff import compute_plan
from fivetran_assets.reconcile.fingerprints import FingerprintStore
from fivetran_assets.reconcile.plan import Action, Kind
from fivetran_assets.reconcile.reader import LiveEstate, LiveGroup
from fivetran_assets.state.shared import StateLocation


def _run(demo, *args: str):
    env = {
        **demo.env,
        "FIVETRAN_ASSETS_STATE_DIR": str(demo.state_dir),
        "FIVETRAN_TIME_SCALE": "60",
        "FIVETRAN_ASSETS_SNAPSHOT": str(demo.state_dir / "snapshot.json"),
    }
    return CliRunner().invoke(main, [*args, "--config", str(demo.path)], env=env)


def test_copies_of_a_webhook_and_a_transformation_are_planned_and_deleted(demo) -> None:
    assert _run(demo, "apply", "--yes").exit_code == 0
    client = demo.client()
    (hook,) = list(client.list_webhooks())
    copies = [
        client.create_group_webhook(hook.group_id, hook.url, list(hook.events), secret="whsec_x")
        for _ in range(2)
    ]
    (transformation,) = list(client.list_transformations())
    extra = client.create_transformation(
        {"project_id": transformation.project_id, "name": transformation.name,
         "steps": [{"name": "run", "command": "dbt run"}]},
        {"schedule_type": "INTERVAL", "interval": 60},
        paused=True,
    )  # fmt: skip

    planned = _run(demo, "plan", "--json")
    assert planned.exit_code == 2, planned.output
    rows = [c for c in json.loads(planned.stdout)["changes"] if c["action"] == "duplicate"]
    assert [(r["kind"], r["id"]) for r in rows] == [
        ("transformation", extra.id),
        ("webhook", copies[1].id),  # the newest copy first
        ("webhook", copies[0].id),
    ]
    assert {r["fields"][0]["new"] for r in rows} == {hook.id, transformation.id}
    assert json.loads(planned.stdout)["summary"]["duplicate"] == 3
    table = _run(demo, "plan")
    assert "duplicate" in table.output and "3 duplicate(s) to delete" in table.output

    applied = _run(demo, "apply", "--yes")  # no --prune: copies of managed resources go anyway
    assert applied.exit_code == 0, applied.output
    assert [w.id for w in client.list_webhooks()] == [hook.id]
    assert [t.id for t in client.list_transformations()] == [transformation.id]
    assert _run(demo, "plan").exit_code == 0


def _connection(connection_id: str, created: datetime) -> object:
    from fivetran_assets.fivetran.models import Connection

    return Connection.from_api(
        {
            "id": connection_id,
            "group_id": "g1",
            "service": "sqlite",
            "schema": "sales",
            "paused": False,
            "created_at": created.isoformat().replace("+00:00", "Z"),
            "status": {"setup_state": "connected", "sync_state": "scheduled"},
            "config": {},
        }
    )


def test_two_connections_with_one_destination_schema_keep_the_oldest(tmp_path) -> None:
    from fivetran_assets.fivetran.models import Destination, Group

    start = datetime(2026, 1, 1, tzinfo=UTC)
    oldest, newer, newest = (
        _connection(cid, start + timedelta(minutes=m)) for cid, m in (("c_old", 0), ("c_mid", 5),
                                                                      ("c_new", 9))
    )  # fmt: skip
    group = Group.from_api({"id": "g1", "name": "departments", "created_at": start.isoformat()})
    destination = Destination.from_api(
        {"id": "g1", "group_id": "g1", "service": "duckdb", "region": "GCP_US_EAST4",
         "time_zone_offset": "0", "setup_status": "connected", "config": {}}
    )  # fmt: skip
    live = LiveEstate(
        groups={
            "departments": LiveGroup(
                group, destination, connections=(newest, oldest, newer), schema_configs={}
            )
        }
    )
    spec = ConnectionSpec(
        group="departments",
        name="sales",
        service="sqlite",
        schedule_type="manual",
        paused=False,
        selection=Selection(),
    )
    desired = {
        "departments": GroupSpec(
            name="departments",
            destination=DestinationSpec(
                group="departments", service="duckdb", time_zone_offset="0"
            ),
            connections=(spec,),
        )
    }
    fingerprints = FingerprintStore(StateLocation(tmp_path).shared(), base_url="http://x")
    plan = compute_plan(desired, live, fingerprints=fingerprints, environment=Environment())
    removals = [(c.action, c.kind, c.live_id) for c in plan.changes if c.removes]
    assert removals == [
        (Action.DUPLICATE, Kind.CONNECTION, "c_new"),
        (Action.DUPLICATE, Kind.CONNECTION, "c_mid"),
    ]
    assert all(c.fields[0].new == "c_old" for c in plan.changes if c.removes)
    assert plan.counts()["duplicate"] == 2 and plan.counts()["delete"] == 0
    plan.raise_if_unsafe()  # copies do not count against the safety threshold
