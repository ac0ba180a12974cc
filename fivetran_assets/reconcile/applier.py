"""Apply a Plan: its changes become a dependency graph of tasks run on bounded workers.

Order within a group: group, destination (with setup tests), webhooks, then each connection:
a create task (paused, setup tests) and a finish task (schema capture, selection, unpause), the
transformation project, then transformations after the project and the connections they follow.
Deletes come last, in reverse order. A group moving to a new destination gets a historical
sync per new connection and a final task that deletes the old group (`move_ops.py`). Different
groups, and the connections of one group, run
concurrently. Connection creates go first and only a few at a time (`create_slots`): they wait
for the create cap, and the other workers keep doing the rest meanwhile. A failed task skips
what depends on it; everything else still runs, and a second apply picks up from the live state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fivetran_assets.estate.references import Environment
from fivetran_assets.fivetran.client import FivetranClient
from fivetran_assets.reconcile.executor import (
    DEFAULT_WORKERS,
    Task,
    TaskResult,
    TaskState,
    run_tasks,
)
from fivetran_assets.reconcile.fingerprints import FingerprintStore
from fivetran_assets.reconcile.move_ops import SYNC_TIMEOUT, move_tasks
from fivetran_assets.reconcile.moves import Move
from fivetran_assets.reconcile.operations import Operations
from fivetran_assets.reconcile.plan import Action, Change, Kind, Plan


@dataclass(frozen=True)
class ApplyResult:
    """What apply did: one outcome per task, in the order they finished, and the live ids
    of what it managed (those of resources it created included)."""

    outcomes: tuple[TaskResult, ...]
    ids: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return all(o.state is TaskState.DONE for o in self.outcomes)

    def failures(self) -> list[str]:
        """`label: error` for each failed task, and `label: skipped` for those it blocked."""
        lines = []
        for outcome in self.outcomes:
            if outcome.state is TaskState.FAILED:
                lines.append(f"{outcome.label}: {outcome.error}")
            elif outcome.state is TaskState.SKIPPED:
                lines.append(f"{outcome.label}: skipped (a change it depends on failed)")
        return lines

    def counts(self) -> dict[str, int]:
        return {state.value: sum(o.state is state for o in self.outcomes) for state in TaskState}


def _task_id(kind: Kind, group: str, name: str = "", *, delete: bool = False) -> str:
    return f"{'delete ' if delete else ''}{kind.value}:{group}/{name}"


CREATE_SLOT = "connection-create"
PRIORITY = {
    CREATE_SLOT: 0,
    Kind.DESTINATION: 1,
    Kind.GROUP: 2,
    Kind.WEBHOOK: 3,
    Kind.CONNECTION: 4,
    Kind.TRANSFORMATION_PROJECT: 4,
    Kind.TRANSFORMATION: 5,
    Action.DELETE: 6,
}
"""Connection creates feed the binding limit (the create cap), so they start first, then what
they wait for (destinations, then groups); the rest can wait."""


def create_slots(workers: int) -> int:
    """How many workers may wait for the create budget at once (the rest keep working)."""
    return max(1, workers // 4)


def _label(change: Change) -> str:
    verb = "replace" if change.replace else change.action.value
    if change.action is Action.DUPLICATE:
        verb = "delete duplicate"
    return f"{verb} {change.kind.value} {change.label}"


def build_tasks(
    plan: Plan, ops: Operations, *, move_sync_timeout: float = SYNC_TIMEOUT
) -> list[Task]:
    """The plan's changes as tasks with their dependencies (see the module docstring)."""
    tasks: dict[str, Task] = {}

    def add(tid: str, run: Callable[[], None], after: list[str], label: str, **kw: Any) -> None:
        tasks[tid] = Task(tid, run, tuple(after), label, **kw)

    moves = [c for c in plan.changes if isinstance(c.desired, Move)]
    by_group: dict[str, list[Change]] = {}
    for change in plan.changes:
        if not isinstance(change.desired, Move):
            by_group.setdefault(change.group, []).append(change)
    for group, changes in by_group.items():
        forward = [c for c in changes if not c.removes]
        present = {(c.kind, c.name) for c in forward}
        group_dep = [_task_id(Kind.GROUP, group)] if (Kind.GROUP, "") in present else []
        dest_dep = group_dep + (
            [_task_id(Kind.DESTINATION, group)] if (Kind.DESTINATION, "") in present else []
        )
        hooks = [_task_id(Kind.WEBHOOK, group, c.name) for c in forward if c.kind is Kind.WEBHOOK]
        project_dep = (
            [_task_id(Kind.TRANSFORMATION_PROJECT, group)]
            if (Kind.TRANSFORMATION_PROJECT, "") in present
            else []
        )
        pairs: dict[str, dict[Kind, Change]] = {}
        for change in forward:
            tid = _task_id(change.kind, group, change.name)
            priority = PRIORITY.get(change.kind, 4)
            if change.kind is Kind.GROUP:
                add(
                    tid,
                    _bind(ops.create_group, change.desired),
                    [],
                    _label(change),
                    priority=priority,
                )
            elif change.kind is Kind.DESTINATION:
                add(
                    tid,
                    _bind(ops.destination, change),
                    group_dep,
                    _label(change),
                    priority=priority,
                )
            elif change.kind is Kind.WEBHOOK:
                add(tid, _bind(ops.webhook, change), dest_dep, _label(change), priority=priority)
            elif change.kind is Kind.TRANSFORMATION_PROJECT:
                add(tid, _bind(ops.project, change), dest_dep, _label(change), priority=priority)
            elif change.kind in (Kind.CONNECTION, Kind.SCHEMA_CONFIG):
                pairs.setdefault(change.name, {})[change.kind] = change
        for name, pair in pairs.items():
            tid = _task_id(Kind.CONNECTION, group, name)
            change, schema = pair.get(Kind.CONNECTION), pair.get(Kind.SCHEMA_CONFIG)
            first = change or schema
            assert first is not None  # a pair holds at least one of the two
            label = _label(first)
            after = dest_dep + hooks
            if ops.creates_connection(change):
                create_id = f"create {tid}"
                add(create_id, _bind(ops.create_connection, change), after, label,
                    priority=PRIORITY[CREATE_SLOT], slot=CREATE_SLOT)  # fmt: skip
                after = [create_id]
                label = f"finish {label} (schema selection, unpause)"
            run = _bind2(ops.finish_connection, change, schema)
            add(tid, run, after, label, priority=PRIORITY[Kind.CONNECTION])
        for change in forward:
            if change.kind is not Kind.TRANSFORMATION:
                continue
            follows = change.desired.schedule.get("connections", [])
            deps = [t for t in (_task_id(Kind.CONNECTION, group, n) for n in follows) if t in tasks]
            tid = _task_id(Kind.TRANSFORMATION, group, change.name)
            run = _bind(ops.transformation, change)
            after = dest_dep + project_dep + deps
            add(tid, run, after, _label(change), priority=PRIORITY[Kind.TRANSFORMATION])
        forward_ids = [t for t in tasks if f":{group}/" in t and not t.startswith("delete ")]
        # In plan order: deeper kinds first, and the copies of one resource newest first.
        deletes = sorted((c for c in changes if c.removes), key=lambda c: -c.kind.rank)
        for index, change in enumerate(deletes):
            earlier = [
                _task_id(d.kind, group, f"{d.name}#{d.live_id}", delete=True)
                for position, d in enumerate(deletes)
                if d.kind.rank > change.kind.rank or (d.key == change.key and position < index)
            ]
            tid = _task_id(change.kind, group, f"{change.name}#{change.live_id}", delete=True)
            add(tid, _bind(ops.delete, change), forward_ids + earlier, _label(change),
                priority=PRIORITY[Action.DELETE])  # fmt: skip
    finishing = move_tasks(
        moves, ops, tasks, priority=PRIORITY[Kind.TRANSFORMATION], timeout=move_sync_timeout
    )
    return [*tasks.values(), *finishing]


