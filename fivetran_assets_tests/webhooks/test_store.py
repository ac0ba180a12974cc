"""The durable event log on SQLite and PostgreSQL: dedupe, cursor reads, retention, threads,
processes, a bad event among good ones, and schema versions."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fivetran_assets.state.database import Database, DatabaseURL, Dialect
from fivetran_assets.state.migrations import SchemaTooNew
from fivetran_assets.webhooks.events import EventName, WebhookEvent
from fivetran_assets.webhooks.store import EventLog, EventLogClosed, EventRejected


def body(
    event: str = "sync_end",
    *,
    connector: str = "c1",
    sync: str = "s1",
    ms: int = 0,
    group: str = "g",
) -> bytes:
    payload = {
        "event": event,
        "created": f"2026-05-22T00:00:00.{ms:03d}Z",
        "connector_id": connector,
        "sync_id": sync,
        "destination_group_id": group,
        "data": {"status": "SUCCESSFUL"},
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def append(log: EventLog, raw: bytes):
    return log.append(raw, WebhookEvent.from_json(raw))


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def log(event_log_url: str):
    with EventLog(event_log_url) as event_log:
        yield event_log


def test_append_stores_the_raw_body_and_counts_redeliveries(log: EventLog) -> None:
    raw = body()
    first = append(log, raw)
    again = append(log, raw)
    reformatted = append(log, raw.replace(b",", b", "))
    assert first == (1, False)
    assert again == (1, True)
    assert reformatted == (1, True)
    assert log.count() == 1
    (stored,) = log.read_after(0)
    assert stored.raw_body == raw
    assert stored.deliveries == 3
    assert stored.payload()["sync_id"] == "s1"
    assert stored.event.event is EventName.SYNC_END
    assert abs((datetime.now(UTC) - stored.received_at).total_seconds()) < 60


def test_read_after_cursor_semantics(log: EventLog) -> None:
    for n in range(10):
        append(log, body(connector=f"c{n % 2}", sync=f"s{n}", ms=n))
    assert log.latest_id() == 10
    assert [e.id for e in log.read_after(0)] == list(range(1, 11))
    assert [e.id for e in log.read_after(7)] == [8, 9, 10]
    assert log.read_after(10) == []
    assert log.read_after(99) == []
    assert [e.id for e in log.read_after(2, limit=3)] == [3, 4, 5]
    assert [e.event.sync_id for e in log.read_after(0, connection_ids=["c1"])] == [
        "s1",
        "s3",
        "s5",
        "s7",
        "s9",
    ]
    assert log.read_after(0, events=[EventName.SYNC_START]) == []
    assert len(log.read_after(0, events=["sync_end"], connection_ids=["c0", "c1"])) == 10
    with pytest.raises(ValueError, match="cursor"):
        log.read_after(-1)
    with pytest.raises(ValueError, match="limit"):
        log.read_after(0, limit=0)


def test_read_page_moves_the_cursor_past_filtered_events(log: EventLog) -> None:
    for n in range(6):
        append(log, body("sync_start" if n % 3 else "sync_end", sync=f"s{n}", ms=n))
    page = log.read_page(0, events=["sync_end"])
    assert [e.id for e in page.events] == [1, 4]
    assert page.cursor == 6
    limited = log.read_page(0, events=["sync_start"], limit=2)
    assert [e.id for e in limited.events] == [2, 3]
    assert limited.cursor == 3
    assert log.read_page(6).cursor == 6
    assert log.read_page(0, connection_ids=["nobody"]).cursor == 6


def test_list_events_newest_first_with_filters(event_log_url: str) -> None:
    clock = FakeClock(datetime(2026, 5, 22, tzinfo=UTC).timestamp())
    with EventLog(event_log_url, clock=clock) as log:
        for n in range(6):
            append(log, body("sync_start" if n % 2 else "sync_end", connector=f"c{n % 3}", ms=n))
            clock.now += 3600
        append(log, body("sync_end", connector="c0", ms=0))  # a redelivery of the first
        listed = log.list_events()
        assert [e.id for e in listed] == [6, 5, 4, 3, 2, 1]
        assert listed[-1].deliveries == 2
        assert [e.id for e in log.list_events(limit=2)] == [6, 5]
        assert [e.id for e in log.list_events(events=["sync_start"])] == [6, 4, 2]
        assert [e.id for e in log.list_events(connection_ids=["c0"])] == [4, 1]
        recent = datetime.fromtimestamp(clock.now, UTC) - timedelta(hours=2, minutes=30)
        assert [e.id for e in log.list_events(since=recent)] == [6, 5]
        assert listed[0].event.group_id == "g"


def test_retention_prunes_by_receive_time_and_ids_are_never_reused(event_log_url: str) -> None:
    clock = FakeClock(datetime(2026, 5, 22, tzinfo=UTC).timestamp())
    with EventLog(event_log_url, retention=timedelta(days=2), clock=clock) as log:
        append(log, body(sync="old", ms=1))
        clock.now += timedelta(days=1).total_seconds()
        append(log, body(sync="newer", ms=2))
        clock.now += timedelta(days=1, hours=1).total_seconds()
        assert log.prune() == 1
        assert [e.event.sync_id for e in log.read_after(0)] == ["newer"]
        assert log.oldest_id() == 2
        future = datetime.fromtimestamp(clock.now, UTC) + timedelta(days=5)
        assert log.prune(future) == 1
        assert log.count() == 0
        assert log.latest_id() == 2
        assert append(log, body(sync="after", ms=3)).id == 3
        assert [e.id for e in log.read_after(2)] == [3]
    with pytest.raises(ValueError, match="retention"):
        EventLog(event_log_url, retention=timedelta(0))


def test_closed_log_refuses_appends_but_still_reads(log: EventLog) -> None:
    append(log, body())
    log.close()
    with pytest.raises(EventLogClosed):
        append(log, body(sync="s2"))
    assert log.count() == 1


def test_concurrent_appends_from_threads_are_all_stored_once(log: EventLog) -> None:
    bodies = [body(connector=f"c{n % 4}", sync=f"s{n}", ms=n % 1000) for n in range(2000)]
    results: list = []
    lock = threading.Lock()

    def worker(chunk: list[bytes]) -> None:
        for raw in chunk:
            result = append(log, raw)
            with lock:
                results.append(result)

    threads = [
        threading.Thread(target=worker, args=(bodies[i::8] + bodies[:50],)) for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert log.count() == 2000
    fresh = [r.id for r in results if not r.duplicate]
    stored = [e.id for e in log.read_after(0, limit=3000)]
    assert sorted(fresh) == stored and len(set(fresh)) == 2000
    assert sum(r.duplicate for r in results) == 8 * 50
    assert sum(e.deliveries for e in log.read_after(0, limit=3000)) == 2000 + 8 * 50


WRITER = """
import json, sys
from fivetran_assets.webhooks.events import WebhookEvent
from fivetran_assets.webhooks.store import EventLog
with EventLog(sys.argv[1]) as log:
    for n in range(int(sys.argv[2]), int(sys.argv[3])):
        raw = json.dumps({"event": "sync_end", "created": "2026-05-22T00:00:00Z",
                          "connector_id": "p", "sync_id": f"s{n % 500}"}).encode()
        log.append(raw, WebhookEvent.from_json(raw))
