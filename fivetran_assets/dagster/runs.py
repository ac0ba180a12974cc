"""Run one connection sync or one transformation to its end, with Fivetran's edge cases.

No Dagster here: these functions take a client and a waiter and either return what happened or
raise `RunFailed` with a message and details a user can act on. The asset functions turn
`RunFailed` into `dagster.Failure` at the op boundary (DESIGN: convert errors only there).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fivetran_assets.dagster.waiting import (
    PollingWaiter,
    SyncWaiter,
    TransformationWaiter,
    WaitTimeout,
    sync_has_ended,
)


class RunFailed(Exception):
    """A sync or transformation could not run or did not succeed; `details` go to metadata."""

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = dict(details or {})


@dataclass(frozen=True)
class SyncRequest:
    connection_id: str
    force: bool = False
    resync: bool = False
    resync_tables: Mapping[str, Sequence[str]] = field(default_factory=dict)  # schema -> tables
    timeout: float = 3 * 3600  # Fivetran seconds
    unpause: bool = False
    expected_duration: float | None = None  # previous sync duration, Fivetran seconds
    dashboard_url: str = ""


@dataclass(frozen=True)
class SyncOutcome:
    connection: Any
    started_at: datetime  # in Fivetran's clock: ended_at minus the duration we observed
    ended_at: datetime  # Fivetran's succeeded_at
    joined: bool  # True when a running sync was joined rather than started
    sync_id: str | None = None
    previous_end: datetime | None = None  # when the sync before this one ended (Fivetran's)

    @property
    def duration_seconds(self) -> float:
        return max(0.0, (self.ended_at - self.started_at).total_seconds())


def _value(enum_or_str: Any) -> str:
    return str(getattr(enum_or_str, "value", enum_or_str) or "").lower()


def _alerts(alerts: Sequence[Any]) -> list[str]:
    return [f"{a.code}: {a.message}" if a.message else str(a.code) for a in alerts]


def _failure_reasons(connection: Any, event_reason: str | None) -> list[str]:
    """Why a sync failed, most specific first: the `sync_end` event's reason, then the
    connection's task and warning messages (Fivetran's alerts), each said once."""
    found = [event_reason] + [a.message for a in connection.status.tasks]
    found += [a.message for a in connection.status.warnings]
    reasons: list[str] = []
    for reason in found:
        if reason and reason.strip() and reason.strip() not in reasons:
            reasons.append(reason.strip())
    return reasons


def _ensure_runnable(client: Any, conn: Any, req: SyncRequest) -> Any:
    """Handle paused and broken connections before a sync is triggered."""
    if conn.paused:
        if not req.unpause:
            raise RunFailed(
                f"connection {conn.schema} ({conn.id}) is paused in Fivetran: resume it, or set "
                "`unpause_paused` on the Fivetran resource to unpause before syncing",
                {"dashboard_url": req.dashboard_url},
            )
        conn = client.update_connection(conn.id, paused=False)
    if _value(conn.status.setup_state) == "broken":
        tests = client.test_connection(conn.id)
        failed = [t for t in tests.setup_tests if _value(t.status) in {"failed", "job_failed"}]
        if failed or _value(tests.status.setup_state) == "broken":
            messages = [f"{t.title}: {t.message}" for t in failed] or ["setup tests did not pass"]
            raise RunFailed(
                f"connection {conn.schema} ({conn.id}) is broken; setup tests: "
                + "; ".join(messages),
                {"setup_tests": messages, "dashboard_url": req.dashboard_url},
            )
        conn = tests
    return conn


def run_sync(
    client: Any,
    req: SyncRequest,
    *,
    waiter: SyncWaiter | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    time_scale: float = 1.0,
) -> SyncOutcome:
    """Trigger (or join) a sync of one connection and wait for it to end; raise `RunFailed`.

    Calls: `GET /v1/connections/{id}`, then `POST .../sync` (or `.../resync`,
    `.../schemas/tables/resync`), then the waiter's looks. A running sync is joined unless
    `force`; a rescheduled one (quota) is waited for, since Fivetran starts it at
    `rescheduled_for` by itself. Durations are Fivetran seconds (real seconds x `time_scale`).
    """
    waiter = waiter or PollingWaiter()
    conn = _ensure_runnable(client, client.get_connection(req.connection_id), req)
    previous_end = conn.last_sync_completed_at
    began = monotonic()
    state = _value(conn.status.sync_state)
    joined = False
    if state == "rescheduled" and not (req.force or req.resync or req.resync_tables):
        joined = True
    elif req.resync:
        client.resync_connection(conn.id)
    elif req.resync_tables:
        client.resync_tables(conn.id, {s: list(t) for s, t in req.resync_tables.items()})
    elif state == "syncing" and not req.force:
        joined = True
    else:
        client.sync_connection(conn.id, force=req.force)
    try:
        end = waiter.wait_for_sync_end(
            client,
            conn.id,
            previous_end=previous_end,
            timeout=req.timeout,
            expected_duration=req.expected_duration,
        )
    except WaitTimeout as exc:
        raise RunFailed(
            f"sync of connection {conn.schema} ({conn.id}) {exc}; it continues in Fivetran",
            {"timeout_seconds": req.timeout, "dashboard_url": req.dashboard_url},
        ) from exc
    final = end.connection
    if not sync_has_ended(final, previous_end) or not final.last_sync_succeeded:
        reasons = _failure_reasons(final, end.reason)
        raise RunFailed(
            f"sync of connection {final.schema} ({final.id}) failed at "
            f"{final.failed_at.isoformat() if final.failed_at else 'an unknown time'}: "
            + ("; ".join(reasons) if reasons else "Fivetran gave no reason")
            + (f" (see {req.dashboard_url})" if req.dashboard_url else ""),
            {
                "failed_at": final.failed_at.isoformat() if final.failed_at else None,
                "reason": "; ".join(reasons) or None,
                "sync_id": end.sync_id,
                "tasks": _alerts(final.status.tasks),
                "warnings": _alerts(final.status.warnings),
                "dashboard_url": req.dashboard_url,
            },
        )
    duration = timedelta(seconds=(monotonic() - began) * time_scale)
    return SyncOutcome(
        connection=final,
        started_at=final.succeeded_at - duration,
        ended_at=final.succeeded_at,
        joined=joined,
        sync_id=end.sync_id,
        previous_end=previous_end,
    )


@dataclass(frozen=True)
class TransformationOutcome:
    transformation: Any
    started_at: datetime
    ended_at: datetime


def run_transformation(
    client: Any,
    transformation_id: str,
    *,
    full_refresh: bool = False,
    timeout: float = 3 * 3600,
    waiter: TransformationWaiter | None = None,
    expected_duration: float | None = None,
    failure_reason: Callable[[str], str | None] | None = None,
) -> TransformationOutcome:
    """`GET /v1/transformations/{id}`, `POST .../run`, then the waiter's looks to a final status
    (with an event-log waiter: one more GET once the run's end event arrives). The REST resource
    carries no failure message, only the `transformation_run_failed` webhook does: the waiter
    returns it when it saw the event, else `failure_reason(id)` is asked for it.
    """
    waiter = waiter or PollingWaiter()
    before = client.get_transformation(transformation_id)
    try:
        end = waiter.wait_for_transformation_end(
            client,
            transformation_id,
            trigger=lambda: client.run_transformation(transformation_id, full_refresh=full_refresh),
            previous_end=before.last_ended_at,
            timeout=timeout,
            expected_duration=expected_duration,
        )
    except WaitTimeout as exc:
        raise RunFailed(f"transformation {transformation_id} {exc}") from exc
    final = end.transformation
    status = _value(final.status).upper()
    if status != "SUCCEEDED":
        reason = end.reason or (failure_reason(transformation_id) if failure_reason else None)
        raise RunFailed(
            f"transformation {final.name or transformation_id} ended {status}"
            + (f": {reason}" if reason else " (dbt's message is in the Fivetran dashboard)"),
            {"status": status, "reason": reason},
        )
    return TransformationOutcome(
        transformation=final,
        started_at=final.last_started_at or final.last_ended_at,
        ended_at=final.last_ended_at,
    )
