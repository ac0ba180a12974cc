"""Benchmark: webhook receiver throughput with durable commits, on loopback.

Runs `fivetran-assets webhooks serve` in its own process (as in production) and sends signed
`sync_end` deliveries from 8 concurrent senders, each waiting for its 200 before the next (the
way Fivetran delivers). Every 200 means the event was committed with `synchronous=FULL`.
Afterwards it checks that the log holds every event exactly once, in order per connection.

    python bench/webhook_receiver.py --size tiny|full [--json PATH]

Target: >= 500 events/s. Prints events/s, the ratio to the target, latency percentiles and the
peak RSS of the receiver and of this load generator.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
            receiver_peak_kib = _peak_rss_kib(receiver.pid)
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
        "receiver_peak_rss_mb": round(receiver_peak_kib / 1024, 1),
        "loadgen_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "durable": "WAL, synchronous=FULL, committed before each 200 (group commit)",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    figures = run(args.size, senders=args.senders)
    for key, value in figures.items():
        print(f"{key:>26}: {value}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    ok = (
        figures["lost"] == 0
        and figures["in_order_per_connection"]
        and figures["events_per_second"] >= TARGET_EVENTS_PER_SECOND
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


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


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
