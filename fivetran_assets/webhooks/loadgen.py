"""Signed Fivetran-shaped deliveries in bulk: the receiver's load tests and benchmark.

Each connection's events are sent in order by one sender, which waits for each answer before the
next and, like Fivetran, retries a delivery that got no 2xx (connection refused while the
receiver restarts, 503) until a deadline. So "none lost and order kept per connection" can be
checked against the log afterwards.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from fivetran_assets.webhooks.signature import SIGNATURE_HEADER, sign


@dataclass(frozen=True)
class Delivery:
    """One event to deliver: its connection, its position in that connection's stream, the body."""

    connection_id: str
    seq: int
    body: bytes


@dataclass
class BurstResult:
    """What a burst achieved; `acknowledged` maps a body to the event id the receiver returned."""

    sent: int = 0
    attempts: int = 0
    seconds: float = 0.0
    acknowledged: dict[bytes, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def acknowledged_so_far(self) -> dict[bytes, int]:
        """A consistent copy of `acknowledged`, safe to take while the burst is running."""
        with self.lock:
            return dict(self.acknowledged)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


def sync_end_deliveries(
    count: int, *, connections: int = 64, start: datetime | None = None
) -> list[Delivery]:
    """`count` distinct `sync_end` bodies spread round-robin over `connections` connections."""
    origin = start or datetime(2026, 5, 22, tzinfo=UTC)
    deliveries = []
    for n in range(count):
        connection = f"conn_{n % connections:04d}"
        created = origin + timedelta(milliseconds=n)
        payload = {
            "event": "sync_end",
            "created": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "connector_type": "postgres",
            "connector_id": connection,
            "connector_name": f"db_{n % connections:04d}",
            "sync_id": f"sync-{n:08d}",
            "destination_group_id": "group_one",
            "data": {"status": "SUCCESSFUL"},
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        deliveries.append(Delivery(connection, n // connections, body))
    return deliveries


def send_burst(
    url: str,
    secret: str,
    deliveries: Sequence[Delivery],
    *,
    senders: int = 8,
    deadline: float = 120.0,
    result: BurstResult | None = None,
) -> BurstResult:
    """Deliver everything from `senders` threads, one connection per thread at a time, in order.

    Pass `result` to watch progress from another thread while the burst runs.
    """
    lanes: list[list[Delivery]] = [[] for _ in range(senders)]
    lane_of: dict[str, int] = {}
    for delivery in deliveries:
        lane = lane_of.setdefault(delivery.connection_id, len(lane_of) % senders)
        lanes[lane].append(delivery)
    result = result if result is not None else BurstResult()
    stop_at = time.monotonic() + deadline
    started = time.perf_counter()
    threads = [
        threading.Thread(target=_sender, args=(url, secret, lane, result, stop_at))
        for lane in lanes
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


def _sender(
    url: str,
    secret: str,
    lane: list[Delivery],
    result: BurstResult,
    stop_at: float,
) -> None:
    parts = urlsplit(url)
    conn: http.client.HTTPConnection | None = None
    for delivery in lane:
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, delivery.body),
        }
        attempts = 0
        began = time.perf_counter()
        while True:
            attempts += 1
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                conn.request("POST", parts.path, body=delivery.body, headers=headers)
                response = conn.getresponse()
                answer = response.read()
                if response.status == 200:
                    event_id = json.loads(answer)["id"]
                    break
                error = f"HTTP {response.status}: {answer[:200]!r}"
            except (OSError, http.client.HTTPException) as exc:
                error = f"{type(exc).__name__}: {exc}"
                if conn is not None:
                    conn.close()
                conn = None
            if time.monotonic() > stop_at:
                with result.lock:
                    result.failures.append(f"{delivery.connection_id}#{delivery.seq}: {error}")
                event_id = None
                break
            time.sleep(min(0.02 * attempts, 0.5))
        with result.lock:
            result.attempts += attempts
            if event_id is not None:
                result.latencies.append(time.perf_counter() - began)
                result.sent += 1
                result.acknowledged[delivery.body] = event_id
    if conn is not None:
        conn.close()
