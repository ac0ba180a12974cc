"""Every client method against the local Fivetran (the `emulator` fixture), on real data.

The emulator shares no code with the client, so these check the client's reading of the API
against an independent implementation that is itself checked against Fivetran's definition.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fivetran_assets.fivetran import (
    ConflictError,
    Connection,
    ConnectionStatus,
    DestinationSetupStatus,
    ExcludeMode,
    FivetranClient,
    NotFoundError,
    RetryPolicy,
    ScheduleType,
    SchemaChangeHandling,
    SetupState,
    SyncMode,
    TransformationScheduleType,
    WebhookEvent,
    WebhookType,
)
from fivetran_assets_tests.client.fakes import ScriptedServer, scripted_server


def client_for(emulator, **kwargs) -> FivetranClient:
    kwargs.setdefault("rate_budget", None)
    kwargs.setdefault("retry", RetryPolicy(max_retries=2, backoff_base=0.01))
    return FivetranClient(
        emulator.api_key, emulator.api_secret, base_url=emulator.base_url, **kwargs
    )


@pytest.fixture
def client(emulator) -> Iterator[FivetranClient]:
    with client_for(emulator) as c:
        yield c


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "sales.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, email TEXT, amount REAL)")
    db.execute("CREATE TABLE notes (body TEXT)")
    db.executemany(
        "INSERT INTO orders VALUES (?, ?, ?)", [(i, f"c{i}@x.io", i * 1.5) for i in range(5)]
    )
    db.commit()
    db.close()
    return path


@pytest.fixture
def receiver() -> Iterator[ScriptedServer]:
    with scripted_server() as server:
        yield server


def wait_for(predicate, *, timeout: float = 20.0, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not met in time")


def test_account_groups_and_pagination(emulator) -> None:
    client = client_for(emulator, page_size=2)
    assert client.get_account_info().account_id
    created = [client.create_group(f"team_{i}") for i in range(5)]
    listed = list(client.list_groups())
    assert [g.id for g in listed] == [g.id for g in created]
    list_calls = [
        r for r in emulator.request_log.since(0)[0] if r.method == "GET" and r.path == "/v1/groups"
    ]
    assert len(list_calls) == 3  # 2 + 2 + 1 items
    renamed = client.update_group(created[0].id, name="team_zero")
    assert client.get_group(created[0].id).name == renamed.name == "team_zero"
    client.delete_group(created[4].id)
    with pytest.raises(NotFoundError) as info:
        client.get_group(created[4].id)
    assert info.value.code == "NotFound_Group"


def test_destination_and_webhooks(
    client: FivetranClient, tmp_path: Path, receiver: ScriptedServer
) -> None:
    group = client.create_group("finance")
    dest = client.create_destination(
        group.id, "duckdb", time_zone_offset="0", config={"path": str(tmp_path / "wh.duckdb")}
    )
    assert dest.id == dest.group_id == group.id
    assert dest.setup_status is DestinationSetupStatus.CONNECTED
    assert client.update_destination(dest.id, time_zone_offset="+2").time_zone_offset == "+2"
    assert client.get_destination(dest.id).time_zone_offset == "+2"
    assert all(t.passed for t in client.test_destination(dest.id).setup_tests)
    assert [d.id for d in client.list_destinations()] == [dest.id]

    events = [WebhookEvent.SYNC_END, WebhookEvent.SYNC_START]
    hook = client.create_group_webhook(group.id, receiver.url + "/hook", events, secret="s3cr3t!")
    assert (hook.type, hook.group_id, hook.active) == (WebhookType.GROUP, group.id, True)
    account_hook = client.create_account_webhook(receiver.url + "/all", ["sync_end"], active=False)
    assert account_hook.type is WebhookType.ACCOUNT
    assert {h.id for h in client.list_webhooks()} == {hook.id, account_hook.id}
    patched = client.update_webhook(hook.id, events=["sync_end"], active=False)
    assert patched.events == (WebhookEvent.SYNC_END,) and not patched.active
    assert client.get_webhook(hook.id).events == (WebhookEvent.SYNC_END,)
    client.update_webhook(hook.id, active=True)
    result = client.test_webhook(hook.id, event=WebhookEvent.SYNC_END)
    assert result.succeed and result.status == 200
    assert any(s.path == "/hook" for s in receiver.seen)
    client.delete_webhook(account_hook.id)
    with pytest.raises(NotFoundError):
        client.get_webhook(account_hook.id)
    client.delete_destination(dest.id)
    with pytest.raises(NotFoundError):
        client.get_destination(dest.id)


def make_connection(client: FivetranClient, tmp_path: Path, source: Path) -> Connection:
    group = client.create_group("sales")
    client.create_destination(
        group.id, "duckdb", time_zone_offset="0", config={"path": str(tmp_path / "wh.duckdb")}
    )
    return client.create_connection(
        group.id,
        "sqlite",
        config={"schema_prefix": "sales", "database": str(source)},
        paused=False,
        schedule_type=ScheduleType.MANUAL,
        sync_frequency=360,
        run_setup_tests=True,
    )


def test_connection_lifecycle_and_schema(
    emulator, client: FivetranClient, tmp_path: Path, source: Path
) -> None:
    conn = make_connection(client, tmp_path, source)
    assert (conn.service, conn.schema, conn.schedule_type) == ("sqlite", "sales", "manual")
    assert isinstance(conn.status, ConnectionStatus)
    assert [c.id for c in client.list_connections(group_id=conn.group_id)] == [conn.id]
    assert [c.id for c in client.list_connections(schema="sales")] == [conn.id]
    assert list(client.list_connections(group_id=conn.group_id, schema="nope")) == []
    assert [c.id for c in client.list_group_connections(conn.group_id, schema="sales")] == [conn.id]
    tested = client.test_connection(conn.id)
    assert tested.status.setup_state is SetupState.CONNECTED
    assert client.update_connection(conn.id, sync_frequency=60).sync_frequency == 60

    captured = client.get_schema_config(conn.id)  # captured once the setup tests passed
    assert captured is not None and set(next(iter(captured.schemas.values())).tables) == {
        "orders",
        "notes",
    }
    config = client.reload_schema_config(conn.id, exclude_mode=ExcludeMode.PRESERVE)
    (schema_name,) = config.schemas
    assert set(config.schemas[schema_name].tables) == {"orders", "notes"}
    columns = client.list_table_columns(conn.id, schema_name, "orders")
    assert columns["id"].is_primary_key and set(columns) == {"id", "email", "amount"}
    client.update_column(conn.id, schema_name, "orders", "email", enabled=True, hashed=True)
    client.update_table(conn.id, schema_name, "notes", enabled=False)
    client.update_table(conn.id, schema_name, "orders", sync_mode=SyncMode.HISTORY)
    client.update_schema(conn.id, schema_name, enabled=True)
    updated = client.update_schema_config(
        conn.id, schema_change_handling=SchemaChangeHandling.BLOCK_ALL
    )
    assert updated.schema_change_handling is SchemaChangeHandling.BLOCK_ALL
    fresh = client.get_schema_config(conn.id)
    assert fresh is not None
    orders = fresh.schemas[schema_name].tables["orders"]
    assert orders.columns["email"].hashed and orders.sync_mode is SyncMode.HISTORY
    assert [t.name for _, t in fresh.enabled_tables()] == ["orders"]

    before = client.get_connection(conn.id).last_sync_completed_at
    client.sync_connection(conn.id)
    synced = wait_for(
        lambda: (c := client.get_connection(conn.id)).last_sync_completed_at != before and c
    )
    assert synced.last_sync_succeeded is True
    client.resync_tables(conn.id, {schema_name: ["orders"]})
    wait_for(lambda: client.get_connection(conn.id).status.sync_state != "syncing")
    client.resync_connection(conn.id, scope={schema_name: ["orders"]})
    legacy = client_for(emulator, legacy_paths=True)
    assert legacy.get_connection(conn.id).id == conn.id
    wait_for(lambda: client.get_connection(conn.id).status.sync_state != "syncing")
    legacy.delete_connection(conn.id)
    with pytest.raises(NotFoundError):
        client.get_connection(conn.id)


def test_transformation_projects_and_transformations(
    client: FivetranClient, tmp_path: Path, source: Path
) -> None:
    conn = make_connection(client, tmp_path, source)
    project = client.create_transformation_project(
        conn.group_id,
        {"dbt_version": "1.9.0", "default_schema": "analytics", "folder_path": str(tmp_path)},
        run_tests=False,
    )
    assert project.group_id == conn.group_id
    assert [p.id for p in client.list_transformation_projects()] == [project.id]
    assert client.get_transformation_project(project.id).project_config.default_schema == (
        "analytics"
    )
    changed = client.update_transformation_project(project.id, project_config={"threads": 2})
    assert changed.project_config.threads == 2
    assert client.test_transformation_project(project.id).status in ("READY", "ERROR")

    tr = client.create_transformation(
        {
            "project_id": project.id,
            "name": "daily",
            "steps": [{"name": "build", "command": "dbt run --select orders"}],
        },
        {"schedule_type": "INTEGRATED", "connection_ids": [conn.id]},
        paused=True,
    )
    assert tr.schedule.schedule_type is TransformationScheduleType.INTEGRATED
    assert (tr.name, tr.project_id, tr.paused) == ("daily", project.id, True)
    assert [t.id for t in client.list_transformations(project_id=project.id)] == [tr.id]
    interval = {"schedule_type": "INTERVAL", "interval": 60}
    assert client.update_transformation(tr.id, schedule=interval).schedule.interval == 60
    client.run_transformation(tr.id, full_refresh=True)
    ran = wait_for(lambda: (t := client.get_transformation(tr.id)).last_ended_at and t)
    assert ran.status == "FAILED"  # the folder holds no dbt project
    assert ran.last_started_at is not None and ran.last_started_at <= ran.last_ended_at
    with pytest.raises(ConflictError):
        client.cancel_transformation(tr.id)  # nothing running to cancel
    client.delete_transformation(tr.id)
    with pytest.raises(NotFoundError):
        client.get_transformation(tr.id)
    client.delete_transformation_project(project.id)
    with pytest.raises(NotFoundError):
        client.get_transformation_project(project.id)


def test_connector_types(client: FivetranClient) -> None:
    services = {t.id for t in client.list_connector_types()}
    assert {"sqlite", "postgres"} <= services
    assert client.get_connector_type("sqlite").type == "Database"
