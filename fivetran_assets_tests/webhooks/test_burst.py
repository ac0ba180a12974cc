"""Load and crash: 10,000 events from 8 senders, and a receiver killed with -9 mid-burst.

The receiver runs as `fivetran-assets webhooks serve` in its own process, as in production.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx

from fivetran_assets.webhooks.loadgen import BurstResult, Delivery, send_burst, sync_end_deliveries
from fivetran_assets.webhooks.store import EventLog
from fivetran_assets_tests.webhooks.receiver_process import free_port, start_receiver

SECRET = "burst-secret-value"


def assert_complete_and_ordered(log: EventLog, deliveries: list[Delivery], result: BurstResult):
    """Every delivery stored exactly once, at the id acknowledged, in order per connection."""
    stored = log.read_after(0, limit=len(deliveries) + 1)
    assert len(stored) == len(deliveries)
    by_body = {event.raw_body: event.id for event in stored}
    assert len(by_body) == len(deliveries)
    for delivery in deliveries:
        assert result.acknowledged[delivery.body] == by_body[delivery.body]
    per_connection: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for delivery in deliveries:
        per_connection[delivery.connection_id].append((delivery.seq, by_body[delivery.body]))
    for connection, pairs in per_connection.items():
        ids = [event_id for _, event_id in sorted(pairs)]
        assert ids == sorted(ids), f"events of {connection} stored out of order"


def test_burst_of_10000_from_8_senders_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite"
    port = free_port()
    process_log = tmp_path / "receiver.log"
    process = start_receiver(db, port, SECRET, log_file=process_log)
    try:
        deliveries = sync_end_deliveries(10_000, connections=64)
        result = send_burst(
            f"http://127.0.0.1:{port}/fivetran/webhook", SECRET, deliveries, senders=8
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    assert result.failures == []
    assert result.sent == 10_000
    assert_complete_and_ordered(EventLog(db), deliveries, result)
    assert SECRET not in process_log.read_text()


def test_kill_9_mid_burst_loses_nothing_acknowledged(tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite"
    port = free_port()
    url = f"http://127.0.0.1:{port}/fivetran/webhook"
    process_log = tmp_path / "receiver.log"
    deliveries = sync_end_deliveries(3_000, connections=24)
    result = BurstResult()
    process = start_receiver(db, port, SECRET, log_file=process_log)
    sender = threading.Thread(
        target=send_burst, args=(url, SECRET, deliveries), kwargs={"deadline": 60, "result": result}
    )
    sender.start()
    log = EventLog(db)
    deadline = time.monotonic() + 30
    while log.count() < 1_000 and time.monotonic() < deadline:
        time.sleep(0.01)
    process.kill()
    process.wait()
    acknowledged_at_kill = result.acknowledged_so_far()
    stored_at_kill = {event.raw_body: event.id for event in log.read_after(0, limit=10_000)}
    assert 1_000 <= len(stored_at_kill) < len(deliveries), "the kill did not land mid-burst"
    time.sleep(0.3)
    restarted = start_receiver(db, port, SECRET, log_file=process_log)
    try:
        sender.join(timeout=90)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=20)
    assert result.failures == []
    assert result.attempts > result.sent, "no delivery was retried across the restart"
    assert_complete_and_ordered(log, deliveries, result)
    assert len(acknowledged_at_kill) >= 900
    for body, event_id in acknowledged_at_kill.items():
        assert stored_at_kill[body] == event_id, "an acknowledged event was lost in the kill"
    for body, event_id in stored_at_kill.items():
        assert result.acknowledged[body] == event_id
