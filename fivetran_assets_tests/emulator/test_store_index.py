"""The store's live indexes: what the scheduler reads instead of scanning every connection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fivetran_assets.emulator.engine import due_at
from fivetran_assets.emulator.store import Store


def _connection(oid: str, **changes: Any) -> dict[str, Any]:
    conn = {
        "id": oid,
        "group_id": "g",
        "schema": oid,
        "paused": False,
        "schedule_type": "auto",
        "_next_sync_at": "2026-01-01T00:00:00.000000Z",
        "status": {"setup_state": "connected", "sync_state": "scheduled"},
    }
    return {**conn, **changes}


def test_an_index_follows_every_write_and_survives_a_restart(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite")
    store.put("connection", _connection("before"))
    due = store.index("connection", due_at)
    assert dict(due) == {"before": "2026-01-01T00:00:00.000000Z"}  # built from what is stored
    with store.lock:
        store.put("connection", _connection("manual", schedule_type="manual"))
        store.put("connection", _connection("paused", paused=True))
        broken = {"setup_state": "broken", "sync_state": "scheduled"}
        store.put("connection", _connection("broken", status=broken))
        rescheduled = {
            "setup_state": "connected",
            "sync_state": "rescheduled",
            "rescheduled_for": "2026-02-01T00:00:00.000000Z",
        }
        store.put("connection", _connection("later", schedule_type="manual", status=rescheduled))
    assert dict(due) == {
        "before": "2026-01-01T00:00:00.000000Z",
        "later": "2026-02-01T00:00:00.000000Z",
    }
    store.put("connection", _connection("before", paused=True))  # a write that drops it
    store.put("connection", _connection("manual"))  # and one that adds it
    store.delete("connection", "later")
    assert dict(due) == {"manual": "2026-01-01T00:00:00.000000Z"}
    store.close()
    reopened = Store(tmp_path / "state.sqlite")
    assert dict(reopened.index("connection", due_at)) == dict(due)
    reopened.clear()
    assert not reopened.index("connection", due_at)
