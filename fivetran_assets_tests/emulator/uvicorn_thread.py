"""Run an ASGI app under a real uvicorn server in a background thread, for middleware tests.

Middleware behaviour that matters to clients (headers, dropped connections) only shows on a real
socket, so these tests use uvicorn on a free loopback port rather than an in-process transport.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fivetran_assets.serving import ThreadedServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(app: Any, *, http: str = "auto") -> Iterator[str]:
    """Serve ``app`` until the block exits; yields its base URL."""
    server = ThreadedServer(name="uvicorn-test", http=http)
    try:
        yield server.start(app)
    finally:
        server.stop()