def _bind(fn: Callable, arg: object) -> Callable[[], None]:
    return lambda: fn(arg)


def _bind2(fn: Callable, first: object, second: object) -> Callable[[], None]:
    return lambda: fn(first, second)


def apply_plan(
    plan: Plan,
    client: FivetranClient,
    *,
    environment: Environment,
    fingerprints: FingerprintStore,
    workers: int = DEFAULT_WORKERS,
    on_result: Callable[[TaskResult], None] | None = None,
    move_sync_timeout: float = SYNC_TIMEOUT,
) -> ApplyResult:
    """Make every change of `plan` (which must come from a fresh read) and report each outcome.

    `move_sync_timeout` bounds the wait for each historical sync of a group being moved.
    """
    ops = Operations(client, environment, fingerprints, dict(plan.ids))
    outcomes: list[TaskResult] = []

    def record(result: TaskResult) -> None:
        outcomes.append(result)
        if on_result is not None:
            on_result(result)

    run_tasks(
        build_tasks(plan, ops, move_sync_timeout=move_sync_timeout),
        max_workers=workers,
        slots={CREATE_SLOT: create_slots(workers)},
        on_result=record,
    )
    return ApplyResult(tuple(outcomes), ops.known_ids())


def task_count(plan: Plan) -> int:
    """How many tasks apply runs (for a progress bar): one per change, except that a connection's
    changes share one task, plus one more when it is created, plus a group move's syncs."""
    connection_keys = {
        (c.group, c.name)
        for c in plan.changes
        if c.kind in (Kind.CONNECTION, Kind.SCHEMA_CONFIG) and not c.removes
    }
    others = [
        c
        for c in plan.changes
        if not (c.kind in (Kind.CONNECTION, Kind.SCHEMA_CONFIG) and not c.removes)
    ]
    creates = [
        c for c in plan.changes if c.kind is Kind.CONNECTION and Operations.creates_connection(c)
    ]
    syncs = sum(len(c.desired.syncs) for c in plan.changes if isinstance(c.desired, Move))
    return len(connection_keys) + len(others) + len(creates) + syncs
