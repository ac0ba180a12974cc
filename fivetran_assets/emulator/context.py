"""The running local Fivetran: settings, clock, store, data plane, engines, webhook events.

Routes and engines reach each other only through an `Emulator`, so a test can start several
independent servers in one process.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from fivetran_assets.emulator.clock import Clock
from fivetran_assets.emulator.dataplane import api as dataplane_api
from fivetran_assets.emulator.dataplane.contract import ServiceInfo
from fivetran_assets.emulator.events import Events
from fivetran_assets.emulator.ratelimit import RateLimiter, RateLimits
from fivetran_assets.emulator.store import Store
from fivetran_assets.emulator.webhook_sender import WebhookSender


@dataclass(frozen=True)
class Settings:
    """Server options. Durations are in Fivetran seconds (scaled by ``time_scale``)."""

    state_dir: Path
    api_key: str
    api_secret: str = field(repr=False)
    time_scale: float = 1.0
    default_sync_seconds: float = 0.0
    reschedule_seconds: float = 900.0
    sync_workers: int = 4
    rate_limits: RateLimits = field(default_factory=RateLimits)

    def __post_init__(self) -> None:
        if not self.api_key or not self.api_secret:
            raise ValueError("api_key and api_secret must be non-empty")
        if self.default_sync_seconds < 0:
            raise ValueError(f"default_sync_seconds must be >= 0, got {self.default_sync_seconds}")
        if self.sync_workers < 1:
            raise ValueError(f"sync_workers must be >= 1, got {self.sync_workers}")


class Emulator:
    """Everything one local Fivetran server holds; `start()` the engines, `stop()` them."""

    def __init__(self, settings: Settings, *, dataplane: ModuleType | Any = None) -> None:
        from fivetran_assets.emulator.engine import SyncEngine
        from fivetran_assets.emulator.transforms import TransformEngine

        self.settings = settings
        self.clock = Clock(settings.time_scale)
        self.store = Store(Path(settings.state_dir) / "state.sqlite")
        self.dataplane = dataplane or dataplane_api
        self.limiter = RateLimiter(self.clock, settings.rate_limits)
        self.sender = WebhookSender(self.clock)
        self.events = Events(self.store, self.clock, self.sender)
        self.account_id = self.store.setting("account_id", self.store.new_id())
        self.user_id = self.store.setting("user_id", self.store.new_id())
        self.syncs = SyncEngine(self)
        self.transforms = TransformEngine(self)

    def start(self) -> None:
        self.syncs.start()
        self.transforms.resume_interrupted()

    def stop(self) -> None:
        self.syncs.stop()
        self.transforms.stop()
        self.sender.close()
        self.store.close()

    def source(self, service: str) -> ServiceInfo | None:
        return self.dataplane.SOURCE_SERVICES.get(service)

    def destination_service(self, service: str) -> ServiceInfo | None:
        return self.dataplane.DESTINATION_SERVICES.get(service)

    def source_secrets(self, service: str) -> frozenset[str]:
        info = self.source(service)
        return info.secret_fields if info else frozenset()

    def destination_secrets(self, service: str) -> frozenset[str]:
        info = self.destination_service(service)
        return info.secret_fields if info else frozenset()

    @staticmethod
    def new_salt() -> str:
        return secrets.token_hex(16)
