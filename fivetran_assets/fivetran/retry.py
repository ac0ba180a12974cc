"""Retry settings; the decisions themselves are `Transport._should_retry` and `_sleep_time`.

The rules follow from what each failure says about the request:
- 429: Fivetran did not execute it; any method may repeat after `Retry-After`.
- 5xx, timeouts, dropped connections: it may have been executed. GET, PATCH and DELETE are
  idempotent, so repeating is safe. A POST is not: a create that may have happened must be
  re-read by the caller, never sent twice.
- A connection that was never established (refused, connect timeout) sent nothing; any method
  may repeat.
Backoff is exponential with full jitter and a cap; the random source is injectable for tests.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PATCH", "DELETE"})


@dataclass(frozen=True)
class RetryPolicy:
    """`max_retries` repeats after the first attempt; waits of `backoff_base * 2**n`, jittered.

    `max_retry_after` bounds how long a 429 may make us wait before giving up instead.
    """

    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_retry_after: float = 3600.0
    random: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.backoff_base < 0 or self.backoff_cap < 0:
            raise ValueError("backoff_base and backoff_cap must be >= 0")
