"""Transformation runs of the local Fivetran: the status machine and the scheduler.

``status`` goes NEW -> RUNNING -> SUCCEEDED | FAILED | CANCELED, with ``last_started_at`` /
``last_ended_at`` and ``output_model_names`` (the models the last successful run built). When a
run is due is `transform_schedule`'s business; this engine keeps the state it needs on the
transformation (internal fields, so it survives a restart):

- ``_anchor``: when the schedule was set (INTERVAL ticks count from it);
- ``_next_tick_at``: the next tick of its own clock; a tick that falls while a run is still going
  is skipped, not queued;
- ``_pending``: the sources (connection ids, ``transformation:<id>``) that succeeded since the
  last run started; a run of any kind, manual ones included, covers them;
- ``_runs``: how many runs it had (a run's number is its id in both event families).

Paused transformations run only when asked (Dagster-scheduled ones are kept paused). Each run
keeps dbt's ``run_results.json`` per step under ``<state>/dbt/<id>/runs/<number>/`` (the last
``KEEP_RUNS`` runs) and sends ``transformation_run_*`` and ``dbt_run_*`` events
(`transform_events`).
"""

from __future__ import annotations

import logging
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fivetran_assets.emulator import transform_schedule as sched
from fivetran_assets.emulator.clock import iso
from fivetran_assets.emulator.dataplane.contract import (
    DataPlaneError,
    DbtRunRequest,
    DbtStepResult,
)
from fivetran_assets.emulator.http import conflict, not_found
from fivetran_assets.emulator.transform_events import Run, run_ended, run_started

if TYPE_CHECKING:
    from fivetran_assets.emulator.context import Emulator

log = logging.getLogger(__name__)
KEEP_RUNS = 20


def _parse(ts: str | None) -> datetime | None:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")) if ts else None


