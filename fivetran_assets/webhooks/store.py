"""The durable webhook event log, in SQLite (one machine) or PostgreSQL (a deployment).

`EventLog(location)` opens `sqlite:///path`, a bare file path, or `postgresql://...`; any number
of receivers may write to one PostgreSQL log and sensors read it from any process. Each receiver
appends through one writer thread with group commit: appends that arrive while a commit is in
flight go into the next transaction together, and each caller is answered only after the
transaction holding its event is committed (SQLite with `synchronous=FULL`). If a batch fails
because of one event, every event of it is retried alone, so a bad neighbour never costs a
valid event its place; if the database is unreachable the whole batch fails with
`StateUnavailable` (the receiver answers 503, Fivetran redelivers) and the next batch
reconnects.

Ids grow in commit order and are never reused, even after pruning (`log_schema`). Fivetran
redelivers an event until it gets a 2xx; the dedupe key (event, connector_id, sync_id, created)
makes a redelivery count up the stored event's `deliveries` instead of adding a row. Keep the
retention horizon longer than Fivetran's 24 hours of retries, or a late redelivery of a pruned
event is stored again.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from fivetran_assets.state.database import Database, DatabaseURL, Dialect, StateUnavailable
from fivetran_assets.webhooks import log_schema
from fivetran_assets.webhooks.events import EventName, WebhookEvent

DEFAULT_RETENTION = timedelta(days=7)
T = TypeVar("T")

EventLogLocation = str | Path | DatabaseURL
"""Where an event log is: a file path, `sqlite:///PATH`, `postgresql://...`, or a parsed URL."""


class Appended(NamedTuple):
    """What `append` did: the event's id, and whether it was a redelivery of a stored event."""

    id: int
    duplicate: bool


@dataclass(frozen=True)
class StoredEvent:
    """One event as stored: its log id (the sensors' cursor), first receive time, exact body
    and how many times Fivetran delivered it."""

    id: int
    received_at: datetime
    event: WebhookEvent
    raw_body: bytes
    deliveries: int = 1

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


class EventRejected(ValueError):
    """The database refused to store this one event (its content); the message says why."""


@dataclass
class _Pending:
    item: log_schema.Incoming
    future: Future[Appended]


_STOP = object()


