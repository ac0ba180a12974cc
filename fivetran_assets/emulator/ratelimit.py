"""Fivetran's API rate limits, enforced by the local Fivetran.

At scale the API budget, not CPU, is what binds a Fivetran client, so the local Fivetran enforces
the documented limits (rolling windows, in Fivetran time so a time-scaled clock makes an hour pass
quickly) and answers like the real service: 429 ``TooManyRequests`` with ``Retry-After``, and
``X-Rate-Limit`` / ``X-Rate-Limit-Remaining`` on every ``/v1`` answer. Clients are tested against
this, so their back-off is exercised without a real account.
"""

from __future__ import annotations

import json
import math
import re
import threading
from array import array
from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fivetran_assets.emulator.clock import Clock

HOUR = 3600.0
MINUTE = 60.0

_CONNECTION_COLLECTION = re.compile(r"^/v1/(?:connections|connectors)$")
_SETUP_TEST = re.compile(r"^/v1/(?:connections|connectors|destinations)/[^/]+/test$")
_SCHEMA_RELOAD = re.compile(r"^/v1/(?:connections|connectors)/[^/]+/schemas/reload$")
_COLUMN_CONFIG = re.compile(
    r"^/v1/(?:connections|connectors)/[^/]+/schemas/[^/]+/tables/[^/]+/columns/"
)


class Bucket(StrEnum):
    """The budgets a request can count against (one window each)."""

    ACCOUNT = "account requests per hour"
    CREATES_PER_MINUTE = "connection creates per minute"
    CREATES_PER_HOUR = "connection creates per hour"
    SETUP_TESTS_PER_MINUTE = "setup tests per minute"
    SETUP_TESTS_PER_HOUR = "setup tests per hour"
    SOURCE_CALLS_PER_MINUTE = "source calls per minute"
    SOURCE_CALLS_PER_HOUR = "source calls per hour"


