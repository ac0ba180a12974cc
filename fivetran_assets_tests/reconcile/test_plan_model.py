"""Unit tests of the Plan value objects, the fingerprint store and the task executor."""

from __future__ import annotations

import json
import threading
import time

import pytest

from fivetran_assets.reconcile.executor import Task, TaskState, run_tasks
from fivetran_assets.reconcile.fingerprints import FingerprintStore
from fivetran_assets.reconcile.plan import (
    Create,
    Delete,
    FieldDiff,
    Kind,
    Plan,
    PlanWarning,
    Unmanaged,
    UnsafePlanError,
    Update,
)
from fivetran_assets.reconcile.render import plan_markdown, plan_tables
from fivetran_assets.state.shared import StateLocation


def _sample() -> list:
    return [
        Delete(Kind.CONNECTION, "finance", "old", live_id="c1"),
        Create(Kind.TRANSFORMATION, "finance", "daily"),
        Update(Kind.CONNECTION, "finance", "sales", (FieldDiff("sync_frequency", 360, 60),), "c2"),
        Create(Kind.GROUP, "finance"),
        Delete(Kind.WEBHOOK, "finance", "https://x", live_id="w1"),
        Update(
            Kind.CONNECTION,
            "finance",
            "hr",
            (FieldDiff("config.password", secret=True, reason="changed"),),
            "c3",
        ),
    ]


def test_order_is_dependency_order_and_deterministic() -> None:
    changes = _sample()
    plan = Plan(tuple(changes))
    assert plan == Plan(tuple(reversed(changes)))
    assert plan.to_json() == Plan(tuple(reversed(changes))).to_json()
    order = [(c.action.value, c.kind.value, c.name) for c in plan.changes]
    assert order == [
        ("create", "group", ""),
        ("update", "connection", "hr"),
        ("update", "connection", "sales"),
        ("create", "transformation", "daily"),
        ("delete", "connection", "old"),
        ("delete", "webhook", "https://x"),
    ]


def test_json_and_renderings_mask_secrets() -> None:
    plan = Plan(tuple(_sample()))
    data = json.loads(plan.to_json())
    hr = next(c for c in data["changes"] if c["name"] == "hr")
    assert hr["fields"] == [
        {
            "path": "config.password",
            "old": "******",
            "new": "******",
            "secret": True,
            "reason": "changed",
        }
    ]
    md = plan_markdown(plan)
    assert "config.password: ****** (changed)" in md
    assert "sync_frequency: 360 -> 60" in md
    assert len(plan_tables(plan)) == 1  # the changes; no unmanaged resources, no warnings
    assert plan.counts()["delete"] == 2


def test_a_plan_read_back_from_its_json_is_the_same_plan() -> None:
    plan = Plan(
        tuple(_sample()),
        unmanaged=(Unmanaged(Kind.WEBHOOK, "finance", "https://y", "w9"),),
        warnings=(PlanWarning(Kind.CONNECTION, "finance", "sales", "paused in Fivetran"),),
    )
    again = Plan.from_dict(json.loads(plan.to_json()))
    assert again == plan
    assert again.to_json() == plan.to_json()


def test_desired_payload_takes_no_part_in_equality() -> None:
    a = Create(Kind.GROUP, "g", desired={"x": 1})
    b = Create(Kind.GROUP, "g", desired={"x": 2})
    assert a == b
    assert "x" not in repr(a)


def test_raise_if_unsafe_guards_mass_deletes() -> None:
    deletes = tuple(Delete(Kind.CONNECTION, "g", f"c{i}", live_id=str(i)) for i in range(4))
    Plan(deletes[:1], existing_count=5).raise_if_unsafe()
    with pytest.raises(UnsafePlanError, match="delete or replace 4 of 10"):
        Plan(deletes, existing_count=10).raise_if_unsafe()
    Plan(deletes, existing_count=10).raise_if_unsafe(allow_destructive=True)
    Plan(deletes, existing_count=20).raise_if_unsafe()
    replace = Update(Kind.CONNECTION, "g", "x", replace=True)
    with pytest.raises(UnsafePlanError):
        Plan((replace, *deletes[:1]), existing_count=2).raise_if_unsafe()