class EventLog:
    """A durable, deduplicated, append-only log of webhook events. Safe to share between
    threads; any number of processes may open the same log.

    Opening checks the database and creates or migrates its tables: an unreachable database
    raises `StateUnavailable`, one migrated by a newer version `SchemaTooNew`, both naming the
    URL with its password masked.
    """

    def __init__(
        self,
        location: EventLogLocation,
        *,
        retention: timedelta = DEFAULT_RETENTION,
        max_batch: int = 512,
        busy_timeout: timedelta = timedelta(seconds=30),
        connect_timeout: timedelta = timedelta(seconds=10),
        clock: Callable[[], float] = time.time,
    ) -> None:
        if retention <= timedelta(0):
            raise ValueError(f"retention must be positive, got {retention}")
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.url = location if isinstance(location, DatabaseURL) else DatabaseURL.parse(location)
        self.retention = retention
        self._max_batch = max_batch
        self._busy = busy_timeout.total_seconds()
        self._connect_timeout = connect_timeout.total_seconds()
        self._clock = clock
        self._queue: queue.SimpleQueue[_Pending | object] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._reader_lock = threading.Lock()
        self._reader: Database | None = self._open()
        try:
            log_schema.migrate(self._reader)
        except BaseException:
            self._reader.close()
            raise

    def __repr__(self) -> str:
        return f"EventLog({self.url.masked!r}, retention={self.retention})"

    @property
    def location(self) -> str:
        """The log's URL or path as it may be shown (password masked)."""
        return self.url.masked

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self) -> Database:
        return Database(self.url, busy_timeout=self._busy, connect_timeout=self._connect_timeout)

    # -- writing -----------------------------------------------------------------------------

    def submit(self, raw_body: bytes, event: WebhookEvent) -> Future[Appended]:
        """Queue an append; the future resolves once the event is durably committed.

        The receiver awaits it (`asyncio.wrap_future`) so no worker thread is held per request.
        """
        future: Future[Appended] = Future()
        future.set_running_or_notify_cancel()  # a caller that gives up cannot cancel a commit
        pending = _Pending(log_schema.Incoming(bytes(raw_body), event, self._clock()), future)
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
        with self._reader_lock:
            self._reader = _drop(self._reader)

    def _write_loop(self) -> None:
        db: Database | None = None
        stopping = False
        while not stopping:
            batch, stopping = self._next_batch()
            if batch:
                db = self._commit(db, batch)
        if db is not None:
            db.close()

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

    def _writer_db(self, db: Database | None) -> Database:
        if db is not None and not db.broken:
            return db
        _drop(db)
        fresh = self._open()
        if fresh.dialect is Dialect.SQLITE:
            fresh.execute("PRAGMA synchronous=FULL")
        return fresh

    def _commit(self, db: Database | None, batch: list[_Pending]) -> Database | None:
        """Store the batch; returns the connection to use next (None: reconnect next time)."""
        try:
            db = self._writer_db(db)
        except Exception as exc:
            _fail(batch, exc)
            return None
        try:
            results = log_schema.store_batch(db, [p.item for p in batch])
        except Exception as exc:
            if Database.is_unavailable(exc):
                _fail(batch, _as_unavailable(db, exc))
                return _drop(db)
            return self._commit_one_by_one(db, batch)
        for pending, result in zip(batch, results, strict=True):
            pending.future.set_result(Appended(*result))
        return db

    def _commit_one_by_one(self, db: Database, batch: list[_Pending]) -> Database | None:
        """A batch failed because of its content: store each event in its own transaction."""
        for index, pending in enumerate(batch):
            try:
                (result,) = log_schema.store_batch(db, [pending.item])
            except Exception as exc:
                if Database.is_unavailable(exc):
                    _fail(batch[index:], _as_unavailable(db, exc))
                    return _drop(db)
                reason = db.url.scrub(" ".join(str(exc).split()) or type(exc).__name__)
                pending.future.set_exception(EventRejected(f"cannot store this event: {reason}"))
            else:
                pending.future.set_result(Appended(*result))
        return db

    # -- reading -----------------------------------------------------------------------------

    def _read(self, query: Callable[[Database], T]) -> T:
        """Run `query` on the shared reader connection, reconnecting after a failure."""
        with self._reader_lock:
            if self._reader is None or self._reader.broken:
                self._reader = _drop(self._reader)
                self._reader = self._open()
            try:
                return query(self._reader)
            except StateUnavailable:
                self._reader = _drop(self._reader)
                raise

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
        where, filters = _filters(events, connection_ids)

        def query(db: Database) -> tuple[int, list[tuple[Any, ...]]]:
            with db.transaction(write=False):
                head = log_schema.head(db)
                rows = db.query(
                    f"SELECT {_COLUMNS} FROM events WHERE id > ? AND id <= ?{where}"
                    " ORDER BY id LIMIT ?",
                    [cursor, head, *filters, limit],
                )
            return head, rows

        head, rows = self._read(query)
        stored = [_stored(row) for row in rows]
        next_cursor = stored[-1].id if len(stored) == limit else max(cursor, head)
        return EventPage(stored, next_cursor)

    def list_events(
        self,
        *,
        since: datetime | None = None,
        events: Iterable[EventName | str] | None = None,
        connection_ids: Iterable[str] | None = None,
        limit: int = 50,
    ) -> list[StoredEvent]:
        """The newest events first (received at or after `since`), at most `limit`."""
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        where, filters = _filters(events, connection_ids)
        if since is not None:
            where += " AND received_at >= ?"
            filters.append(since.timestamp())
        rows = self._read(
            lambda db: db.query(
                f"SELECT {_COLUMNS} FROM events WHERE 1 = 1{where} ORDER BY id DESC LIMIT ?",
                [*filters, limit],
            )
        )
        return [_stored(row) for row in rows]

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

        For a materialization waiting on its sync's `sync_end`: polling the log costs no
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
        return self._read(log_schema.head)

    def oldest_id(self) -> int | None:
        """The lowest id still stored, so a reader can tell when pruning overtook its cursor."""
        return self._read(lambda db: db.scalar("SELECT MIN(id) FROM events"))

    def count(self) -> int:
        return int(self._read(lambda db: db.scalar("SELECT COUNT(*) FROM events")))

    def prune(self, now: datetime | None = None) -> int:
        """Delete events received before `now - retention`; returns how many were deleted."""
        moment = now.timestamp() if now is not None else self._clock()
        horizon = moment - self.retention.total_seconds()

        def delete(db: Database) -> int:
            with db.transaction():
                return db.execute("DELETE FROM events WHERE received_at < ?", (horizon,)).rowcount

        return self._read(delete)


_COLUMNS = "id, received_at, raw_body, deliveries"


def _filters(
    events: Iterable[EventName | str] | None, connection_ids: Iterable[str] | None
) -> tuple[str, list[Any]]:
    where = ""
    filters: list[Any] = []
    if events is not None:
        names = [str(getattr(name, "value", name)) for name in events]
        where += f" AND event IN ({','.join('?' * len(names)) or 'NULL'})"
        filters.extend(names)
    if connection_ids is not None:
        ids = list(connection_ids)
        where += f" AND connector_id IN ({','.join('?' * len(ids)) or 'NULL'})"
        filters.extend(ids)
    return where, filters


def _stored(row: tuple[Any, ...]) -> StoredEvent:
    row_id, received_at, raw_body, deliveries = row
    raw = bytes(raw_body)
    return StoredEvent(
        id=row_id,
        received_at=datetime.fromtimestamp(received_at, UTC),
        event=WebhookEvent.from_json(raw),
        raw_body=raw,
        deliveries=deliveries,
    )


def _fail(batch: list[_Pending], exc: BaseException) -> None:
    for pending in batch:
        pending.future.set_exception(exc)


def _as_unavailable(db: Database, exc: BaseException) -> BaseException:
    if isinstance(exc, StateUnavailable):
        return exc
    return db.unavailable(exc, "cannot store events in")


def _drop(db: Database | None) -> None:
    if db is not None:
        with contextlib.suppress(Exception):
            db.close()
