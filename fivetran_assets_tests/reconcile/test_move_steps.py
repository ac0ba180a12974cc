"""A group move's parts without a server: resuming midway, and waiting for historical syncs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fivetran_assets.estate import load_estate
from fivetran_assets.estate.references import Environment
from fivetran_assets.fivetran.models import Connection, Destination, Group
from fivetran_assets.reconcile.desired import desired_groups
from fivetran_assets.reconcile.fingerprints import FingerprintStore
from fivetran_assets.reconcile.move_ops import historical_sync
from fivetran_assets.reconcile.moves import Move, is_moving, move_change, staging_name
from fivetran_assets.reconcile.operations import ApplyError, Operations
from fivetran_assets.reconcile.reader import LiveGroup
from fivetran_assets_tests.reconcile.conftest import DEMO_CONFIG, REPO

STAGING = "departments__to_postgres_warehouse"


def _connection(name: str, *, succeeded: bool = False, **extra: Any) -> Connection:
    return Connection.from_api(
        {
            "id": f"id_{name}",
            "group_id": "g",
            "service": "sqlite",
            "schema": name,
            "paused": False,
            "succeeded_at": "2024-01-01T10:00:00Z" if succeeded else None,
            "status": {"setup_state": "connected", "sync_state": "scheduled", "tasks": []},
            **extra,
        }
    )


def _live(name: str, service: str, connections: tuple[Connection, ...]) -> LiveGroup:
    destination = Destination.from_api({"id": name, "service": service, "setup_tests": []})
    return LiveGroup(Group(f"id_{name}", name, None), destination, connections=connections)


def _spec(tmp_path: Path) -> Any:
    data = yaml.safe_load(DEMO_CONFIG.read_text())
    data["groups"][0]["destination"] = {"service": "postgres_warehouse", "config": {"x": "1"}}
    path = tmp_path / "fivetran.yaml"
    path.write_text(yaml.safe_dump(data))
    env = Environment(variables={}, root=REPO)
    return desired_groups(load_estate(path, root=REPO), env)["departments"]


def test_a_move_interrupted_during_its_syncs_resumes_with_what_is_left(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    old = _live("departments", "duckdb", tuple(_connection(n) for n in ("sales", "finance")))
    staging = _live(
        STAGING,
        "postgres_warehouse",
        (_connection("sales", succeeded=True), _connection("finance")),
    )
    assert staging_name("departments", "postgres_warehouse") == STAGING
    assert is_moving(spec, old, None) and is_moving(spec, old, staging)
    assert is_moving(spec, None, staging) and not is_moving(spec, None, None)
    change = move_change(spec, old, staging, new_name=STAGING)
    move: Move = change.desired
    assert change.replace and change.steps[0].startswith(f"complete group {STAGING}")
    assert (move.old_id, move.staging_id) == ("id_departments", f"id_{STAGING}")
    assert move.syncs == ("marketing", "engineering", "finance")  # sales already synced
    assert "run the historical sync of 3 connections" in " ".join(change.steps)

    rename = move_change(spec, None, staging, new_name=STAGING)
    assert not rename.replace and rename.desired.old_id is None
    assert [(f.path, f.old, f.new) for f in rename.fields] == [("name", STAGING, "departments")]


class _FakeClient:
    """Answers `get_connection` from a script of states; records sync requests."""

    def __init__(self, states: list[Connection]) -> None:
        self.states = states
        self.syncs: list[str] = []

    def get_connection(self, connection_id: str) -> Connection:
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]

    def sync_connection(self, connection_id: str, *, force: bool = False) -> None:
        self.syncs.append(connection_id)


def _ops(client: _FakeClient, tmp_path: Path) -> Operations:
    ids = {f"connection:{STAGING}/sales": "id_sales"}
    return Operations(client, Environment({}), FingerprintStore(tmp_path), ids)  # type: ignore[arg-type]


def test_historical_sync_waits_for_success_and_keeps_the_old_group_on_failure(
    tmp_path: Path,
) -> None:
    syncing = _connection("sales", status={"sync_state": "syncing", "tasks": []})
    done = _connection("sales", succeeded=True)
    client = _FakeClient([_connection("sales"), syncing, syncing, done])
    historical_sync(_ops(client, tmp_path), STAGING, "sales", sleep=lambda _: None)
    assert client.syncs == ["id_sales"]

    failed = _connection(
        "sales",
        failed_at="2024-01-01T11:00:00Z",
        status={"sync_state": "scheduled", "tasks": [{"code": "x", "message": "no table"}]},
    )
    client = _FakeClient([_connection("sales"), failed])
    with pytest.raises(ApplyError, match=r"failed \(no table\).*old group is kept"):
        historical_sync(_ops(client, tmp_path), STAGING, "sales", sleep=lambda _: None)

    now = [0.0]
    client = _FakeClient([syncing])
    with pytest.raises(ApplyError, match="still running after 60 s"):
        historical_sync(
            _ops(client, tmp_path),
            STAGING,
            "sales",
            timeout=60,
            clock=lambda: now[0],
            sleep=lambda s: now.__setitem__(0, now[0] + s),
        )
    assert client.syncs == []  # it was already syncing: joined, not restarted
