"""The HTTP layer under the Fivetran client: sessions, auth, headers, retries, pacing, pages.

Every request goes through `Transport.request`, which waits for API budget, sends, maps a
failure to its typed error, and decides with `_should_retry` / `_sleep_time` whether and when to
send again (rules in `retry.py`). Logs name the method, path, status and attempt, never
credentials, query values or bodies.

A plan runs dozens of reads at once, so each concurrent caller borrows its own
`requests.Session` (with its own keep-alive connection) from a pool instead of contending for
one. The environment's proxy and CA-bundle settings are resolved once per transport: with
`trust_env` on, requests rescans the whole environment on every call.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.auth import HTTPBasicAuth
from requests.utils import get_environ_proxies

from fivetran_assets import __version__
from fivetran_assets.fivetran.errors import (
    FivetranConnectionError,
    FivetranError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    UnexpectedResponseError,
    error_from_response,
)
from fivetran_assets.fivetran.ratelimit import Limiter
from fivetran_assets.fivetran.retry import IDEMPOTENT_METHODS, RetryPolicy

logger = logging.getLogger("fivetran_assets.fivetran")

ACCEPT_V2 = "application/json;version=2"
ACCEPT_V1 = "application/json"
USER_AGENT = f"fivetran-assets/{__version__}"
ACCEPT_ENCODING = "gzip, deflate"
PAGE_LIMIT = 1000
_SECRET_KEY_PARTS = (
    "password",
    "passphrase",
    "secret",
    "token",
    "private_key",
    "api_key",
    "credential",
)
_UNSENT = (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)

Timeout = tuple[float, float]


def normalize_base_url(value: str, *, source: str) -> str:
    """`value` without a trailing slash, or a ValueError naming `source` and what is wrong."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{source}: expected an http(s) URL like https://api.fivetran.com")
    if parts.username or parts.password:
        raise ValueError(f"{source}: must not embed credentials; pass api_key/api_secret")
    if parts.query or parts.fragment:
        raise ValueError(f"{source}: must not have a query or fragment")
    return value.strip().rstrip("/")


def _body_secrets(body: object) -> list[str]:
    """String values under secret-looking keys, so an error that echoes them can be redacted."""
    found: list[str] = []
    if isinstance(body, Mapping):
        for key, value in body.items():
            if isinstance(value, str) and any(p in str(key).lower() for p in _SECRET_KEY_PARTS):
                found.append(value)
            else:
                found.extend(_body_secrets(value))
    elif isinstance(body, list):
        for item in body:
            found.extend(_body_secrets(item))
    return found


