"""The durable webhook event log: SQLite in WAL mode, shared by the receiver and Dagster sensors.

The receiver appends (one writer thread per process, group commit: appends that arrive while a
commit is in flight go into the next transaction together, and each caller is answered only after
the transaction holding its event is committed with `synchronous=FULL`). Sensors read from other
processes with `read_after` / `read_page`, keeping the last event id as their cursor. Ids come from
an AUTOINCREMENT key, so they grow in commit order and are never reused, even after pruning.

Fivetran redelivers an event until it gets a 2xx; the dedupe key (event, connector_id, sync_id,
created) makes a redelivery acknowledge the row already stored instead of adding another. Keep the
retention horizon longer than Fivetran's 24 hours of retries, or a late redelivery of a pruned
event is stored again.
"""

from __future__ import annotations

import contextlib
import json
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from fivetran_assets.webhooks.events import EventName, WebhookEvent

DEFAULT_RETENTION = timedelta(days=7)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at REAL NOT NULL,
    event TEXT NOT NULL,
    connector_id TEXT,
    sync_id TEXT,
    created TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    raw_body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_connector ON events (connector_id, id);
CREATE INDEX IF NOT EXISTS events_by_received_at ON events (received_at);
"""


class Appended(NamedTuple):
    """What `append` did: the event's id, and whether it was a redelivery of a stored event."""

    id: int
    duplicate: bool


@dataclass(frozen=True)
class StoredEvent:
    """One event as stored: its log id (the sensors' cursor), receive time and exact body."""

    id: int
    received_at: datetime
    event: WebhookEvent
    raw_body: bytes

    def payload(self) -> dict[str, Any]:
        """The body decoded, for fields the typed record does not carry."""
        return json.loads(self.raw_body)


@dataclass(frozen=True)
class EventPage:
    """A page of events after a cursor, and the cursor to resume from.

    `cursor` moves past events the filters skipped, so a sensor that only wants `sync_end` does
    not rescan everything else on every tick.
    """

    events: list[StoredEvent]
    cursor: int


class EventLogClosed(RuntimeError):
    """Appending to an event log after `close()`."""


@dataclass
class _Pending:
    raw_body: bytes
    event: WebhookEvent
    received_at: float
    future: Future[Appended]


_STOP = object()


