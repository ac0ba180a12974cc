"""Storing events on PostgreSQL with receivers committing at once, and reading them in order.

Several receivers write one log. If each took a lock for its whole transaction (as SQLite's
single writer does), their commits, each waiting for the disk, would run one after another and
two receivers would store no faster than one. Here they commit concurrently (PostgreSQL flushes
their commits together) and ids come from a sequence, so a later id can be committed before an
earlier one. Readers must then never move their cursor past an id whose transaction may still
commit: each writer first announces, with a shared advisory lock visible to every session before
anything is committed, the sequence's value before it takes ids (`_MARK`); the ids it takes
are all above it. A reader reads the sequence, then the announcements still held, and only
returns events up to the lowest (`safe_head`): everything at or below it is committed or will
never exist. So a sensor that has read up to id N never later finds an event below N.

One transaction per batch, sent in one round trip (pipeline): announce, insert (a redelivery
counts up the stored event's `deliveries` through the unique dedupe key, which also makes
concurrent receivers agree), commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fivetran_assets.state.database import Database

SEQUENCE = "events_id_seq"
# The announcements are advisory locks (key1, key2): key1 in [_CLASS, _CLASS + 2**16) holds the
# value's high bits, key2 its low 31 (both must be positive int4).
_CLASS = 0x46540000
_LOW = 2**31
_MARK = (
    f"SELECT pg_advisory_xact_lock_shared({_CLASS} + (v / {_LOW})::int, mod(v, {_LOW})::int)"
    f" FROM (SELECT last_value - 1 AS v FROM {SEQUENCE}) AS s"
)
_ANNOUNCED = (
    f"SELECT min((classid::bigint - {_CLASS}) * {_LOW} + objid::bigint) FROM pg_locks"
    f" WHERE locktype = 'advisory' AND objsubid = 2 AND classid >= {_CLASS}"
    f" AND classid < {_CLASS + 2**16}"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
_COLUMNS = (
    "id, received_at, event, connector_id, sync_id, created, dedupe_key, raw_body, group_id,"
    " deliveries, last_received_at"
)


def create_sequence(db: Database) -> None:
    """Ids continue from the head row the previous version kept."""
    head = db.scalar("SELECT last_id FROM event_log_head WHERE id = 1") or 0
    db.execute(f"CREATE SEQUENCE {SEQUENCE} START WITH {int(head) + 1}")


def safe_head(db: Database) -> int:
    """The highest id below which no transaction can still commit an event (0 if none yet)."""
    given = db.scalar(
        f"SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {SEQUENCE}"
    )
    announced = db.scalar(_ANNOUNCED)  # after the sequence: an announcement taken meanwhile
    return int(given if announced is None else min(given, announced))  # is below `given`


def store(db: Database, rows: Sequence[list[Any]]) -> dict[str, tuple[int, int]]:
    """Insert or count up one row per dedupe key (`rows` as `log_schema` builds them, id
    unset); returns dedupe key -> (id, deliveries after this batch)."""
    values = ", ".join(f"(nextval('{SEQUENCE}'), {', '.join('?' * 10)})" for _ in rows)
    flat = [value for row in rows for value in row[1:]]
    with db.pipeline(), db.transaction():
        db.execute(_MARK)
        stored = db.execute(
            f"INSERT INTO events ({_COLUMNS}) VALUES {values}"
            " ON CONFLICT (dedupe_key) DO UPDATE SET"
            " deliveries = events.deliveries + EXCLUDED.deliveries,"
            " last_received_at = EXCLUDED.last_received_at"
            " RETURNING dedupe_key, id, deliveries",
            flat,
        )
    return {key: (row_id, deliveries) for key, row_id, deliveries in stored.fetchall()}