def _never_sent(exc: BaseException) -> bool:
    """True when the connection was never established, so the request cannot have run."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, _UNSENT):
            return True
        reason = getattr(current, "reason", None)
        nested = [a for a in (*current.args, reason) if isinstance(a, BaseException)]
        todo.extend(nested)
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return False


def environment_settings(base_url: str) -> tuple[dict[str, str], bool | str]:
    """The proxies and TLS verification requests would take from the environment for
    `base_url` (`HTTPS_PROXY`, `NO_PROXY`, `REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`). A CA bundle
    only matters over https; over plain http it is left out, since requests checks a bundle
    path on disk on every call (a system call per request, under 32 read workers)."""
    proxies = get_environ_proxies(base_url)
    verify: bool | str = True
    if urlsplit(base_url).scheme == "https":
        verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return dict(proxies), verify


class SessionPool:
    """`requests.Session`s lent one caller at a time: one per concurrent worker, kept for reuse.

    Each session holds one keep-alive connection, so N workers reuse N connections across calls
    and across plans. Sessions are built with the environment's settings already resolved
    (`trust_env` off). An injected session is lent to every caller (tests script it).
    """

    def __init__(self, base_url: str, *, injected: requests.Session | None = None) -> None:
        self._injected = injected
        self._idle: list[requests.Session] = []
        self._made: list[requests.Session] = []
        self._lock = threading.Lock()
        self._proxies, self._verify = (
            environment_settings(base_url) if injected is None else ({}, True)
        )

    def _new(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        session.proxies.update(self._proxies)
        session.verify = self._verify
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    @contextmanager
    def session(self) -> Iterator[requests.Session]:
        if self._injected is not None:
            yield self._injected
            return
        with self._lock:
            session = self._idle.pop() if self._idle else None
        if session is None:
            session = self._new()
            with self._lock:
                self._made.append(session)
        try:
            yield session
        finally:
            with self._lock:
                self._idle.append(session)

    @property
    def size(self) -> int:
        """How many sessions have been made (the most callers ever in flight at once)."""
        return len(self._made)

    def close(self) -> None:
        """Close the sessions this pool made (never an injected one)."""
        with self._lock:
            made, self._made, self._idle = self._made, [], []
        for session in made:
            session.close()


class Transport:
    """Sends requests to one Fivetran account; thread-safe (each caller borrows a session)."""

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        base_url: str,
        timeout: Timeout,
        retry: RetryPolicy,
        limiter: Limiter | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
        page_size: int = PAGE_LIMIT,
    ) -> None:
        self.base_url = base_url
        self.page_size = page_size
        self.timeout = timeout
        self.retry = retry
        self.limiter = limiter
        self._auth = HTTPBasicAuth(api_key, api_secret)
        self._secrets = (api_key, api_secret)
        self._clock = clock
        self._sleep = sleep
        self.sessions = SessionPool(base_url, injected=session)

    def close(self) -> None:
        self.sessions.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        versioned: bool = False,
        timeout: Timeout | None = None,
    ) -> Mapping[str, Any]:
        """Send `method path` until it succeeds or may not be repeated; return the JSON envelope.

        POST and PATCH always carry a JSON body (`{}` when none is given): Fivetran answers 415
        to a body-less request with the wrong content type.
        """
        method = method.upper()
        if method in ("POST", "PATCH") and body is None:
            body = {}
        secrets = (*self._secrets, *_body_secrets(body))
        maybe_executed = False
        attempt = 0
        rate_limited = 0
        while True:
            attempt += 1
            try:
                with self._paced(method, path):
                    return self._send(
                        method, path, params, body, versioned, timeout or self.timeout, attempt,
                        secrets,
                    )  # fmt: skip
            except FivetranError as error:
                if isinstance(error, NotFoundError) and method == "DELETE" and maybe_executed:
                    logger.info("%s %s: gone after an unclear attempt; deleted", method, path)
                    return {}
                if isinstance(error, RateLimitedError):
                    rate_limited += 1
                if not self._should_retry(method, error, attempt - rate_limited, rate_limited):
                    raise
                maybe_executed = maybe_executed or self._maybe_executed(error)
                delay = self._sleep_time(error, attempt)
                if isinstance(error, RateLimitedError) and self.limiter is not None:
                    self.limiter.pause_for(delay)
                logger.warning(
                    "%s %s: %s; retrying in %.2f s (attempt %d)",
                    method,
                    path,
                    _describe(error),
                    delay,
                    attempt + 1,
                )
                self._sleep(delay)

    def data(self, method: str, path: str, **kwargs: Any) -> Mapping[str, Any]:
        """The envelope's `data` object, or an error when a 2xx answer lacks one."""
        envelope = self.request(method, path, **kwargs)
        data = envelope.get("data")
        if not isinstance(data, Mapping):
            raise UnexpectedResponseError(
                "response has no 'data' object", method=method.upper(), path=path
            )
        return data

    def paginate(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        versioned: bool = False,
    ) -> Iterator[Mapping[str, Any]]:
        """Every item of a list endpoint, following `next_cursor` (or the older `nextCursor`)."""
        cursor: str | None = None
        while True:
            query = {k: v for k, v in (params or {}).items() if v is not None}
            query["limit"] = self.page_size
            if cursor:
                query["cursor"] = cursor
            data = self.data("GET", path, params=query, versioned=versioned)
            items = data.get("items")
            if not isinstance(items, list):
                raise UnexpectedResponseError("list has no 'items' array", method="GET", path=path)
            yield from items
            next_cursor = data.get("next_cursor") or data.get("nextCursor")
            if not next_cursor:
                return
            if next_cursor == cursor:
                raise UnexpectedResponseError(
                    "pagination cursor did not advance", method="GET", path=path
                )
            cursor = str(next_cursor)

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Mapping[str, Any] | None,
        versioned: bool,
        timeout: Timeout,
        attempt: int,
        secrets: tuple[str, ...],
    ) -> Mapping[str, Any]:
        headers = {
            "Accept": ACCEPT_V2 if versioned else ACCEPT_V1,
            "Accept-Encoding": ACCEPT_ENCODING,
            "User-Agent": USER_AGENT,
        }
        started = self._clock()
        try:
            # Prepared here and sent with `Session.send`: `Session.request` would merge session
            # defaults, cookies and hooks on every call, a third of the client's CPU per call.
            prepared = requests.PreparedRequest()
            prepared.prepare(
                method=method,
                url=self.base_url + path,
                headers=headers,
                params=params,
                json=body,
                auth=self._auth,
            )
            with self.sessions.session() as session:
                response = session.send(prepared, timeout=timeout)
        except requests.RequestException as exc:
            unsent = _never_sent(exc)
            kind = "could not connect" if unsent else "no answer"
            logger.debug("%s %s -> %s (attempt %d)", method, path, type(exc).__name__, attempt)
            raise FivetranConnectionError(
                f"{kind} to {self.base_url} ({type(exc).__name__})",
                ambiguous=not unsent,
                method=method,
                path=path,
            ) from None
        elapsed_ms = (self._clock() - started) * 1000
        logger.debug(
            "%s %s -> %d (attempt %d, %.0f ms)",
            method,
            path,
            response.status_code,
            attempt,
            elapsed_ms,
        )
        if not 200 <= response.status_code < 300:
            raise error_from_response(response, method, path, secrets=secrets)
        if not response.content:
            return {}
        try:
            envelope = response.json()
        except ValueError:
            raise UnexpectedResponseError(
                "response is not JSON", status=response.status_code, method=method, path=path
            ) from None
        if not isinstance(envelope, Mapping):
            raise UnexpectedResponseError(
                "response is not a JSON object",
                status=response.status_code,
                method=method,
                path=path,
            )
        return envelope

    def _should_retry(
        self, method: str, error: FivetranError, failures: int, rate_limited: int
    ) -> bool:
        """Whether to send again after `error`, the request having failed `failures` times and
        been rate limited `rate_limited` times so far (rules in retry.py)."""
        if isinstance(error, RateLimitedError):
            if rate_limited > self.retry.max_rate_limited:
                return False
            return error.retry_after is None or error.retry_after <= self.retry.max_retry_after
        if failures > self.retry.max_retries:
            return False
        if isinstance(error, FivetranConnectionError) and not error.ambiguous:
            return True
        if isinstance(error, ServerError | FivetranConnectionError):
            return method in IDEMPOTENT_METHODS
        return False

    def _sleep_time(self, error: FivetranError, attempt: int) -> float:
        """`Retry-After` when the server gave one; otherwise full-jitter exponential backoff."""
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            return error.retry_after
        ceiling = min(self.retry.backoff_cap, self.retry.backoff_base * (2 ** (attempt - 1)))
        return ceiling * self.retry.random()

    @staticmethod
    def _maybe_executed(error: FivetranError) -> bool:
        if isinstance(error, FivetranConnectionError):
            return error.ambiguous
        return isinstance(error, ServerError)

    def _paced(self, method: str, path: str) -> AbstractContextManager[object]:
        """Wait for budget before sending; the limiter learns when the answer came back."""
        if self.limiter is None:
            return nullcontext()
        return self.limiter.spending(create=self._is_connection_create(method, path))

    @staticmethod
    def _is_connection_create(method: str, path: str) -> bool:
        return method == "POST" and path.rstrip("/") in ("/v1/connections", "/v1/connectors")


def _describe(error: FivetranError) -> str:
    status = f" {error.status}" if error.status is not None else ""
    return f"{type(error).__name__}{status}"
