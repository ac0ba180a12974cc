"""`fivetran-assets webhooks serve` in a subprocess, for tests that must kill it for real."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_receiver(
    db: Path, port: int, secret: str, *, log_file: Path, timeout: float = 20.0
) -> subprocess.Popen:
    """Start the CLI receiver and wait until /healthz answers; its output goes to `log_file`."""
    env = dict(os.environ, FIVETRAN_WEBHOOK_SECRET=secret)
    with log_file.open("ab") as out:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "fivetran-assets"),
                "webhooks",
                "serve",
                "--port",
                str(port),
                "--db",
                str(db),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"receiver exited with {process.returncode}: {log_file.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"receiver did not answer on port {port}: {log_file.read_text()}")