class EventLog:
    """A durable, deduplicated, append-only log of webhook events in one SQLite file.

    Safe to share between threads; several processes may open the same file (SQLite locks it).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        retention: timedelta = DEFAULT_RETENTION,
        max_batch: int = 512,
        busy_timeout: timedelta = timedelta(seconds=30),
        clock: Callable[[], float] = time.time,
    ) -> None:
        if retention <= timedelta(0):
            raise ValueError(f"retention must be positive, got {retention}")
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.path = Path(path)
        self.retention = retention
        self._max_batch = max_batch
        self._busy_ms = int(busy_timeout.total_seconds() * 1000)
        self._clock = clock
        self._queue: queue.SimpleQueue[_Pending | object] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connection() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"EventLog({str(self.path)!r}, retention={self.retention})"

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------------

    def submit(self, raw_body: bytes, event: WebhookEvent) -> Future[Appended]:
        """Queue an append; the future resolves once the event is durably committed.

        The receiver awaits it (`asyncio.wrap_future`) so no worker thread is held per request.
        """
        future: Future[Appended] = Future()
        future.set_running_or_notify_cancel()  # a caller that gives up cannot cancel a commit
        pending = _Pending(bytes(raw_body), event, self._clock(), future)
        with self._lock:
            if self._closed:
                raise EventLogClosed(f"{self!r} is closed")
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_loop, name="webhook-event-log-writer", daemon=True
                )
                self._writer.start()
            self._queue.put(pending)
        return future

    def append(self, raw_body: bytes, event: WebhookEvent) -> Appended:
        """Store one event durably (committed before returning); a redelivery is stored once."""
        return self.submit(raw_body, event).result()

    def close(self) -> None:
        """Commit what is queued, then stop the writer. Reading still works afterwards."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            writer = self._writer
            if writer is not None:
                self._queue.put(_STOP)
        if writer is not None:
            writer.join()

    def _write_loop(self) -> None:
        try:
            conn = self._open()
            conn.execute("PRAGMA synchronous=FULL")
        except Exception as exc:
            self._abandon(exc)
            return
        try:
            stopping = False
            while not stopping:
                batch, stopping = self._next_batch()
                if batch:
                    self._commit_batch(conn, batch)
        finally:
            conn.close()

    def _next_batch(self) -> tuple[list[_Pending], bool]:
        """Wait for one append, then take what else is already queued: the group commit."""
        batch: list[_Pending] = []
        item = self._queue.get()
        while isinstance(item, _Pending):
            batch.append(item)
            if len(batch) >= self._max_batch:
                return batch, False
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch, False
        return batch, True

    def _abandon(self, exc: Exception) -> None:
        """The writer could not open the file: fail what is queued; the next append retries."""
        with self._lock:
            self._writer = None
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _Pending):
                    item.future.set_exception(exc)

    def _commit_batch(self, conn: sqlite3.Connection, batch: list[_Pending]) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
            results = [self._insert(conn, pending) for pending in batch]
            conn.execute("COMMIT")
        except Exception as exc:
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            for pending in batch:
                pending.future.set_exception(exc)
            return
        for pending, result in zip(batch, results, strict=True):
            pending.future.set_result(result)

    @staticmethod
    def _insert(conn: sqlite3.Connection, pending: _Pending) -> Appended:
        event = pending.event
        key = event.dedupe_key
        existing = conn.execute("SELECT id FROM events WHERE dedupe_key = ?", (key,)).fetchone()
        if existing is not None:
            return Appended(existing[0], True)
        cursor = conn.execute(
            "INSERT INTO events"
            " (received_at, event, connector_id, sync_id, created, dedupe_key, raw_body)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                pending.received_at,
                str(event.event),
                event.connector_id,
                event.sync_id,
                event.created.isoformat(),
                key,
                pending.raw_body,
            ),
        )
        assert cursor.lastrowid is not None
        return Appended(cursor.lastrowid, False)

    # -- reading -----------------------------------------------------------------------------

    def read_after(
        self,
        cursor: int,
        *,
        limit: int = 1000,
        events: Iterable[EventName | str] | None = None,
        connection_ids: Iterable[str] | None = None,
    ) -> list[StoredEvent]:
        """Events with id > `cursor`, oldest first, at most `limit`, optionally filtered.

        Pass the last id you handled as the next cursor; `0` reads from the beginning and
        `latest_id()` from now on. Events pruned meanwhile are simply absent.
        """
        return self.read_page(
            cursor, limit=limit, events=events, connection_ids=connection_ids
        ).events

    def read_page(
        self,
        cursor: int,
        *,
        limit: int = 1000,
        events: Iterable[EventName | str] | None = None,
        connection_ids: Iterable[str] | None = None,
    ) -> EventPage:
        """Like `read_after`, plus the cursor to resume from (past events the filters skipped)."""
        if cursor < 0:
            raise ValueError(f"cursor must be >= 0, got {cursor}")
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        clauses = ["id > ?", "id <= ?"]
        filters: list[Any] = []
        if events is not None:
            names = [str(getattr(name, "value", name)) for name in events]
            clauses.append(f"event IN ({','.join('?' * len(names))})")
            filters.extend(names)
        if connection_ids is not None:
            ids = list(connection_ids)
            clauses.append(f"connector_id IN ({','.join('?' * len(ids))})")
            filters.extend(ids)
        sql = (
            "SELECT id, received_at, raw_body FROM events WHERE "
            + " AND ".join(clauses)
            + " ORDER BY id LIMIT ?"
        )
        with self._connection() as conn:
            conn.execute("BEGIN")
            head = self._head(conn)
            rows = conn.execute(sql, [cursor, head, *filters, limit]).fetchall()
            conn.execute("COMMIT")
        stored = [
            StoredEvent(
                id=row_id,
                received_at=datetime.fromtimestamp(received_at, UTC),
                event=WebhookEvent.from_json(raw_body),
                raw_body=bytes(raw_body),
            )
            for row_id, received_at, raw_body in rows
        ]
        next_cursor = stored[-1].id if len(stored) == limit else max(cursor, head)
        return EventPage(stored, next_cursor)

    def wait_after(
        self,
        cursor: int,
        *,
        timeout: timedelta,
        events: Iterable[EventName | str] | None = None,
        connection_ids: Iterable[str] | None = None,
        poll_interval: timedelta = timedelta(milliseconds=200),
    ) -> EventPage:
        """Block until events matching the filters arrive after `cursor`, or `timeout` passes.

        For a materialization waiting on its sync's `sync_end`: polling this local file costs no
        Fivetran API budget. On timeout the page is empty and its cursor still moves on.
        """
        event_names = list(events) if events is not None else None
        connections = list(connection_ids) if connection_ids is not None else None
        deadline = time.monotonic() + timeout.total_seconds()
        while True:
            page = self.read_page(cursor, events=event_names, connection_ids=connections)
            if page.events or time.monotonic() >= deadline:
                return page
            cursor = page.cursor
            time.sleep(min(poll_interval.total_seconds(), max(0.0, deadline - time.monotonic())))

    def latest_id(self) -> int:
        """The highest id ever assigned (0 if none); it does not go back when events are pruned."""
        with self._connection() as conn:
            return self._head(conn)

    def oldest_id(self) -> int | None:
        """The lowest id still stored, so a reader can tell when pruning overtook its cursor."""
        with self._connection() as conn:
            return conn.execute("SELECT MIN(id) FROM events").fetchone()[0]

    def count(self) -> int:
        with self._connection() as conn:
            return conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    def prune(self, now: datetime | None = None) -> int:
        """Delete events received before `now - retention`; returns how many were deleted."""
        moment = now.timestamp() if now is not None else self._clock()
        horizon = moment - self.retention.total_seconds()
        with self._connection() as conn:
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("BEGIN IMMEDIATE")
            deleted = conn.execute("DELETE FROM events WHERE received_at < ?", (horizon,)).rowcount
            conn.execute("COMMIT")
        return deleted

    @staticmethod
    def _head(conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        return row[0] if row else 0

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        conn = self._open()
        try:
            yield conn
        finally:
            conn.close()

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={self._busy_ms}")
        return conn