@dataclass(frozen=True)
class RateLimits:
    """Limits per rolling window, defaulting to Fivetran's documented values.

    ``account_per_hour``: 20,000 requests per rolling hour on paid plans. Connection creation:
    "no more than 20 connectors in one minute" and "no more than 100 hourly". Setup tests:
    250/min and 2,500/h. Source-touching calls (setup tests, schema reload, column config):
    500/min and 5,000/h. Windows are measured in Fivetran time. ``enabled=False`` admits
    everything (the headers then report the full account budget).
    """

    account_per_hour: int = 20_000
    creates_per_minute: int = 20
    creates_per_hour: int = 100
    setup_tests_per_minute: int = 250
    setup_tests_per_hour: int = 2_500
    source_calls_per_minute: int = 500
    source_calls_per_hour: int = 5_000
    enabled: bool = True

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "enabled":
                if not isinstance(value, bool):
                    raise ValueError(f"RateLimits.enabled must be a bool, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"RateLimits.{f.name} must be a positive integer, got {value!r}")

    def windows(self) -> dict[Bucket, tuple[int, float]]:
        """Each bucket's (limit, window length in Fivetran seconds)."""
        return {
            Bucket.ACCOUNT: (self.account_per_hour, HOUR),
            Bucket.CREATES_PER_MINUTE: (self.creates_per_minute, MINUTE),
            Bucket.CREATES_PER_HOUR: (self.creates_per_hour, HOUR),
            Bucket.SETUP_TESTS_PER_MINUTE: (self.setup_tests_per_minute, MINUTE),
            Bucket.SETUP_TESTS_PER_HOUR: (self.setup_tests_per_hour, HOUR),
            Bucket.SOURCE_CALLS_PER_MINUTE: (self.source_calls_per_minute, MINUTE),
            Bucket.SOURCE_CALLS_PER_HOUR: (self.source_calls_per_hour, HOUR),
        }


@dataclass(frozen=True)
class Admission:
    """The limiter's answer for one request.

    ``limit`` and ``remaining`` describe the account budget (what ``X-Rate-Limit`` reports);
    ``retry_after`` is in real seconds (0 when allowed); ``exceeded`` names the bucket that refused.
    """

    allowed: bool
    retry_after: float
    limit: int
    remaining: int
    exceeded: Bucket | None = None


def classify(method: str, path: str) -> list[Bucket]:
    """The buckets a request counts against; empty for paths outside ``/v1``."""
    if path != "/v1" and not path.startswith("/v1/"):
        return []
    path = path.rstrip("/") or "/"
    method = method.upper()
    buckets = [Bucket.ACCOUNT]
    if method == "POST" and _CONNECTION_COLLECTION.match(path):
        buckets += [Bucket.CREATES_PER_MINUTE, Bucket.CREATES_PER_HOUR]
    if method == "POST" and _SETUP_TEST.match(path):
        buckets += [Bucket.SETUP_TESTS_PER_MINUTE, Bucket.SETUP_TESTS_PER_HOUR]
        buckets += [Bucket.SOURCE_CALLS_PER_MINUTE, Bucket.SOURCE_CALLS_PER_HOUR]
    elif (method == "POST" and _SCHEMA_RELOAD.match(path)) or (
        method == "PATCH" and _COLUMN_CONFIG.match(path)
    ):
        buckets += [Bucket.SOURCE_CALLS_PER_MINUTE, Bucket.SOURCE_CALLS_PER_HOUR]
    return buckets


class _Window:
    """A rolling window of at most ``limit`` admission times, as a ring buffer of doubles.

    Memory is 8 bytes per slot (160 KB at 20,000/h); each admission costs O(1) amortized (expired
    entries are dropped from the front as time passes).
    """

    def __init__(self, limit: int, length: float) -> None:
        self.limit = limit
        self.length = length
        self._times = array("d", bytes(8 * limit))
        self._start = 0
        self._count = 0

    def expire(self, now: float) -> None:
        cutoff = now - self.length
        while self._count and self._times[self._start] <= cutoff:
            self._start = (self._start + 1) % self.limit
            self._count -= 1

    def remaining(self) -> int:
        return self.limit - self._count

    def wait(self, now: float) -> float:
        """Fivetran seconds until a slot frees (0 if one is free now). Call ``expire`` first."""
        if self._count < self.limit:
            return 0.0
        return self._times[self._start] + self.length - now

    def record(self, now: float) -> None:
        self._times[(self._start + self._count) % self.limit] = now
        self._count += 1


class RateLimiter:
    """Thread-safe admission control over all buckets; a refused request consumes no budget."""

    def __init__(self, clock: Clock, limits: RateLimits | None = None) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self.configure(limits or RateLimits())

    @property
    def limits(self) -> RateLimits:
        return self._limits

    def configure(self, limits: RateLimits) -> None:
        """Switch to new limits; every window restarts empty (as does :meth:`reset`)."""
        windows = {
            bucket: _Window(limit, length) for bucket, (limit, length) in limits.windows().items()
        }
        with self._lock:
            self._limits = limits
            self._windows = windows

    def reset(self) -> None:
        """Forget all past requests (a test's fresh start)."""
        self.configure(self._limits)

    def admit(self, method: str, path: str) -> Admission:
        """Count the request against its buckets if all have room; otherwise refuse it."""
        buckets = classify(method, path)
        with self._lock:
            account = self._windows[Bucket.ACCOUNT]
            if not self._limits.enabled or not buckets:
                return Admission(True, 0.0, account.limit, account.remaining())
            now = self.clock.monotonic()
            waits: list[tuple[float, Bucket]] = []
            for bucket in buckets:
                window = self._windows[bucket]
                window.expire(now)
                waits.append((window.wait(now), bucket))
            longest, bucket = max(waits, key=lambda item: item[0])
            if longest > 0:
                real = self.clock.real_seconds(longest)
                return Admission(False, real, account.limit, account.remaining(), bucket)
            for bucket in buckets:
                self._windows[bucket].record(now)
            return Admission(True, 0.0, account.limit, account.remaining())

    def usage(self) -> dict[str, dict[str, float | int]]:
        """Each bucket's limit, window (Fivetran seconds) and remaining budget right now."""
        with self._lock:
            now = self.clock.monotonic()
            usage: dict[str, dict[str, float | int]] = {}
            for bucket, window in self._windows.items():
                window.expire(now)
                usage[bucket.value] = {
                    "limit": window.limit,
                    "window_seconds": window.length,
                    "remaining": window.remaining(),
                }
            return usage


def _retry_after_header(seconds: float) -> int:
    return max(1, math.ceil(seconds))


class RateLimitMiddleware:
    """Pure ASGI middleware enforcing a :class:`RateLimiter` on ``/v1`` paths.

    Pure ASGI (not ``BaseHTTPMiddleware``) so it adds no task or buffering per request and never
    interferes with streaming or with the connection drops of the fault injector.
    """

    def __init__(self, app: Any, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or (path != "/v1" and not path.startswith("/v1/")):
            await self.app(scope, receive, send)
            return
        admission = self.limiter.admit(scope["method"], path)
        budget = [
            (b"x-rate-limit", str(admission.limit).encode()),
            (b"x-rate-limit-remaining", str(admission.remaining).encode()),
        ]
        if not admission.allowed:
            limit = self.limiter.limits.windows()[admission.exceeded or Bucket.ACCOUNT][0]
            await self._refuse(send, admission, limit, budget)
            return

        async def send_with_budget(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *budget]}
            await send(message)

        await self.app(scope, receive, send_with_budget)

    @staticmethod
    async def _refuse(
        send: Any, admission: Admission, limit: int, budget: list[tuple[bytes, bytes]]
    ) -> None:
        retry_after = _retry_after_header(admission.retry_after)
        body = json.dumps(
            {
                "code": "TooManyRequests",
                "message": f"Rate limit exceeded: no more than {limit} {admission.exceeded}. "
                f"Retry after {retry_after} seconds.",
            }
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(retry_after).encode()),
            *budget,
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def rate_limit_routes(limiter: RateLimiter) -> list[Route]:
    """``/_local/rate-limits``: read the budgets, change limits (PATCH), restart windows (DELETE).

    Lets a test shrink a limit on a running local Fivetran to exercise a client's back-off.
    """

    def state() -> JSONResponse:
        return JSONResponse({"limits": asdict(limiter.limits), "usage": limiter.usage()})

    async def read(request: Request) -> JSONResponse:
        return state()

    async def change(request: Request) -> JSONResponse:
        try:
            changes = json.loads(await request.body())
        except ValueError as exc:
            return _invalid(f"Request body is not valid JSON: {exc}")
        if not isinstance(changes, dict):
            return _invalid("Request body must be a JSON object of rate limit fields")
        known = {f.name for f in fields(RateLimits)}
        unknown = sorted(set(changes) - known)
        if unknown:
            return _invalid(f"Unknown rate limit field '{unknown[0]}'; known: {sorted(known)}")
        try:
            limits = replace(limiter.limits, **changes)
        except ValueError as exc:
            return _invalid(str(exc))
        limiter.configure(limits)
        return state()

    async def reset(request: Request) -> JSONResponse:
        limiter.reset()
        return state()

    return [
        Route("/_local/rate-limits", read, methods=["GET"]),
        Route("/_local/rate-limits", change, methods=["PATCH"]),
        Route("/_local/rate-limits", reset, methods=["DELETE"]),
    ]


def _invalid(message: str) -> JSONResponse:
    return JSONResponse({"code": "InvalidInput", "message": message}, status_code=400)
