"""`FivetranClient`: the one way this project talks to Fivetran (or the local Fivetran).

Configurable where the incumbent integrations are not: base URL (argument, then
`FIVETRAN_BASE_URL`, then `https://api.fivetran.com`), timeouts, retries, the API budget, legacy
`/v1/connectors` paths, and injectable clock, sleep, jitter and session for tests. The endpoint
methods live in `resources/`, one mixin per API area.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from types import TracebackType

import requests

from fivetran_assets.fivetran.http import PAGE_LIMIT, Timeout, Transport, normalize_base_url
from fivetran_assets.fivetran.ratelimit import (
    Limiter,
    RateBudget,
    RateLimiter,
    account_fingerprint,
    shared_limiter,
)
from fivetran_assets.fivetran.resources.access import AccessMixin
from fivetran_assets.fivetran.resources.connections import ConnectionsMixin
from fivetran_assets.fivetran.resources.destinations import DestinationsMixin, WebhooksMixin
from fivetran_assets.fivetran.resources.governance import GovernanceMixin
from fivetran_assets.fivetran.resources.groups import GroupsMixin
from fivetran_assets.fivetran.resources.schemas import SchemasMixin
from fivetran_assets.fivetran.resources.transformations import TransformationsMixin
from fivetran_assets.fivetran.retry import RetryPolicy

DEFAULT_BASE_URL = "https://api.fivetran.com"
BASE_URL_ENV = "FIVETRAN_BASE_URL"
DEFAULT_TIMEOUT: Timeout = (10.0, 60.0)


def resolve_base_url(base_url: str | None = None) -> str:
    """The API root a client uses: `base_url`, else `$FIVETRAN_BASE_URL`, else Fivetran's."""
    if base_url is not None:
        return normalize_base_url(base_url, source="base_url")
    if os.environ.get(BASE_URL_ENV):
        return normalize_base_url(os.environ[BASE_URL_ENV], source=BASE_URL_ENV)
    return DEFAULT_BASE_URL


class FivetranClient(
    GroupsMixin,
    DestinationsMixin,
    WebhooksMixin,
    ConnectionsMixin,
    SchemasMixin,
    TransformationsMixin,
    AccessMixin,
    GovernanceMixin,
):
    """A Fivetran REST API client for one account.

    `page_size` is the `limit` of list calls (Fivetran's maximum, 1000, spends the fewest calls).
    `rate_budget` paces requests with a limiter shared by every client of this process for the
    same account; None turns pacing off. Pass `rate_limiter` to share one explicitly: the
    project's client builder (`estate.connect.build_client`) passes one shared by every process
    of the deployment; tests pass one with a fake clock. The credentials are kept only inside
    the transport's auth object: they are in no repr, log line or error.
    """

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        base_url: str | None = None,
        timeout: Timeout | float = DEFAULT_TIMEOUT,
        legacy_paths: bool = False,
        page_size: int = PAGE_LIMIT,
        retry: RetryPolicy | None = None,
        rate_budget: RateBudget | None = RateBudget(),  # noqa: B008 - frozen, shared on purpose
        rate_limiter: Limiter | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        for name, value in (("api_key", api_key), ("api_secret", api_secret)):
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"FivetranClient: {name} is empty")
        url = resolve_base_url(base_url)
        if isinstance(timeout, int | float):
            timeout = (float(timeout), float(timeout))
        if not 1 <= page_size <= PAGE_LIMIT:
            raise ValueError(f"page_size must be between 1 and {PAGE_LIMIT}, got {page_size}")
        if len(timeout) != 2 or min(timeout) <= 0:
            raise ValueError(f"timeout must be positive (connect, read) seconds, got {timeout!r}")
        limiter: Limiter | None = rate_limiter
        if limiter is None and rate_budget is not None:
            injected = clock is not time.monotonic or sleep is not time.sleep
            limiter = (
                RateLimiter(rate_budget, clock=clock, sleep=sleep)
                if injected
                else shared_limiter(url, api_key, rate_budget)
            )
        self.base_url = url
        self.account = account_fingerprint(url, api_key)
        self.legacy_paths = legacy_paths
        self._connections = "/v1/connectors" if legacy_paths else "/v1/connections"
        self._http = Transport(
            api_key,
            api_secret,
            base_url=url,
            timeout=(float(timeout[0]), float(timeout[1])),
            retry=retry or RetryPolicy(),
            limiter=limiter,
            clock=clock,
            sleep=sleep,
            session=session,
            page_size=page_size,
        )

    @property
    def rate_limiter(self) -> Limiter | None:
        return self._http.limiter

    def close(self) -> None:
        """Close the HTTP sessions the client made (never an injected one)."""
        self._http.close()

    def __enter__(self) -> FivetranClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        legacy = ", legacy_paths=True" if self.legacy_paths else ""
        return f"FivetranClient(base_url={self.base_url!r}{legacy})"
