"""Run a graph of dependent tasks on a bounded thread pool, most urgent first.

Apply is mostly waiting on HTTP round trips, so independent work (fifty connections in fifty
groups) runs concurrently, while dependent work (a connection after its group's destination)
waits for what it needs. Ready tasks start in `priority` order (lower first, then in the order
they became ready), so the work that feeds the binding limit (connection creates) is never
queued behind work that can wait. A `slot` caps how many tasks of one kind run at once: creates
wait inside the client's rate limiter, and a worker blocked there does nothing else, so only a
few may wait at a time. A task whose dependency failed is skipped, not run: the next apply
starts from the live state and finishes it.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

DEFAULT_WORKERS = 8


class TaskState(StrEnum):
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Task:
    """A unit of work: an id, a callable, the ids it waits for, its priority and slot."""

    id: str
    run: Callable[[], Any] = field(compare=False, repr=False)
    after: tuple[str, ...] = ()
    label: str = ""
    priority: int = 0
    slot: str = ""


@dataclass(frozen=True)
class TaskResult:
    id: str
    state: TaskState
    value: Any = None
    error: BaseException | None = None
    label: str = ""


class CycleError(ValueError):
    """The task graph has a cycle or a dependency on an unknown task."""


class _Graph:
    """Dependency bookkeeping: which tasks are ready, and which are skipped by a failure."""

    def __init__(self, by_id: Mapping[str, Task]) -> None:
        self.by_id = by_id
        self.waiting = {tid: set(t.after) for tid, t in by_id.items()}
        self.dependents: dict[str, list[str]] = {tid: [] for tid in by_id}
        for tid, task in by_id.items():
            for dep in task.after:
                self.dependents[dep].append(tid)
        self.results: dict[str, TaskResult] = {}

    def initially_ready(self) -> list[str]:
        ready = [tid for tid, deps in self.waiting.items() if not deps]
        for tid in ready:
            del self.waiting[tid]
        return ready

    def finish(self, result: TaskResult, report: Callable[[TaskResult], None]) -> list[str]:
        """Record a result; return the tasks that became ready (skipping blocked ones)."""
        ready: list[str] = []
        stack = [result]
        while stack:
            current = stack.pop()
            self.results[current.id] = current
            report(current)
            for child in self.dependents[current.id]:
                if child in self.results or child not in self.waiting:
                    continue
                if current.state is not TaskState.DONE:
                    del self.waiting[child]
                    label = self.by_id[child].label
                    stack.append(TaskResult(child, TaskState.SKIPPED, label=label))
                    continue
                pending = self.waiting[child]
                pending.discard(current.id)
                if not pending:
                    del self.waiting[child]
                    ready.append(child)
        return ready


def _call(task: Task) -> TaskResult:
    try:
        return TaskResult(task.id, TaskState.DONE, value=task.run(), label=task.label)
    except Exception as exc:
        return TaskResult(task.id, TaskState.FAILED, error=exc, label=task.label)


def run_tasks(
    tasks: Iterable[Task],
    *,
    max_workers: int = DEFAULT_WORKERS,
    slots: Mapping[str, int] | None = None,
    on_result: Callable[[TaskResult], None] | None = None,
) -> dict[str, TaskResult]:
    """Run every task once its dependencies are done; return each task's result by id."""
    by_id = {t.id: t for t in tasks}
    for task in by_id.values():
        missing = [d for d in task.after if d not in by_id]
        if missing:
            raise CycleError(f"task {task.id!r} waits for unknown tasks {missing}")
    graph = _Graph(by_id)
    limits = dict(slots or {})
    workers = max(1, max_workers)
    order = itertools.count()
    ready: list[tuple[int, int, str]] = []
    busy: dict[str, int] = {}
    running: dict[Future[TaskResult], Task] = {}

    def enqueue(ids: Iterable[str]) -> None:
        for tid in sorted(ids):
            heapq.heappush(ready, (by_id[tid].priority, next(order), tid))

    def start(pool: ThreadPoolExecutor) -> None:
        held: list[tuple[int, int, str]] = []
        while ready and len(running) < workers:
            entry = heapq.heappop(ready)
            task = by_id[entry[2]]
            if task.slot and busy.get(task.slot, 0) >= limits.get(task.slot, workers):
                held.append(entry)
                continue
            busy[task.slot] = busy.get(task.slot, 0) + 1
            running[pool.submit(_call, task)] = task
        for entry in held:
            heapq.heappush(ready, entry)

    report = on_result or (lambda result: None)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        enqueue(graph.initially_ready())
        start(pool)
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                task = running.pop(future)
                busy[task.slot] -= 1
                enqueue(graph.finish(future.result(), report))
            start(pool)
    if graph.waiting:
        raise CycleError(f"tasks never became ready (a cycle?): {sorted(graph.waiting)}")
    return graph.results
