"""Benchmark: webhook receiver throughput with durable commits, on loopback.

Runs `fivetran-assets webhooks serve` in its own process (as in production) and sends signed
`sync_end` deliveries from 8 concurrent senders, each waiting for its 200 before the next (the
way Fivetran delivers). Every 200 means the event was committed with `synchronous=FULL`.
Afterwards it checks that the log holds every event exactly once, in order per connection.

    python -m bench.webhook_receiver --size tiny|full [--senders N] [--json PATH]

Target: >= 500 events/s. Reports events/s against the target, latency percentiles and the peak
RSS of the receiver and of this load generator. A lost or reordered event is a bug, not a slow
run: the benchmark then exits 1.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

from bench.harness import Figure, at_least, finish, parser, pid_peak_rss_mb, self_peak_rss_mb
from fivetran_assets.webhooks.loadgen import send_burst, sync_end_deliveries
from fivetran_assets.webhooks.store import EventLog

TARGET_EVENTS_PER_SECOND = 500
SIZES = {"tiny": 1_000, "full": 10_000}
SECRET = "bench-webhook-secret"


def run(size: str, *, senders: int = 8, connections: int = 64) -> dict[str, object]:
    """Run one benchmark and return its figures (also what `--json` writes)."""
    count = SIZES[size]
    with tempfile.TemporaryDirectory(prefix="webhook-bench-") as workdir:
        db = Path(workdir) / "events.sqlite"
        port = _free_port()
        receiver = _start_receiver(db, port, Path(workdir) / "receiver.log")
        try:
            url = f"http://127.0.0.1:{port}/fivetran/webhook"
            deliveries = sync_end_deliveries(count, connections=connections)
            result = send_burst(url, SECRET, deliveries, senders=senders)
            receiver_peak_mb = pid_peak_rss_mb(receiver.pid)
        finally:
            receiver.send_signal(signal.SIGTERM)
            receiver.wait(timeout=30)
        stored = EventLog(db).read_after(0, limit=count + 1)
        ids = {event.raw_body: event.id for event in stored}
        per_connection: dict[str, list[int]] = defaultdict(list)
        for delivery in deliveries:
            per_connection[delivery.connection_id].append(ids.get(delivery.body, -1))
        in_order = all(seq == sorted(seq) for seq in per_connection.values())
        latencies = sorted(result.latencies)
    rate = result.rate
    return {
        "benchmark": "webhook_receiver",
        "size": size,
        "events": count,
        "senders": senders,
        "connections": connections,
        "acknowledged": result.sent,
        "stored": len(stored),
        "lost": count - len(ids),
        "in_order_per_connection": in_order,
        "seconds": round(result.seconds, 3),
        "events_per_second": round(rate, 1),
        "target_events_per_second": TARGET_EVENTS_PER_SECOND,
        "ratio_to_target": round(rate / TARGET_EVENTS_PER_SECOND, 2),
        "latency_ms_p50": round(1000 * statistics.median(latencies), 2) if latencies else None,
        "latency_ms_p99": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 2)
        if latencies
        else None,
        "receiver_peak_rss_mb": receiver_peak_mb,
        "loadgen_peak_rss_mb": self_peak_rss_mb(),
        "durable": "WAL, synchronous=FULL, committed before each 200 (group commit)",
    }


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    cli = parser(__doc__, sizes=sorted(SIZES))
    cli.add_argument("--senders", type=int, default=8)
    args = cli.parse_args(argv)
    details = run(args.size, senders=args.senders)
    figure = Figure(
        "events_per_s",
        f"receiver, {details['events']:,} signed deliveries, {args.senders} senders",
        details["events_per_second"],
        "events/s",
        at_least(TARGET_EVENTS_PER_SECOND),
        peak_rss_mb=details["receiver_peak_rss_mb"],
        note=f"p50 {details['latency_ms_p50']} ms, p99 {details['latency_ms_p99']} ms",
    )
    finish("webhook_receiver", args.size, [figure], json_path=args.json, details=details,
           started=started)  # fmt: skip
    if details["lost"] or not details["in_order_per_connection"]:
        print(
            f"FAIL: {details['lost']} events lost; in order: {details['in_order_per_connection']}"
        )
        return 1
    return 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_receiver(db: Path, port: int, log_file: Path) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).parent / "fivetran-assets"),
        *("webhooks", "serve", "--port", str(port), "--db", str(db)),
    ]
    env = dict(os.environ, FIVETRAN_WEBHOOK_SECRET=SECRET)
    with log_file.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"receiver exited early:\n{log_file.read_text()}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).raise_for_status()
            return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"receiver did not start:\n{log_file.read_text()}")


if __name__ == "__main__":
    sys.exit(main())
