"""The event log's tables, their versions, and the statements that store a batch of events.

Version 1 is the first wave's SQLite table (`events`, ids from AUTOINCREMENT). Version 2 adds
what the listing shows (the group, how many times Fivetran delivered an event) and a one-row
`event_log_head` holding the last id given out. On SQLite the writer assigns ids from that row
inside its write transaction, which holds the file's lock, so ids grow in commit order: a
sensor that has read up to id N can never later find an event below N. Version 3 gives
PostgreSQL a sequence instead, so several receivers commit at once; `log_postgres` keeps the
same promise for readers there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from fivetran_assets.state.database import Database, Dialect
from fivetran_assets.state.migrations import Migration, ensure_schema
from fivetran_assets.webhooks import log_postgres
from fivetran_assets.webhooks.events import WebhookEvent

COMPONENT = "webhook_event_log"

_V1_SQLITE = (
    "CREATE TABLE IF NOT EXISTS events ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, received_at REAL NOT NULL, event TEXT NOT NULL,"
    " connector_id TEXT, sync_id TEXT, created TEXT NOT NULL, dedupe_key TEXT NOT NULL UNIQUE,"
    " raw_body BLOB NOT NULL)",
)
_V1_POSTGRES = (
    "CREATE TABLE IF NOT EXISTS events ("
    " id BIGINT PRIMARY KEY, received_at DOUBLE PRECISION NOT NULL, event TEXT NOT NULL,"
    " connector_id TEXT, sync_id TEXT, created TEXT NOT NULL, dedupe_key TEXT NOT NULL UNIQUE,"
    " raw_body BYTEA NOT NULL)",
)
_V1_INDEXES = (
    "CREATE INDEX IF NOT EXISTS events_by_connector ON events (connector_id, id)",
    "CREATE INDEX IF NOT EXISTS events_by_received_at ON events (received_at)",
)


def _v1(db: Database) -> None:
    tables = _V1_SQLITE if db.dialect is Dialect.SQLITE else _V1_POSTGRES
    for statement in (*tables, *_V1_INDEXES):
        db.execute(statement)


def _v2(db: Database) -> None:
    real = "REAL" if db.dialect is Dialect.SQLITE else "DOUBLE PRECISION"
    db.execute("ALTER TABLE events ADD COLUMN group_id TEXT")
    db.execute("ALTER TABLE events ADD COLUMN deliveries INTEGER NOT NULL DEFAULT 1")
    db.execute(f"ALTER TABLE events ADD COLUMN last_received_at {real}")
    db.execute("CREATE INDEX IF NOT EXISTS events_by_event ON events (event, id)")
    db.execute(
        "CREATE TABLE event_log_head (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "last_id BIGINT NOT NULL)"
    )
    if db.dialect is Dialect.SQLITE:
        # AUTOINCREMENT's counter: ids are never reused, even of pruned events.
        head = db.scalar("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
    else:
        head = db.scalar("SELECT max(id) FROM events")
    db.execute("INSERT INTO event_log_head (id, last_id) VALUES (1, ?)", (head or 0,))
    for row_id, raw_body in db.query("SELECT id, raw_body FROM events"):
        db.execute("UPDATE events SET group_id = ? WHERE id = ?", (_group(raw_body), row_id))


def _group(raw_body: bytes) -> str | None:
    try:
        payload = json.loads(raw_body)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    value = payload.get("destination_group_id") or payload.get("group_id")
    return str(value) if value is not None else None


def _v3(db: Database) -> None:
    if db.dialect is Dialect.POSTGRES:
        log_postgres.create_sequence(db)


MIGRATIONS = (
    Migration(1, "events, deduplicated by Fivetran's event identity", _v1),
    Migration(2, "group, delivery count and a transactional head id", _v2),
    Migration(3, "PostgreSQL: ids from a sequence, receivers commit concurrently", _v3),
)
LATEST = MIGRATIONS[-1].version


def migrate(db: Database) -> int:
    """Create or upgrade the event log's tables (a first-wave SQLite file is version 1)."""

    def legacy(db: Database) -> int:
        return 1 if db.dialect is Dialect.SQLITE and db.table_exists("events") else 0

    if db.dialect is Dialect.SQLITE:
        db.execute("PRAGMA journal_mode=WAL")
    return ensure_schema(db, COMPONENT, MIGRATIONS, legacy_version=legacy, what="event log")