"""


def test_several_processes_write_and_another_reads_in_commit_order(event_log_url: str) -> None:
    """Two writers deliver overlapping events (as two receivers behind a load balancer do):
    each is stored once, and a reader following its cursor sees every id exactly once."""
    reader = EventLog(event_log_url)
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, event_log_url, str(lo), str(lo + 300)])
        for lo in (0, 200)
    ]
    seen: list[int] = []
    cursor = 0
    while any(w.poll() is None for w in writers) or cursor < reader.latest_id():
        page = reader.read_page(cursor, limit=50)
        seen.extend(e.id for e in page.events)
        cursor = page.cursor
    assert all(w.returncode == 0 for w in writers)
    stored = reader.read_after(0, limit=1000)
    assert seen == [e.id for e in stored] and len(seen) == 500  # each once, in id order
    assert {e.event.sync_id for e in stored} == {f"s{n}" for n in range(500)}
    assert sum(e.deliveries for e in stored) == 600


def _hold_writers(url: str) -> Database:
    """Another connection keeping every writer waiting until it commits."""
    blocker = Database(DatabaseURL.parse(url))
    if blocker.dialect is Dialect.SQLITE:
        blocker.execute("BEGIN IMMEDIATE")
    else:
        blocker.execute("BEGIN")
        blocker.execute("LOCK TABLE events IN EXCLUSIVE MODE")
    return blocker


def test_an_event_the_database_refuses_fails_alone(log: EventLog, event_log_url: str) -> None:
    """A batch that fails because of one event is retried event by event: its neighbours are
    stored, only that one is refused (the receiver answers it 400). The receiver's input policy
    refuses such a body before it reaches the log; this parses past it to test the log alone."""
    blocker = _hold_writers(event_log_url)
    futures: list[Future] = []
    try:
        for n in range(40):
            connector = "bad\ud800" if n == 20 else f"c{n}"
            raw = body(connector=connector, sync=f"s{n}", ms=n)
            futures.append(log.submit(raw, WebhookEvent.from_payload(json.loads(raw))))
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    with pytest.raises(EventRejected, match="cannot store this event"):
        futures[20].result(timeout=30)
    stored = [f.result(timeout=30) for i, f in enumerate(futures) if i != 20]
    assert sorted(s.id for s in stored) == list(range(1, 40))
    assert log.count() == 39


def test_a_failed_commit_fails_its_appends_and_the_writer_carries_on(tmp_path: Path) -> None:
    from fivetran_assets.state.database import StateUnavailable

    url = f"sqlite:///{tmp_path}/locked.sqlite"
    with EventLog(url, busy_timeout=timedelta(milliseconds=100)) as log:
        blocker = _hold_writers(url)
        with pytest.raises(StateUnavailable, match="locked"):
            append(log, body(sync="while-locked"))
        blocker.execute("ROLLBACK")
        blocker.close()
        assert append(log, body(sync="while-locked")) == (1, False)
        assert log.count() == 1


def test_a_submitted_append_cannot_be_cancelled(log: EventLog) -> None:
    raw = body()
    future = log.submit(raw, WebhookEvent.from_json(raw))
    assert not future.cancel()
    assert future.result(timeout=10) == (1, False)


def test_wait_after_wakes_on_a_matching_event_from_another_thread(log: EventLog) -> None:
    append(log, body(connector="other", sync="s0"))
    start = log.latest_id()
    timer = threading.Timer(0.3, lambda: append(log, body(connector="mine", sync="s1", ms=1)))
    timer.start()
    page = log.wait_after(
        0, timeout=timedelta(seconds=10), events=["sync_end"], connection_ids=["mine"]
    )
    timer.join()
    assert [e.event.sync_id for e in page.events] == ["s1"]
    assert page.cursor == start + 1
    empty = log.wait_after(page.cursor, timeout=timedelta(milliseconds=50))
    assert empty.events == []
    assert empty.cursor == page.cursor


def test_a_newer_schema_is_refused(event_log_url: str) -> None:
    EventLog(event_log_url).close()
    db = Database(DatabaseURL.parse(event_log_url))
    db.execute("UPDATE schema_versions SET version = 99 WHERE name = 'webhook_event_log'")
    db.close()
    with pytest.raises(SchemaTooNew, match=r"schema version 99, newer than .* understands \(3\)"):
        EventLog(event_log_url)


FIRST_WAVE_SCHEMA = """
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, received_at REAL NOT NULL, event TEXT NOT NULL,
    connector_id TEXT, sync_id TEXT, created TEXT NOT NULL, dedupe_key TEXT NOT NULL UNIQUE,
    raw_body BLOB NOT NULL
);
CREATE INDEX events_by_connector ON events (connector_id, id);
CREATE INDEX events_by_received_at ON events (received_at);
"""


def test_a_first_wave_sqlite_log_is_migrated_in_place(tmp_path: Path) -> None:
    """The log `make demo` wrote before versioning: its events, ids and id counter survive."""
    import sqlite3

    path = tmp_path / "webhooks.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(FIRST_WAVE_SCHEMA)
    for n in range(1, 6):
        raw = body(sync=f"s{n}", ms=n, group="grp")
        event = WebhookEvent.from_json(raw)
        conn.execute(
            "INSERT INTO events (received_at, event, connector_id, sync_id, created, dedupe_key,"
            " raw_body) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (1.0e9 + n, "sync_end", "c1", f"s{n}", event.created.isoformat(), event.dedupe_key,
             raw),
        )  # fmt: skip
    conn.execute("DELETE FROM events WHERE id = 5")  # pruned: its id must not come back
    conn.commit()
    conn.close()
    with EventLog(path) as log:
        assert log.latest_id() == 5
        assert [(e.id, e.deliveries, e.event.group_id) for e in log.list_events()] == [
            (4, 1, "grp"),
            (3, 1, "grp"),
            (2, 1, "grp"),
            (1, 1, "grp"),
        ]
        assert append(log, body(sync="s1", ms=1, group="grp")) == (1, True)
        assert append(log, body(sync="new", ms=9)) == (6, False)
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert check.execute("SELECT version FROM schema_versions").fetchall() == [(3,)]
    check.close()


def test_postgres_tables_live_in_their_own_schema(postgres_server) -> None:
    """A log in Dagster's own database never meets Dagster's tables."""
    import psycopg

    postgres_server.create_database("shared_with_dagster")
    EventLog(postgres_server.url("shared_with_dagster")).close()
    with psycopg.connect(postgres_server.dsn("shared_with_dagster")) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 2"
        ).fetchall()
    assert tables == [
        ("fivetran_assets", "event_log_head"),
        ("fivetran_assets", "events"),
        ("fivetran_assets", "schema_versions"),
    ]


def test_readers_never_pass_an_event_another_receiver_has_not_committed_yet(
    postgres_server,
) -> None:
    """Receivers commit concurrently on PostgreSQL, so id 2 may commit before id 1: a reader
    must stop below 1 until it commits, or its cursor would pass it and miss it for good."""
    from fivetran_assets.webhooks import log_postgres

    postgres_server.create_database("in_flight")
    url = postgres_server.url("in_flight")
    with EventLog(url) as log:
        slow = Database(DatabaseURL.parse(url))
        slow.execute("BEGIN")
        slow.execute(log_postgres._MARK)
        first = WebhookEvent.from_json(body(sync="first"))
        slow.execute(
            "INSERT INTO events (id, received_at, event, connector_id, sync_id, created,"
            " dedupe_key, raw_body) VALUES (nextval('events_id_seq'), 0, 'sync_end', 'c1',"
            " 'first', ?, ?, ?)",
            (first.created.isoformat(), first.dedupe_key, body(sync="first")),
        )
        assert append(log, body(sync="second", ms=2)) == (2, False)  # committed first
        page = log.read_page(0)
        assert (page.events, page.cursor, log.latest_id()) == ([], 0, 0)
        slow.execute("COMMIT")
        slow.close()
        page = log.read_page(0)
        assert [(e.id, e.event.sync_id) for e in page.events] == [(1, "first"), (2, "second")]
        assert page.cursor == log.latest_id() == 2
