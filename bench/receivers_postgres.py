"""Benchmark: two webhook receivers sharing one PostgreSQL event log.

Starts a PostgreSQL 15 server with `fsync=on` (every acknowledged event really committed), then
two `fivetran-assets webhooks serve --db postgresql://...` processes on that one log, and sends
signed `sync_end` deliveries from 8 senders split across them (each connection's events through
one receiver, in order, each sender waiting for its 200 as Fivetran does). Afterwards the log
must hold every event exactly once: none lost, none stored twice, every acknowledged id the
stored one.

Baseline: one receiver on the same server (a fresh database), same deliveries and senders, in
the same run: how far a second receiver carries the log.

    python -m bench.receivers_postgres --size tiny|full [--json PATH]

Target (issue 12): >= 1,000 events/s stored, 0 lost, 0 duplicates.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from bench.harness import Figure, at_least, at_most, finish, parser, pid_peak_rss_mb
from bench.webhook_receiver import SECRET, _free_port, _start_receiver
from fivetran_assets.webhooks.loadgen import BurstResult, Delivery, send_burst, sync_end_deliveries
from fivetran_assets.webhooks.store import EventLog
from fivetran_assets_tests.fixtures.postgres import PostgresServer, running_postgres

TARGET_EVENTS_PER_SECOND = 1_000
SIZES = {"tiny": 1_000, "full": 10_000}
SENDERS = 8


def _burst(
    server: PostgresServer, database: str, deliveries: list[Delivery], receivers: int, work: Path
) -> dict[str, object]:
    """Deliver everything through `receivers` receiver processes; check the log afterwards."""
    server.create_database(database)
    url = server.url(database)
    ports = [_free_port() for _ in range(receivers)]
    processes = [
        _start_receiver(url, port, work / f"{database}-{port}.log")  # type: ignore[arg-type]
        for port in ports
    ]
    lanes: list[list[Delivery]] = [[] for _ in range(receivers)]
    for delivery in deliveries:
        lanes[int(delivery.connection_id.rsplit("_", 1)[1]) % receivers].append(delivery)
    results = [BurstResult() for _ in range(receivers)]
    try:
        threads = [
            threading.Thread(
                target=send_burst,
                args=(f"http://127.0.0.1:{port}/fivetran/webhook", SECRET, lane),
                kwargs={"senders": SENDERS // receivers, "result": result, "deadline": 300},
            )
            for port, lane, result in zip(ports, lanes, results, strict=True)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        peaks = [pid_peak_rss_mb(p.pid) for p in processes]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    acknowledged = {body: i for result in results for body, i in result.acknowledged.items()}
    stored = EventLog(url).read_after(0, limit=len(deliveries) + 1)
    ids = {event.raw_body: event.id for event in stored}
    return {
        "receivers": receivers,
        "seconds": round(seconds, 3),
        "events_per_second": round(len(acknowledged) / seconds, 1),
        "acknowledged": len(acknowledged),
        "stored": len(stored),
        "lost": sum(1 for d in deliveries if d.body not in ids),
        "stored_twice": len(stored) - len(ids),
        "redelivered": sum(e.deliveries - 1 for e in stored),
        "acknowledged_as_stored": all(ids.get(body) == i for body, i in acknowledged.items()),
        "failures": [f for result in results for f in result.failures][:5],
        "receiver_peak_rss_mb": max(peaks),
    }


def run(size: str) -> dict[str, object]:
    deliveries = sync_end_deliveries(SIZES[size], connections=64)
    with TemporaryDirectory(prefix="receivers-pg-") as tmp, running_postgres(fsync=True) as server:
        work = Path(tmp)
        two = _burst(server, "events_two", deliveries, 2, work)
        one = _burst(server, "events_one", deliveries, 1, work)
    return {
        "benchmark": "receivers_postgres",
        "size": size,
        "events": len(deliveries),
        "senders": SENDERS,
        "two_receivers": two,
        "one_receiver": one,
        "durable": "PostgreSQL fsync=on, synchronous_commit=on; 200 only after commit",
    }


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    args = parser(__doc__, sizes=sorted(SIZES)).parse_args(argv)
    details = run(args.size)
    two, one = details["two_receivers"], details["one_receiver"]
    figures = [
        Figure(
            "pg_events_per_s",
            f"two receivers on one PostgreSQL log, {details['events']:,} signed events, "
            f"{SENDERS} senders",
            two["events_per_second"],
            "events/s",
            at_least(TARGET_EVENTS_PER_SECOND),
            baseline=one["events_per_second"],
            baseline_name="one receiver on the same server",
            peak_rss_mb=two["receiver_peak_rss_mb"],
        ),
        Figure(
            "pg_lost",
            "events lost (two receivers)",
            two["lost"],
            "events",
            at_most(0),
            peak_rss_mb=two["receiver_peak_rss_mb"],
        ),
        Figure(
            "pg_duplicates",
            "events stored twice (two receivers)",
            two["stored_twice"],
            "events",
            at_most(0),
            peak_rss_mb=two["receiver_peak_rss_mb"],
        ),
    ]
    finish("receivers_postgres", args.size, figures, json_path=args.json, details=details,
           started=started)  # fmt: skip
    wrong = two["lost"] or two["stored_twice"] or not two["acknowledged_as_stored"]
    if wrong:
        print(f"FAIL: {two['lost']} lost, {two['stored_twice']} stored twice, "
              f"acknowledged ids match: {two['acknowledged_as_stored']}")  # fmt: skip
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