class Incoming(NamedTuple):
    """One delivery to store."""

    raw_body: bytes
    event: WebhookEvent
    received_at: float


class Stored(NamedTuple):
    """Where a delivery went: its event's id, and whether that event was stored before."""

    id: int
    duplicate: bool


def _row(item: Incoming, row_id: int | None) -> list[Any]:
    event = item.event
    return [
        row_id, item.received_at, str(event.event), event.connector_id, event.sync_id,
        event.created.isoformat(), event.dedupe_key, item.raw_body, event.group_id, 1,
        item.received_at,
    ]  # fmt: skip


def store_batch(db: Database, batch: Sequence[Incoming]) -> list[Stored]:
    """Store `batch` in one transaction: new events get the next ids, redeliveries count up."""
    if db.dialect is Dialect.POSTGRES:
        return _store_postgres(db, batch)
    return _store_sqlite(db, batch)


def _store_postgres(db: Database, batch: Sequence[Incoming]) -> list[Stored]:
    """One row per dedupe key (its deliveries counted in the batch), stored concurrently with
    other receivers (`log_postgres`); an item is a duplicate when its event was stored before
    or earlier in the batch."""
    rows: dict[str, list[Any]] = {}
    for item in batch:
        key = item.event.dedupe_key
        if key in rows:
            rows[key][-2] += 1  # deliveries
            rows[key][-1] = item.received_at
        else:
            rows[key] = _row(item, None)
    stored = log_postgres.store(db, list(rows.values()))
    seen: set[str] = set()
    results = []
    for item in batch:
        key = item.event.dedupe_key
        row_id, deliveries = stored[key]
        results.append(Stored(row_id, key in seen or deliveries > rows[key][-2]))
        seen.add(key)
    return results


def _store_sqlite(db: Database, batch: Sequence[Incoming]) -> list[Stored]:
    """New events get ids from the head row, read inside the write transaction (SQLite's
    `BEGIN IMMEDIATE` locks the file, so no other writer runs meanwhile)."""
    keys = list(dict.fromkeys(item.event.dedupe_key for item in batch))
    marks = ",".join("?" * len(keys))
    with db.transaction():
        head = int(db.scalar("SELECT last_id FROM event_log_head WHERE id = 1"))
        found = db.execute(f"SELECT dedupe_key, id FROM events WHERE dedupe_key IN ({marks})", keys)
        known = {key: (row_id, True) for key, row_id in found.fetchall()}
        fresh: dict[str, list] = {}
        repeats: dict[int, list] = {}
        results: list[Stored] = []
        for item in batch:
            key = item.event.dedupe_key
            if key in known:
                row_id, before = known[key]
                if before:
                    bump = repeats.setdefault(row_id, [0, item.received_at, row_id])
                    bump[0] += 1
                    bump[1] = item.received_at
                else:
                    fresh[key][-2] += 1  # deliveries
                    fresh[key][-1] = item.received_at
                results.append(Stored(row_id, True))
                continue
            head += 1
            known[key] = (head, False)
            fresh[key] = _row(item, head)
            results.append(Stored(head, False))
        db.executemany(
            "INSERT INTO events (id, received_at, event, connector_id, sync_id, created,"
            " dedupe_key, raw_body, group_id, deliveries, last_received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            fresh.values(),
        )
        db.executemany(
            "UPDATE events SET deliveries = deliveries + ?, last_received_at = ? WHERE id = ?",
            repeats.values(),
        )
        if fresh:
            db.execute("UPDATE event_log_head SET last_id = ? WHERE id = 1", (head,))
    return results


def head(db: Database) -> int:
    """The highest id a reader may go up to (0 if none): every event at or below it is
    committed. It never goes back, even when events are pruned."""
    if db.dialect is Dialect.POSTGRES:
        return log_postgres.safe_head(db)
    return int(db.scalar("SELECT last_id FROM event_log_head WHERE id = 1") or 0)
