"""The durable event log: dedupe, cursor reads, retention, threads and processes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fivetran_assets.webhooks.events import EventName, WebhookEvent
from fivetran_assets.webhooks.store import EventLog, EventLogClosed


def body(event: str = "sync_end", *, connector: str = "c1", sync: str = "s1", ms: int = 0) -> bytes:
    payload = {
        "event": event,
        "created": f"2026-05-22T00:00:00.{ms:03d}Z",
        "connector_id": connector,
        "sync_id": sync,
        "destination_group_id": "g",
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
def log(tmp_path: Path):
    with EventLog(tmp_path / "events.sqlite") as event_log:
        yield event_log


def test_append_stores_the_raw_body_and_a_redelivery_once(log: EventLog) -> None:
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
    assert stored.payload()["sync_id"] == "s1"
    assert stored.event.event is EventName.SYNC_END
    assert abs((datetime.now(UTC) - stored.received_at).total_seconds()) < 60


def test_the_log_is_wal_and_an_append_is_visible_to_a_fresh_connection(log: EventLog) -> None:
    import sqlite3

    append(log, body())
    conn = sqlite3.connect(log.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1
    conn.close()


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


def test_retention_prunes_by_receive_time_and_ids_are_never_reused(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 5, 22, tzinfo=UTC).timestamp())
    with EventLog(tmp_path / "e.sqlite", retention=timedelta(days=2), clock=clock) as log:
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
        EventLog(tmp_path / "x.sqlite", retention=timedelta(0))


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
    assert sorted(fresh) == list(range(1, 2001))
    assert sum(r.duplicate for r in results) == 8 * 50


WRITER = """
import json, sys
from fivetran_assets.webhooks.events import WebhookEvent
from fivetran_assets.webhooks.store import EventLog
with EventLog(sys.argv[1]) as log:
    for n in range(int(sys.argv[2]), int(sys.argv[3])):
        raw = json.dumps({"event": "sync_end", "created": "2026-05-22T00:00:00Z",
                          "connector_id": "p", "sync_id": f"s{n}"}).encode()
        log.append(raw, WebhookEvent.from_json(raw))
"""


def test_several_processes_write_and_another_reads(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    reader = EventLog(path)
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(lo), str(lo + 300)])
        for lo in (0, 300)
    ]
    seen: list[int] = []
    cursor = 0
    while any(w.poll() is None for w in writers) or cursor < reader.latest_id():
        page = reader.read_page(cursor, limit=50)
        seen.extend(e.id for e in page.events)
        cursor = page.cursor
    assert all(w.returncode == 0 for w in writers)
    assert seen == list(range(1, 601))
    assert {e.event.sync_id for e in reader.read_after(0, limit=1000)} == {
        f"s{n}" for n in range(600)
    }


def test_a_failed_commit_fails_its_appends_and_the_writer_carries_on(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "locked.sqlite"
    with EventLog(path, busy_timeout=timedelta(milliseconds=100)) as log:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
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
