"""A client-side rate limiter shared by every thread (and client) of a process for one account.

Fivetran counts requests per account over a rolling hour (20,000 on paid plans) and caps
connection creates (20 a minute, 100 an hour). Past a limit it answers 429 and the run stalls for
the `Retry-After`; a run that paces itself never gets there. The limiter is a token bucket whose
tokens come back exactly one window after they were spent, which is what keeps a rolling-window
server from ever seeing more than its budget (a bucket that refills at a constant rate would let
a full bucket plus a window's refill through). After a 429 every thread waits, not just the one
that got it.

This limiter is per process. Several processes of one deployment share one budget through
`fivetran_assets.state.ratelimit.SharedRateLimiter`, which keeps the same windows in a database;
the transport takes either (`Limiter`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Protocol

logger = logging.getLogger("fivetran_assets.fivetran")

HOUR = 3600.0
MINUTE = 60.0


@dataclass(frozen=True)
class RateBudget:
    """How much of the account's API budget this process may spend.

    `time_scale` shortens every window (a local Fivetran running at 60x has one-minute hours);
    `margin_seconds` is added to each window (in real seconds) so a request that reached the
    server late still leaves its window before the token it freed is spent again. By default it
    is 1 s against real time and 0.1 s against a scaled clock, where a whole second would be ten
    Fivetran minutes at 600x.
    """

    requests_per_hour: int = 20_000
    creates_per_minute: int = 20
    creates_per_hour: int = 100
    time_scale: float = 1.0
    margin_seconds: float | None = None

    def __post_init__(self) -> None:
        for name in ("requests_per_hour", "creates_per_minute", "creates_per_hour"):
            if getattr(self, name) < 1:
                raise ValueError(f"RateBudget.{name} must be at least 1, got {getattr(self, name)}")
        if self.time_scale <= 0:
            raise ValueError(f"RateBudget.time_scale must be positive, got {self.time_scale}")
        if self.margin_seconds is None:
            object.__setattr__(self, "margin_seconds", 1.0 if self.time_scale == 1 else 0.1)
        elif self.margin_seconds < 0:
            raise ValueError(f"RateBudget.margin_seconds must be >= 0, got {self.margin_seconds}")


class Limiter(Protocol):
    """What the transport needs from a rate limiter, in one process or shared by many."""

    budget: RateBudget

    def acquire(self, *, create: bool = False) -> float:
        """Wait until the budget allows a request (and a connection create); seconds waited."""
        ...

    def pause_for(self, seconds: float) -> None:
        """Hold every caller for `seconds` (a 429 said to back off)."""
        ...

    def spending(self, *, create: bool = False) -> AbstractContextManager[float]:
        """`acquire` for the request the `with` block sends (a shared limiter counts the spend
        from when the answer came back, so a request the network delivered late still leaves
        the server's window before its token is spent again)."""
        ...


def account_fingerprint(base_url: str, api_key: str) -> str:
    """Names one Fivetran account at one API root without holding its key: a SHA-256 prefix."""
    return hashlib.sha256(f"{base_url.rstrip('/')}\n{api_key}".encode()).hexdigest()[:32]


class _Window:
    """The last `limit` spends within `seconds`; a spend leaves it `seconds` after it happened."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._spent: deque[float] = deque()

    def wait(self, now: float) -> float:
        while self._spent and self._spent[0] + self.seconds <= now:
            self._spent.popleft()
        if len(self._spent) < self.limit:
            return 0.0
        return self._spent[0] + self.seconds - now

    def spend(self, now: float) -> None:
        self._spent.append(now)


class RateLimiter:
    """Blocks callers until the budget allows another request; safe to share across threads."""

    def __init__(
        self,
        budget: RateBudget,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.budget = budget
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        scale, margin = budget.time_scale, budget.margin_seconds or 0.0
        self._requests = _Window(budget.requests_per_hour, HOUR / scale + margin)
        self._creates = (
            _Window(budget.creates_per_minute, MINUTE / scale + margin),
            _Window(budget.creates_per_hour, HOUR / scale + margin),
        )
        self._paused_until = 0.0

    def acquire(self, *, create: bool = False) -> float:
        """Wait for a token (and a create token when `create`), spend it; return seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                windows = (self._requests, *self._creates) if create else (self._requests,)
                wait = max(self._paused_until - now, *(w.wait(now) for w in windows))
                if wait <= 0:
                    for window in windows:
                        window.spend(now)
                    return waited
            level = logging.INFO if wait >= 1.0 else logging.DEBUG
            logger.log(level, "rate limiter: waiting %.2f s for API budget", wait)
            self._sleep(wait)
            waited += wait

    @contextmanager
    def spending(self, *, create: bool = False) -> Iterator[float]:
        """`acquire`, for a `with` block around the request (the margin covers its delivery)."""
        yield self.acquire(create=create)

    def pause_for(self, seconds: float) -> None:
        """Hold every caller for `seconds` (after a 429, the server told us to back off)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)


_shared: dict[tuple[str, str, RateBudget], RateLimiter] = {}
_shared_lock = threading.Lock()


def shared_limiter(base_url: str, api_key: str, budget: RateBudget) -> RateLimiter:
    """The process-wide limiter for this account and budget, created on first use.

    Keyed by a fingerprint of the key, never the key itself, so the registry holds no secret.
    """
    key = (base_url, account_fingerprint(base_url, api_key), budget)
    with _shared_lock:
        limiter = _shared.get(key)
        if limiter is None:
            limiter = _shared[key] = RateLimiter(budget)
        return limiter