def test_fingerprints_detect_changes_without_plaintext(tmp_path) -> None:
    state = StateLocation(tmp_path).shared()
    store = FingerprintStore(state, base_url="http://x")
    assert store.matches("c1", "config.password", "hunter22") is None
    store.record("c1", {"config.password": "hunter22"})
    again = FingerprintStore(state, base_url="http://x")
    assert again.matches("c1", "config.password", "hunter22") is True
    assert again.matches("c1", "config.password", "rotated!") is False
    assert (
        FingerprintStore(state, base_url="http://y").matches("c1", "config.password", "hunter22")
        is None
    )
    for file in tmp_path.iterdir():
        assert b"hunter22" not in file.read_bytes()
        assert file.stat().st_mode & 0o077 == 0, file
    again.forget("c1")
    assert again.matches("c1", "config.password", "hunter22") is None
    assert (
        FingerprintStore(state, base_url="http://x").matches("c1", "config.password", "x") is None
    )


def test_fingerprints_kept_in_state_files_are_imported(tmp_path) -> None:
    """A project whose first apply wrote `.state/fingerprint.key` and the JSON keeps them."""
    import hashlib
    import hmac

    key = bytes(range(32))
    digest = hmac.new(key, b"hunter22", hashlib.sha256).hexdigest()
    (tmp_path / "fingerprint.key").write_text(key.hex())
    (tmp_path / "secret-fingerprints.json").write_text(
        json.dumps({"http://x c1 config.password": digest})
    )
    state = StateLocation(tmp_path).shared()
    store = FingerprintStore(state, base_url="http://x", legacy_dir=tmp_path)
    assert store.matches("c1", "config.password", "hunter22") is True
    assert FingerprintStore(state, base_url="http://x").fingerprint("hunter22") == digest


def test_executor_respects_dependencies_bounds_workers_and_skips() -> None:
    active = 0
    peak = 0
    lock = threading.Lock()
    finished: list[str] = []

    def work(name: str, fail: bool = False):
        def run() -> str:
            nonlocal active, peak
            with lock:
                active += 1
                peak = max(peak, active)
            time.sleep(0.02)
            with lock:
                active -= 1
                finished.append(name)
            if fail:
                raise RuntimeError(name)
            return name

        return run

    tasks = [Task("root", work("root"))]
    tasks += [Task(f"leaf{i}", work(f"leaf{i}"), after=("root",)) for i in range(10)]
    tasks += [Task("bad", work("bad", fail=True), after=("root",))]
    tasks += [Task("after-bad", work("after-bad"), after=("bad", "leaf0"))]
    results = run_tasks(tasks, max_workers=3)
    assert finished[0] == "root"
    assert peak <= 3
    assert results["bad"].state is TaskState.FAILED
    assert results["after-bad"].state is TaskState.SKIPPED
    assert all(results[f"leaf{i}"].state is TaskState.DONE for i in range(10))


def test_executor_starts_urgent_tasks_first_and_caps_slots() -> None:
    order: list[str] = []
    in_slot = 0
    peak_slot = 0
    lock = threading.Lock()

    def note(name: str, slotted: bool = False):
        def run() -> None:
            nonlocal in_slot, peak_slot
            with lock:
                order.append(name)
                if slotted:
                    in_slot += 1
                    peak_slot = max(peak_slot, in_slot)
            time.sleep(0.01)
            if slotted:
                with lock:
                    in_slot -= 1

        return run

    tasks = [Task(f"late{i}", note(f"late{i}"), priority=5) for i in range(3)]
    tasks += [Task("urgent", note("urgent"), priority=0)]
    run_tasks(tasks, max_workers=1)
    assert order[0] == "urgent"

    slotted = [Task(f"c{i}", note(f"c{i}", True), slot="create") for i in range(8)]
    results = run_tasks(slotted, max_workers=6, slots={"create": 2})
    assert peak_slot == 2
    assert all(r.state is TaskState.DONE for r in results.values())
