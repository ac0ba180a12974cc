"""Typed errors for the Fivetran REST API, and the one function that maps a response to its error.

Callers decide what to do from the error's type (retry, re-read, report), never from strings.
Errors carry the HTTP status, Fivetran's `code`, its message, the method and the path; they never
carry credentials or request bodies, which may hold source passwords.
"""

from __future__ import annotations

from collections.abc import Iterable

import requests


class FivetranError(Exception):
    """Any failure talking to Fivetran; `status` is None when no HTTP response arrived."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.method = method
        self.path = path
        super().__init__(self.__str__())

    def __str__(self) -> str:
        head = " ".join(str(part) for part in (self.status, self.code) if part is not None)
        where = f" ({self.method} {self.path})" if self.method and self.path else ""
        return f"{head}: {self.message}{where}" if head else f"{self.message}{where}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__str__()!r})"


class AuthError(FivetranError):
    """401 or 403: wrong credentials, or the key lacks permission for this resource."""


class NotFoundError(FivetranError):
    """404: the resource does not exist (or, for schema config, was never captured)."""


class InvalidInputError(FivetranError):
    """400/422: Fivetran rejected the request body or parameters."""


class ConflictError(FivetranError):
    """409: the request clashes with current state (a name taken, a running sync blocks it)."""


class RateLimitedError(FivetranError):
    """429: the request was not executed; it may be repeated after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class ServerError(FivetranError):
    """5xx: Fivetran failed; the request may or may not have taken effect."""


class FivetranConnectionError(FivetranError):
    """No HTTP response: network failure, timeout or dropped connection.

    `ambiguous` is True when the request may have reached Fivetran and been executed (a read
    timeout, a connection dropped after sending). A create that fails ambiguously must be
    followed by a re-read, never by a blind repeat.
    """

    def __init__(self, message: str, *, ambiguous: bool = False, **kwargs: object) -> None:
        self.ambiguous = ambiguous
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class UnexpectedResponseError(FivetranError):
    """A 2xx answer whose body is not what the API definition promises."""


_BY_STATUS: dict[int, type[FivetranError]] = {
    400: InvalidInputError,
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    422: InvalidInputError,
    429: RateLimitedError,
}


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (Fivetran sends seconds); None when absent or a date."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(seconds, 0.0)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with each non-trivial secret masked, so server messages that echo input are safe."""
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "******")
    return text


def error_from_response(
    response: requests.Response,
    method: str,
    path: str,
    *,
    secrets: Iterable[str] = (),
) -> FivetranError:
    """The typed error for a non-2xx `response` to `method path`.

    Uses Fivetran's `{"code", "message"}` envelope when the body has one; otherwise only the
    status line (a proxy's HTML page is not worth carrying and might echo the request).
    """
    code: str | None = None
    message = response.reason or "HTTP error"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("code"), str):
            code = body["code"]
        if isinstance(body.get("message"), str) and body["message"]:
            message = body["message"]
    message = redact(message, secrets)
    status = response.status_code
    common = {"status": status, "code": code, "method": method, "path": path}
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return RateLimitedError(message, retry_after=retry_after, **common)
    if status >= 500:
        return ServerError(message, **common)
    return _BY_STATUS.get(status, FivetranError)(message, **common)
