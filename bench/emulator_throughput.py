"""Throughput and memory of the local Fivetran's API on loopback.

Starts `fivetran-assets emulator serve` in its own process (rate limits off, fresh state), then
measures requests per second for a simple GET (`GET /v1/groups/{id}`) with several keep-alive
client threads, requests per second for connection creates, and the server's resident memory
(RSS) once it holds the target number of connections. Targets: >= 1,000 GETs/s; < 300 MB RSS
for 10,000 connections (at `tiny`, projected linearly from 1,000). The issue sets no peer.

    .venv/bin/python -m bench.emulator_throughput --size tiny   # seconds, 1,000 connections
    .venv/bin/python -m bench.emulator_throughput --size full   # 10,000 connections
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.harness import Figure, at_least, at_most, finish, parser, pid_peak_rss_mb, pid_rss_mb

GET_TARGET = 1000.0
RSS_TARGET_MB = 300.0


@dataclass(frozen=True)
class Size:
    get_seconds: float
    connections: int
    threads: int


SIZES = {"tiny": Size(3.0, 1_000, 4), "full": Size(10.0, 10_000, 4)}
KEY, SECRET = "bench_key", "bench_secret"
AUTH = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Client:
    """A keep-alive HTTP/1.1 connection (http.client is much cheaper per call than requests)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": AUTH, "Content-Type": "application/json"}
        self.conn.request(method, path, body=payload, headers=headers)
        response = self.conn.getresponse()
        return response.status, json.loads(response.read())


def _start_server(port: int, state: Path) -> subprocess.Popen:
    script = Path(sys.executable).parent / "fivetran-assets"
    cmd = [
        str(script),
        "emulator",
        "serve",
        "--port",
        str(port),
        "--state",
        str(state),
        "--api-key",
        KEY,
        "--api-secret",
        SECRET,
        "--no-rate-limits",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            Client(port).call("GET", "/v1/groups")
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the local Fivetran did not start")


def measure_gets(port: int, path: str, seconds: float, threads: int) -> float:
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def work(n: int) -> None:
        client = Client(port)
        while time.monotonic() < stop:
            status, _ = client.call("GET", path)
            assert status == 200, status
            counts[n] += 1

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.monotonic() - started)


def measure_creates(port: int, group_id: str, source: Path, count: int, threads: int) -> float:
    per_thread = count // threads

    def work(n: int) -> None:
        client = Client(port)
        for i in range(per_thread):
            body = {
                "group_id": group_id,
                "service": "sqlite",
                "paused": True,
                "run_setup_tests": False,
                "config": {"database": str(source), "schema_prefix": f"c_{n}_{i}"},
            }
            status, answer = client.call("POST", "/v1/connections", body)
            assert status == 201, answer

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return per_thread * threads / (time.monotonic() - started)


def main() -> None:
    started = time.perf_counter()
    args = parser(__doc__).parse_args()
    size = SIZES[args.size]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source.db"
        sqlite3.connect(source).execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY)"
        ).connection.close()
        port = _free_port()
        server = _start_server(port, Path(tmp) / "state")
        try:
            client = Client(port)
            _, group = client.call("POST", "/v1/groups", {"name": "bench"})
            group_id = group["data"]["id"]
            idle_mb = pid_rss_mb(server.pid)
            gets = measure_gets(port, f"/v1/groups/{group_id}", size.get_seconds, size.threads)
            creates = measure_creates(port, group_id, source, size.connections, size.threads)
            held_mb = pid_rss_mb(server.pid)
            conn_gets = measure_gets(
                port, "/v1/connections?limit=1", size.get_seconds / 2, size.threads
            )
            peak_mb = pid_peak_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    projected = idle_mb + (held_mb - idle_mb) * 10_000 / size.connections
    how = (
        "measured"
        if size.connections == 10_000
        else f"projected linearly from {size.connections:,} connections ({held_mb:.0f} MB)"
    )
    figures = [
        Figure("get_rps", "GET /v1/groups/{id}", gets, "req/s", at_least(GET_TARGET),
               peak_rss_mb=peak_mb, note=f"{size.threads} keep-alive client threads"),
        Figure("list_rps", "GET /v1/connections?limit=1 (connections held)", conn_gets,
               "req/s", peak_rss_mb=peak_mb),
        Figure("create_rps", "POST /v1/connections", creates, "req/s", peak_rss_mb=peak_mb),
        Figure("rss_10k_connections", "server RSS holding 10,000 connections", projected,
               "MB", at_most(RSS_TARGET_MB), peak_rss_mb=peak_mb,
               note=f"{how}; idle {idle_mb:.0f} MB"),
    ]  # fmt: skip
    details = {"idle_mb": idle_mb, "held_mb": held_mb, "connections": size.connections}
    finish("emulator_throughput", args.size, figures, json_path=args.json, details=details,
           started=started)  # fmt: skip


if __name__ == "__main__":
    main()
