"""Serve an ASGI app with uvicorn in a background thread: in-process servers for tests and tools.

The listening socket is bound when the server is made, so `port=0` picks a free port with no race
between probing for one and binding it, and `url` is known before `start()`.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


class ThreadedServer:
    """An ASGI app served on ``host:port`` by uvicorn in a daemon thread, from `start(app)` until
    `stop()`."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "uvicorn",
        lifespan: str = "off",
        http: str = "auto",
        startup_timeout: float = 15.0,
    ) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        self._name = name
        self._lifespan = lifespan
        self._http = http
        self._startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, app: Any) -> str:
        """Serve `app` and wait until uvicorn accepts connections; returns `url`."""
        config = uvicorn.Config(
            app, access_log=False, log_level="warning", lifespan=self._lifespan, http=self._http
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=self._name,
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self._name} did not start on {self.url}")
            time.sleep(0.01)
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._socket.close()
