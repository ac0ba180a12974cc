"""Run the local Fivetran: `EmulatorServer` (uvicorn in a background thread, for tests and the
demo) and `serve` (the foreground server behind `fivetran-assets emulator serve`)."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from fivetran_assets.emulator.app import build_app
from fivetran_assets.emulator.context import Emulator, Settings
from fivetran_assets.emulator.faults import FaultInjector, RequestLog
from fivetran_assets.emulator.ratelimit import RateLimits
from fivetran_assets.serving import ThreadedServer


class EmulatorServer:
    """A local Fivetran on ``host:port`` (a free port by default) in a background thread.

    Use as a context manager; ``stop()`` shuts uvicorn down, waits for running syncs to stop and
    closes the state file, so a new server on the same ``state_dir`` sees everything.
    """

    def __init__(
        self,
        *,
        state_dir: Path | str,
        api_key: str = "local_key",
        api_secret: str = "local_secret",
        time_scale: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        default_sync_seconds: float = 0.0,
        reschedule_seconds: float = 900.0,
        sync_workers: int = 4,
        rate_limits: RateLimits | None = None,
        dataplane: Any = None,
    ) -> None:
        self.settings = Settings(
            state_dir=Path(state_dir),
            api_key=api_key,
            api_secret=api_secret,
            time_scale=time_scale,
            default_sync_seconds=default_sync_seconds,
            reschedule_seconds=reschedule_seconds,
            sync_workers=sync_workers,
            rate_limits=rate_limits or RateLimits(),
        )
        self.host = host
        self._server: ThreadedServer | None = ThreadedServer(host=host, port=port, name="emulator")
        self.port = self._server.port
        self._dataplane = dataplane
        self.emulator: Emulator | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_key(self) -> str:
        return self.settings.api_key

    @property
    def api_secret(self) -> str:
        return self.settings.api_secret

    @property
    def auth(self) -> tuple[str, str]:
        return (self.settings.api_key, self.settings.api_secret)

    def __repr__(self) -> str:
        return f"EmulatorServer(base_url={self.base_url!r}, api_key={self.api_key!r})"

    def start(self) -> EmulatorServer:
        self.emulator = Emulator(self.settings, dataplane=self._dataplane)
        self.faults = FaultInjector()
        self.request_log = RequestLog()
        self.emulator.sender.faults = self.faults.match
        app = build_app(self.emulator, faults=self.faults, request_log=self.request_log)
        self.app = app
        self._server = self._server or ThreadedServer(
            host=self.host, port=self.port, name="emulator"
        )
        try:
            self._server.start(app)
        except RuntimeError:
            self.emulator.stop()
            raise RuntimeError(f"The local Fivetran did not start on {self.base_url}") from None
        self.emulator.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self.emulator is not None:
            self.emulator.stop()
        self._server = self.emulator = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve(settings: Settings, *, host: str, port: int, access_log: bool = False) -> None:
    """Serve in the foreground until interrupted (the CLI)."""
    emu = Emulator(settings)
    faults = FaultInjector()
    emu.sender.faults = faults.match
    app = build_app(emu, faults=faults, request_log=RequestLog())
    emu.start()
    try:
        uvicorn.run(
            app, host=host, port=port, log_level="info", lifespan="off", access_log=access_log
        )
    finally:
        emu.stop()
