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

    A 429 is not a failure of the request (it was not executed) and does not use up
    `max_retries`: up to `max_rate_limited` of them in a row are each waited out for their
    `Retry-After`, so an apply outlasts a 429 storm. `max_retry_after` bounds how long one 429
    may make us wait before giving up instead.
    """

    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_retry_after: float = 3600.0
    max_rate_limited: int = 30
    random: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.max_rate_limited < 0:
            raise ValueError("max_retries and max_rate_limited must be >= 0")
        if self.backoff_base < 0 or self.backoff_cap < 0:
            raise ValueError("backoff_base and backoff_cap must be >= 0")
