"""Transformation runs of the local Fivetran: the status machine and the four schedule types.

``status`` goes NEW -> RUNNING -> SUCCEEDED | FAILED | CANCELED, with ``last_started_at`` /
``last_ended_at`` and ``output_model_names``. INTEGRATED schedules run once every listed
connection has synced successfully since the last run; INTERVAL (minutes), TIME_OF_DAY
(``HH:MM`` on ``days_of_week``) and CRON (expressions, UTC) run on the time-scaled clock.
Paused transformations run only when asked.
"""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fivetran_assets.emulator.clock import iso
from fivetran_assets.emulator.dataplane.contract import DataPlaneError, DbtRunRequest
from fivetran_assets.emulator.events import Event
from fivetran_assets.emulator.http import conflict, not_found

if TYPE_CHECKING:
    from fivetran_assets.emulator.context import Emulator

log = logging.getLogger(__name__)
DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


def _parse(ts: str | None) -> datetime | None:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")) if ts else None


def next_cron_tick(expressions: list[str], after: datetime) -> datetime:
    """The earliest tick after ``after`` of any of the cron ``expressions`` (UTC)."""
    from dagster._utils.schedules import get_next_cron_tick

    return min(get_next_cron_tick(expr, after, "UTC") for expr in expressions)


class TransformEngine:
    def __init__(self, emulator: Emulator) -> None:
        self._emu = emulator
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dbt")
        self._runs: dict[str, threading.Event] = {}
        self._cron_from: dict[str, datetime] = {}
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
                self._start_quietly(tr["id"])

    def is_running(self, transformation_id: str) -> bool:
        return transformation_id in self._runs

    def run(self, transformation_id: str, *, full_refresh: bool = False) -> None:
        store = self._emu.store
        with store.lock:
            tr = store.get("transformation", transformation_id)
            if tr is None:
                raise not_found("Transformation", transformation_id)
            if transformation_id in self._runs:
                raise conflict(f"Transformation '{transformation_id}' is already running")
            cancel = threading.Event()
            self._runs[transformation_id] = cancel
            tr = dict(tr)
            tr["status"] = "RUNNING"
            tr["last_started_at"] = iso(self._emu.clock.now())
            tr["_run_id"] = str(uuid.uuid4())
            store.put("transformation", tr)
            snapshot = tr
        self._event(Event.TRANSFORMATION_RUN_START, snapshot, "RUNNING")
        self._pool.submit(self._work, transformation_id, snapshot, cancel, full_refresh)

    def cancel(self, transformation_id: str) -> None:
        with self._emu.store.lock:
            if self._emu.store.get("transformation", transformation_id) is None:
                raise not_found("Transformation", transformation_id)
            cancel = self._runs.get(transformation_id)
            if cancel is None:
                raise conflict(f"Transformation '{transformation_id}' is not running")
            cancel.set()

    def _work(
        self, tid: str, tr: dict[str, Any], cancel: threading.Event, full_refresh: bool
    ) -> None:
        emu = self._emu
        status, reason, models = "FAILED", "", list(tr.get("output_model_names") or [])
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
                ),
                cancelled=cancel.is_set,
            )
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
        with emu.store.lock:
            self._runs.pop(tid, None)
            current = emu.store.get("transformation", tid)
            if current is None:
                return
            current = dict(current)
            current["status"] = status
            current["last_ended_at"] = iso(emu.clock.now())
            current["output_model_names"] = models
            emu.store.put("transformation", current)
            snapshot = current
        if status == "SUCCEEDED":
            self._event(Event.TRANSFORMATION_RUN_SUCCEEDED, snapshot, status)
        else:
            self._event(Event.TRANSFORMATION_RUN_FAILED, snapshot, status, reason)

    def _event(self, event: Event, tr: dict[str, Any], status: str, reason: str = "") -> None:
        config = tr.get("transformation_config") or {}
        project = self._emu.store.get("transformation_project", config.get("project_id", ""))
        data: dict[str, Any] = {
            "transformation_id": tr["id"],
            "transformation_name": config.get("name"),
            "project_id": config.get("project_id"),
            "run_id": tr.get("_run_id"),
            "status": status,
        }
        if reason:
            data["reason"] = reason
        self._emu.events.transformation(event, project["group_id"] if project else None, data)

    def on_sync_success(self, connection_id: str) -> None:
        """Run INTEGRATED transformations whose connections all synced since their last run."""
        store = self._emu.store
        for tr in store.values("transformation"):
            schedule = tr.get("schedule") or {}
            ids = schedule.get("connection_ids") or []
            if tr["paused"] or connection_id not in ids or tr["id"] in self._runs:
                continue
            if schedule.get("schedule_type") != "INTEGRATED":
                continue
            since = tr.get("last_started_at") or ""
            conns = [store.get("connection", cid) for cid in ids]
            if all(c is not None and (c.get("succeeded_at") or "") > since for c in conns):
                self._start_quietly(tr["id"])

    def tick(self) -> None:
        """Start INTERVAL, TIME_OF_DAY and CRON transformations that are due."""
        now = self._emu.clock.now()
        for tr in self._emu.store.values("transformation"):
            if tr["paused"] or tr["id"] in self._runs:
                continue
            if self._due(tr, now):
                self._start_quietly(tr["id"])

    def _due(self, tr: dict[str, Any], now: datetime) -> bool:
        schedule = tr.get("schedule") or {}
        kind = schedule.get("schedule_type")
        last = _parse(tr.get("last_started_at")) or _parse(tr["created_at"])
        if kind == "INTERVAL" and schedule.get("interval"):
            return now >= last + timedelta(minutes=int(schedule["interval"]))
        if kind == "TIME_OF_DAY" and schedule.get("time_of_day"):
            hour, minute = (int(part) for part in schedule["time_of_day"].split(":"))
            at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
            days = schedule.get("days_of_week") or list(DAYS)
            return DAYS[now.weekday()] in days and last < at <= now
        if kind == "CRON" and schedule.get("cron"):
            start = self._cron_from.setdefault(tr["id"], last)
            if now >= next_cron_tick(schedule["cron"], start):
                self._cron_from[tr["id"]] = now
                return True
        return False

    def _start_quietly(self, transformation_id: str) -> None:
        try:
            self.run(transformation_id)
        except Exception:
            log.exception("scheduled run of transformation %s failed to start", transformation_id)