def schedule_reset(schedule: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The scheduler state of a schedule set (or a transformation unpaused) at ``now``: its
    clock's first tick is known at once, whenever the scheduler loop next looks."""
    first = sched.next_tick(schedule, after=now, anchor=now)
    return {"_anchor": iso(now), "_next_tick_at": iso(first), "_pending": {}}


class TransformEngine:
    def __init__(self, emulator: Emulator) -> None:
        self._emu = emulator
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dbt")
        self._runs: dict[str, threading.Event] = {}
        self._stopping = False

    def stop(self) -> None:
        self._stopping = True
        self.cancel_all()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def cancel_all(self) -> None:
        for cancel in list(self._runs.values()):
            cancel.set()

    def resume_interrupted(self) -> None:
        """Runs cut short by a stop start again."""
        for tr in self._emu.store.values("transformation"):
            if tr["status"] == "RUNNING" and tr["id"] not in self._runs:
                self._start_quietly(tr["id"], (tr.get("_run") or {}).get("trigger", sched.MANUAL))

    def is_running(self, transformation_id: str) -> bool:
        return transformation_id in self._runs

    def run(
        self, transformation_id: str, *, full_refresh: bool = False, trigger: str = sched.MANUAL
    ) -> None:
        store = self._emu.store
        with store.lock:
            tr = store.get("transformation", transformation_id)
            if tr is None:
                raise not_found("Transformation", transformation_id)
            if transformation_id in self._runs:
                raise conflict(f"Transformation '{transformation_id}' is already running")
            project = store.get(
                "transformation_project", tr["transformation_config"].get("project_id", "")
            )
            now = self._emu.clock.now()
            number = int(tr.get("_runs") or 0) + 1
            tr = {**tr, "status": "RUNNING", "last_started_at": iso(now), "_runs": number}
            tr["_run"] = {"number": number, "trigger": trigger}
            tr["_pending"] = {}  # this run reads whatever the syncs so far landed
            next_at = _parse(tr.get("_next_tick_at"))
            if next_at is not None and next_at <= now:
                tr["_next_tick_at"] = self._next_tick(tr, now)
            cancel = threading.Event()
            self._runs[transformation_id] = cancel
            store.put("transformation", tr)
        run = Run(
            transformation_id=tr["id"],
            name=tr["transformation_config"].get("name"),
            project_id=tr["transformation_config"].get("project_id"),
            group_id=project["group_id"] if project else None,
            type=tr.get("type", "DBT_CORE"),
            number=number,
            trigger=trigger,
            started_at=now,
        )
        run_started(self._emu.events, run)
        self._pool.submit(self._work, tr, run, cancel, full_refresh)

    def cancel(self, transformation_id: str) -> None:
        with self._emu.store.lock:
            if self._emu.store.get("transformation", transformation_id) is None:
                raise not_found("Transformation", transformation_id)
            cancel = self._runs.get(transformation_id)
            if cancel is None:
                raise conflict(f"Transformation '{transformation_id}' is not running")
            cancel.set()

    def _runs_dir(self, tid: str) -> Path:
        return Path(self._emu.settings.state_dir) / "dbt" / tid / "runs"

    def _work(
        self, tr: dict[str, Any], run: Run, cancel: threading.Event, full_refresh: bool
    ) -> None:
        emu, tid = self._emu, tr["id"]
        status, reason = "FAILED", ""
        models = list(tr.get("output_model_names") or [])
        steps: tuple[DbtStepResult, ...] = ()
        try:
            config = tr["transformation_config"]
            project = emu.store.get("transformation_project", config["project_id"])
            if project is None:
                raise DataPlaneError(f"Transformation project '{config['project_id']}' is gone")
            destination = emu.store.get("destination", project["group_id"])
            if destination is None:
                raise DataPlaneError(f"Group '{project['group_id']}' has no destination")
            report = emu.dataplane.run_dbt(
                DbtRunRequest(
                    project_config=dict(project.get("project_config") or {}),
                    destination_service=destination["service"],
                    destination_config=dict(destination["config"]),
                    steps=tuple(dict(step) for step in config.get("steps", [])),
                    work_dir=Path(emu.settings.state_dir) / "dbt" / tid,
                    full_refresh=full_refresh,
                    results_dir=self._runs_dir(tid) / run.run_id,
                ),
                cancelled=cancel.is_set,
            )
            steps = report.steps
            if report.succeeded:
                status, models = "SUCCEEDED", list(report.output_model_names)
            else:
                reason = report.message
        except DataPlaneError as exc:
            reason = str(exc)
        except Exception as exc:
            log.exception("transformation %s crashed", tid)
            reason = f"Internal error of the local Fivetran: {type(exc).__name__}"
        if cancel.is_set():
            if self._stopping:
                return
            status, reason = "CANCELED", "Canceled by the user"
        self._prune(tid)
        ended = emu.clock.now()
        with emu.store.lock:
            self._runs.pop(tid, None)
            current = emu.store.get("transformation", tid)
            if current is None:
                return
            current = {**current, "status": status, "last_ended_at": iso(ended)}
            current["output_model_names"] = models
            current.pop("_run", None)
            emu.store.put("transformation", current)
        run_ended(
            emu.events, emu.clock, run, status=status, reason=reason, ended_at=ended, steps=steps
        )
        if status == "SUCCEEDED":
            self._source_succeeded(f"transformation:{tid}", "transformation_ids", tid, ended)

    def _prune(self, tid: str) -> None:
        runs = self._runs_dir(tid)
        if not runs.is_dir():
            return
        kept = sorted((p for p in runs.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
        for old in kept[:-KEEP_RUNS]:
            shutil.rmtree(old, ignore_errors=True)

    def on_sync_success(self, connection_id: str) -> None:
        """Note a successful sync on every transformation that follows the connection."""
        self._source_succeeded(
            connection_id, "connection_ids", connection_id, self._emu.clock.now()
        )

    def _source_succeeded(self, source: str, field: str, oid: str, at: datetime) -> None:
        store = self._emu.store
        with store.lock:
            for tr in store.values("transformation"):
                schedule = tr.get("schedule") or {}
                if tr["paused"] or oid not in (schedule.get(field) or ()):
                    continue
                if sched.follows_syncs(schedule):
                    pending = {**(tr.get("_pending") or {}), source: iso(at)}
                    store.put("transformation", {**tr, "_pending": pending})

    def _next_tick(self, tr: dict[str, Any], now: datetime) -> str | None:
        schedule = tr.get("schedule") or {}
        anchor = _parse(tr.get("_anchor")) or _parse(tr["created_at"]) or now
        return iso(sched.next_tick(schedule, after=now, anchor=anchor))

    def tick(self) -> None:
        """Start the transformations that are due (called by the scheduler loop)."""
        emu = self._emu
        now = emu.clock.now()
        due: list[tuple[str, str]] = []
        with emu.store.lock:
            for tr in emu.store.values("transformation"):
                if tr["paused"]:
                    continue
                schedule = tr.get("schedule") or {}
                next_at = _parse(tr.get("_next_tick_at"))
                if next_at is None and schedule.get("schedule_type") in sched.CLOCK_TYPES:
                    emu.store.put(
                        "transformation", {**tr, "_next_tick_at": self._next_tick(tr, now)}
                    )
                    continue
                if tr["id"] in self._runs:
                    if next_at is not None and next_at <= now:  # still running: skip the tick
                        emu.store.put(
                            "transformation", {**tr, "_next_tick_at": self._next_tick(tr, now)}
                        )
                    continue
                why = sched.trigger(
                    schedule,
                    now=now,
                    next_tick_at=next_at,
                    pending=tr.get("_pending") or {},
                    holding=self._holding(schedule.get("connection_ids") or ()),
                )
                if why is not None:
                    due.append((tr["id"], why))
        for tid, why in due:
            self._start_quietly(tid, why)

    def _holding(self, connection_ids: list[str]) -> list[str]:
        """Listed connections a sync-triggered run waits for: syncing, or never synced."""
        store, syncs = self._emu.store, self._emu.syncs
        return [
            cid
            for cid in connection_ids
            if syncs.is_syncing(cid) or not (store.get("connection", cid) or {}).get("succeeded_at")
        ]

    def _start_quietly(self, transformation_id: str, trigger: str) -> None:
        try:
            self.run(transformation_id, trigger=trigger)
        except Exception:
            log.exception("scheduled run of transformation %s failed to start", transformation_id)
