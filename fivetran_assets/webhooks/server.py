"""Running the receiver: in the foreground for the CLI, or in a thread for tests and the demo.

Both take the signing secrets as plain values: where they come from (environment variables today,
the estate config's webhook secret references later) is the caller's business, see
`fivetran_assets.webhooks.cli.secrets_from_env`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import uvicorn

from fivetran_assets.serving import ThreadedServer
from fivetran_assets.state.database import DatabaseURL
from fivetran_assets.webhooks.app import DEFAULT_PATH, create_app
from fivetran_assets.webhooks.store import DEFAULT_RETENTION, EventLog

logger = logging.getLogger("fivetran_assets.webhooks")


def run_receiver(
    secrets: Sequence[str],
    *,
    db: str | Path | DatabaseURL,
    host: str = "127.0.0.1",
    port: int = 8766,
    path: str = DEFAULT_PATH,
    retention: timedelta = DEFAULT_RETENTION,
    access_log: bool = False,
) -> None:
    """Serve the receiver until SIGINT/SIGTERM; the event log is closed (flushed) on the way out.

    The log is opened (and its tables created or migrated) before the port is bound, so a
    database that cannot be reached stops the receiver here instead of failing every delivery.
    """
    with EventLog(db, retention=retention) as log:
        app = create_app(secrets=secrets, log=log, path=path)
        logger.info(
            "webhook receiver on http://%s:%d%s, event log %s, %d secret(s)",
            host,
            port,
            path,
            log.location,
            len(secrets),
        )
        config = uvicorn.Config(
            app, host=host, port=port, access_log=access_log, log_level="info", lifespan="on"
        )
        uvicorn.Server(config).run()


class ReceiverServer:
    """The receiver on a free loopback port in a background thread; a context manager.

    `url` is the base URL, `webhook_url` the endpoint to register with Fivetran, `log` the event
    log it writes (open it again by URL from another process to read it).
    """

    def __init__(
        self,
        *,
        db: str | Path | DatabaseURL,
        secrets: Sequence[str],
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = DEFAULT_PATH,
        retention: timedelta = DEFAULT_RETENTION,
        startup_timeout: float = 10.0,
    ) -> None:
        self.log = EventLog(db, retention=retention)
        self._app = create_app(secrets=secrets, log=self.log, path=path)
        self._host = host
        self._port = port
        self._path = path
        self._startup_timeout = startup_timeout
        self._server: ThreadedServer | None = None
        self.url = ""

    def __repr__(self) -> str:
        return f"ReceiverServer(url={self.url!r}, log={self.log!r})"

    @property
    def webhook_url(self) -> str:
        return self.url + self._path

    def start(self) -> ReceiverServer:
        self._server = ThreadedServer(
            host=self._host,
            port=self._port,
            name="webhook-receiver",
            lifespan="on",
            startup_timeout=self._startup_timeout,
        )
        self.url = self._server.start(self._app)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self.log.close()

    def __enter__(self) -> ReceiverServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
