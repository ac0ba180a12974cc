"""Applying a move (`moves.py`): the historical syncs, then the old group out, the new one renamed.

The new group's resources are made by the ordinary tasks of its changes. After all of them,
each new connection runs its historical sync (triggered here, so Dagster-scheduled connections
sync too) and is waited for; only when every one has succeeded is the old group deleted and the
new one renamed. A sync that fails or outlasts the timeout fails its task, which keeps the old
group: the next apply resumes from what exists.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial

from fivetran_assets.fivetran.enums import SyncState
from fivetran_assets.fivetran.errors import ConflictError, NotFoundError
from fivetran_assets.reconcile.executor import Task
from fivetran_assets.reconcile.moves import Move
from fivetran_assets.reconcile.operations import ApplyError, Operations
from fivetran_assets.reconcile.plan import Change

SYNC_TIMEOUT = 6 * 3600.0
"""Seconds a move waits for one historical sync before leaving the rest to the next apply."""
FIRST_POLL, LONGEST_POLL = 0.5, 30.0


def historical_sync(
    ops: Operations,
    group: str,
    name: str,
    *,
    timeout: float = SYNC_TIMEOUT,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Start the first sync of a new connection (unless it ran or runs) and wait for success."""
    connection_id = ops.id_of(f"connection:{group}/{name}")
    client = ops.client
    connection = client.get_connection(connection_id)
    if connection.succeeded_at is not None:
        return
    if connection.status.sync_state != SyncState.SYNCING:
        with contextlib.suppress(ConflictError):  # it started meanwhile
            client.sync_connection(connection_id)
    deadline, delay = clock() + timeout, FIRST_POLL
    while True:
        sleep(delay)
        delay = min(delay * 1.5, LONGEST_POLL)
        connection = client.get_connection(connection_id)
        if connection.succeeded_at is not None:
            return
        if connection.failed_at is not None and connection.status.sync_state != SyncState.SYNCING:
            reasons = "; ".join(t.message or t.code for t in connection.status.tasks)
            raise ApplyError(
                f"the historical sync of {group}/{name} failed ({reasons or 'no reason given'}); "
                "the old group is kept: fix the connection, then apply again"
            )
        if clock() >= deadline:
            raise ApplyError(
                f"the historical sync of {group}/{name} is still running after {timeout:.0f} s; "
                "the old group is kept: apply again later to finish the move"
            )


def finish_move(ops: Operations, move: Move) -> None:
    """Delete the old group (everything in it goes too), then give the new one its name."""
    staging_id = move.staging_id or ops.id_of(f"group:{move.staging}")
    if move.old_id is not None:
        with contextlib.suppress(NotFoundError):
            ops.client.delete_group(move.old_id)
        for resource_id in move.old_resources:
            ops.fingerprints.forget(resource_id)
    ops.client.update_group(staging_id, name=move.group)


def move_tasks(
    moves: Iterable[Change],
    ops: Operations,
    existing: Mapping[str, Task],
    *,
    priority: int,
    timeout: float = SYNC_TIMEOUT,
) -> list[Task]:
    """For each move: a sync task per new connection after everything of the new group, then
    the task that deletes the old group and renames the new one, after all of them."""
    tasks: list[Task] = []
    for change in moves:
        move: Move = change.desired
        staging = tuple(
            tid for tid in existing if f":{move.staging}/" in tid and not tid.startswith("delete ")
        )
        syncs = []
        for name in move.syncs:
            tid = f"sync connection:{move.staging}/{name}"
            run = partial(historical_sync, ops, move.staging, name, timeout=timeout)
            label = f"historical sync of connection {move.staging}/{name}"
            tasks.append(Task(tid, run, staging, label, priority=priority))
            syncs.append(tid)
        verb = "delete the old group, rename" if move.old_id else "rename"
        tasks.append(
            Task(
                f"group:{move.group}/",
                partial(finish_move, ops, move),
                (*staging, *syncs),
                f"move group {move.group}: {verb} {move.staging} to {move.group}",
                priority=priority,
            )
        )
    return tasks
