"""Run an ASGI app under a real uvicorn server in a background thread, for middleware tests.

Middleware behaviour that matters to clients (headers, dropped connections) only shows on a real
socket, so these tests use uvicorn on a free loopback port rather than an in-process transport.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(app: Any, *, http: str = "auto") -> Iterator[str]:
    """Serve ``app`` until the block exits; yields its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), http=http, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(10)
