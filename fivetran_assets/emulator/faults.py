"""Test controls of the local Fivetran: fault injection and the request log.

Clients must survive what the real service does on a bad day (429 with ``Retry-After``, 500,
503, slow answers, connections that drop) and tests and benchmarks need to count API calls. The
:class:`LocalControlMiddleware` wraps the API app: it logs every ``/v1`` request with the status
the client finally saw, and applies injected faults. ``local_routes`` exposes both under
``/_local/`` so a test drives them over plain HTTP.

Whether a faulted request reaches the app:

- ``status`` and ``drop_before``: no, the app never sees it (nothing changes server-side).
- ``delay``: yes, after the delay; the client gets the app's real answer, late.
- ``drop_after``: yes, the app executes it fully, then the connection drops without an answer:
  the ambiguous case where a client must re-read to learn whether its write happened.

Rules with method ``WEBHOOK`` fault the server's outbound webhook deliveries instead (matched on
the receiver URL's path; see `webhook_sender`), so the path from Fivetran to a receiver can have
a bad day too.

A drop closes the TCP connection before any response byte is written, so a ``requests`` client
sees ``requests.exceptions.ConnectionError``. With uvicorn (h11 or httptools) this is done by
starting a response whose header the server refuses before writing it: the server then closes
the transport instead of answering 500.
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
import json
import logging
import re
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fivetran_assets.emulator.clock import Clock, iso


class FaultKind(StrEnum):
    STATUS = "status"
    DELAY = "delay"
    DROP_BEFORE = "drop_before"
    DROP_AFTER = "drop_after"


DELIVERY_METHOD = "WEBHOOK"
"""The method of fault rules that apply to webhook deliveries rather than to API requests."""

_DEFAULT_CODES = {429: "TooManyRequests", 500: "InternalServerError", 503: "ServiceUnavailable"}


class FaultRule(BaseModel):
    """One injected fault: which requests it hits, how many, and what happens to them.

    ``path`` is a glob (``*`` also matches ``/``) unless ``regex`` is true, then it must match the
    whole path. ``after`` skips the first N matching requests; ``count`` is how many matching
    requests the fault then applies to (-1: forever). ``kind: "drop"`` means ``drop_before``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: FaultKind
    path: str = Field(min_length=1)
    method: str = "*"
    regex: bool = False
    count: int = 1
    after: int = Field(default=0, ge=0)
    status: int | None = Field(default=None, ge=200, le=599)
    retry_after: int | None = Field(default=None, ge=0)
    body: dict[str, Any] | None = None
    seconds: float | None = Field(default=None, gt=0, le=600)

    @field_validator("kind", mode="before")
    @classmethod
    def _drop_alias(cls, value: Any) -> Any:
        return FaultKind.DROP_BEFORE if value == "drop" else value

    @field_validator("method")
    @classmethod
    def _upper_method(cls, value: str) -> str:
        return value.upper()

    @model_validator(mode="after")
    def _consistent(self) -> FaultRule:
        if self.count == 0 or self.count < -1:
            raise ValueError("'count' must be a positive number of requests, or -1 for forever")
        if self.regex:
            try:
                re.compile(self.path)
            except re.error as exc:
                raise ValueError(f"'path' is not a valid regular expression: {exc}") from None
        if self.kind is FaultKind.STATUS and self.status is None:
            raise ValueError("'status' is required when kind is 'status'")
        if self.kind is FaultKind.DELAY and self.seconds is None:
            raise ValueError("'seconds' is required when kind is 'delay'")
        for name in ("status", "retry_after", "body"):
            if self.kind is not FaultKind.STATUS and getattr(self, name) is not None:
                raise ValueError(f"'{name}' only applies when kind is 'status'")
        if self.kind is not FaultKind.DELAY and self.seconds is not None:
            raise ValueError("'seconds' only applies when kind is 'delay'")
        return self

    def matches(self, method: str, path: str) -> bool:
        if self.method != "*" and self.method != method.upper():
            return False
        if self.regex:
            return re.fullmatch(self.path, path) is not None
        return fnmatch.fnmatchcase(path, self.path)

    def response_body(self) -> bytes:
        if self.body is not None:
            return json.dumps(self.body).encode()
        code = _DEFAULT_CODES.get(self.status or 0, "InjectedFault")
        return json.dumps({"code": code, "message": f"Injected fault: HTTP {self.status}"}).encode()


class _Armed:
    """A rule with its counters (guarded by the injector's lock)."""

    def __init__(self, fault_id: str, rule: FaultRule) -> None:
        self.id = fault_id
        self.rule = rule
        self.seen = 0
        self.applied = 0

    @property
    def exhausted(self) -> bool:
        return self.rule.count != -1 and self.applied >= self.rule.count

    def describe(self) -> dict[str, Any]:
        rule = self.rule.model_dump(mode="json", exclude_none=True)
        counters = {"seen": self.seen, "applied": self.applied, "exhausted": self.exhausted}
        return {"id": self.id, **rule, **counters}


class FaultInjector:
    """Thread-safe set of armed faults.

    A request is offered to the rules in the order they were added; every live rule it matches
    counts it (for ``after``), and the first rule that fires wins: later rules do not see it.
    Exhausted rules stay listed (with their counters) until cleared.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Armed] = []
        self._ids = itertools.count(1)

    def add(self, rule: FaultRule) -> str:
        with self._lock:
            armed = _Armed(f"fault_{next(self._ids)}", rule)
            self._rules.append(armed)
            return armed.id

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [armed.describe() for armed in self._rules]

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            kept = [armed for armed in self._rules if armed.id != fault_id]
            removed = len(kept) != len(self._rules)
            self._rules = kept
            return removed

    def clear(self) -> int:
        with self._lock:
            removed = len(self._rules)
            self._rules = []
            return removed

    def match(self, method: str, path: str) -> FaultRule | None:
        """The fault to apply to this request, if any (counting it as applied)."""
        with self._lock:
            for armed in self._rules:
                if armed.exhausted or not armed.rule.matches(method, path):
                    continue
                armed.seen += 1
                if armed.seen > armed.rule.after:
                    armed.applied += 1
                    return armed.rule
            return None


@dataclass(frozen=True)
class RequestLogEntry:
    """One ``/v1`` request: ``status`` is what the client saw (None if the connection dropped);
    ``at`` is the Fivetran time it arrived; ``fault`` the kind of fault applied, if any."""

    method: str
    path: str
    status: int | None
    at: str
    duration_ms: float
    fault: str | None = None


class RequestLog:
    """Thread-safe, bounded log of requests, addressed by a never-reused index.

    Entry ``i`` is the i-th request logged since the server started; ``since(n)`` returns the
    retained entries from index n and the index to ask for next, so a poller never misses or
    repeats entries (unless more than ``capacity`` arrive between polls).
    """

    def __init__(self, *, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError(f"RequestLog capacity must be positive, got {capacity}")
        self._lock = threading.Lock()
        self._entries: deque[RequestLogEntry] = deque(maxlen=capacity)
        self._next = 0

    def append(self, entry: RequestLogEntry) -> None:
        with self._lock:
            self._entries.append(entry)
            self._next += 1

    def since(self, index: int = 0) -> tuple[list[RequestLogEntry], int]:
        with self._lock:
            first = self._next - len(self._entries)
            skip = max(0, index - first)
            return list(itertools.islice(self._entries, skip, None)), self._next

    def clear(self) -> int:
        with self._lock:
            removed = len(self._entries)
            self._entries.clear()
            return removed

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class ConnectionDropped(BaseException):
    """Raised through the server on purpose so that it closes the connection unanswered.

    A ``BaseException`` (like ``asyncio.CancelledError``) so that the app's generic exception
    handlers (Starlette's ``ServerErrorMiddleware`` and ``Exception`` handlers) let it pass to
    the server instead of logging it as an internal error.
    """


class _HideDroppedConnections(logging.Filter):
    """Keeps uvicorn from logging an intentional drop as an application error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


_uvicorn_filter_lock = threading.Lock()


def _hide_dropped_connections_in_uvicorn_log() -> None:
    logger = logging.getLogger("uvicorn.error")
    with _uvicorn_filter_lock:
        if not any(isinstance(f, _HideDroppedConnections) for f in logger.filters):
            logger.addFilter(_HideDroppedConnections())


async def _drop_connection(send: Any, kind: FaultKind) -> None:
    """Make the server close the connection without writing a response byte."""
    try:
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [(b"x-local-fault", b"drop\x00")],
            }
        )
    except Exception:
        raise ConnectionDropped(f"injected fault {kind}") from None
    raise ConnectionDropped(f"injected fault {kind} (server wrote headers before closing)")


async def _discard(message: dict) -> None:
    """A ``send`` that swallows the app's answer (for ``drop_after``)."""


def _is_v1(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


class LocalControlMiddleware:
    """Pure ASGI middleware: applies faults to ``/v1`` requests and logs every one of them.

    Put it outermost (around the rate limiter and authentication) so the log holds the status
    every client saw, including 401 and 429, and so a faulted request spends no rate budget.
    """

    def __init__(self, app: Any, faults: FaultInjector, log: RequestLog, clock: Clock) -> None:
        self.app = app
        self.faults = faults
        self.log = log
        self.clock = clock
        _hide_dropped_connections_in_uvicorn_log()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not _is_v1(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        at = iso(self.clock.now()) or ""
        started = time.perf_counter()
        fault = self.faults.match(method, path)
        status: int | None = None

        async def recording_send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if fault is None:
                await self.app(scope, receive, recording_send)
            elif fault.kind is FaultKind.STATUS:
                await self._answer(recording_send, fault)
            elif fault.kind is FaultKind.DELAY:
                await asyncio.sleep(fault.seconds or 0.0)
                await self.app(scope, receive, recording_send)
            else:
                if fault.kind is FaultKind.DROP_AFTER:
                    await self.app(scope, receive, _discard)
                await _drop_connection(send, fault.kind)
        except ConnectionDropped:
            status = None
            raise
        except Exception:
            status = status or 500
            raise
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
            kind = fault.kind.value if fault else None
            self.log.append(RequestLogEntry(method, path, status, at, duration_ms, kind))

    @staticmethod
    async def _answer(send: Any, fault: FaultRule) -> None:
        body = fault.response_body()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if fault.retry_after is not None:
            headers.append((b"retry-after", str(fault.retry_after).encode()))
        await send({"type": "http.response.start", "status": fault.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _invalid(message: str) -> JSONResponse:
    return JSONResponse({"code": "InvalidInput", "message": message}, status_code=400)


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        text = error["msg"].removeprefix("Value error, ")
        parts.append(f"field '{where}': {text}" if where else text)
    return "Invalid fault rule: " + "; ".join(parts)


def local_routes(faults: FaultInjector, log: RequestLog) -> list[Route]:
    """The ``/_local/`` test-control endpoints for faults and the request log."""

    async def add_fault(request: Request) -> JSONResponse:
        try:
            payload = json.loads(await request.body())
        except ValueError as exc:
            return _invalid(f"Request body is not valid JSON: {exc}")
        if not isinstance(payload, dict):
            return _invalid("Request body must be a JSON object describing one fault rule")
        try:
            rule = FaultRule.model_validate(payload)
        except ValidationError as exc:
            return _invalid(_validation_message(exc))
        fault_id = faults.add(rule)
        described = rule.model_dump(mode="json", exclude_none=True)
        return JSONResponse({"id": fault_id, **described}, status_code=201)

    async def list_faults(request: Request) -> JSONResponse:
        return JSONResponse({"items": faults.list()})

    async def clear_faults(request: Request) -> JSONResponse:
        return JSONResponse({"cleared": faults.clear()})

    async def delete_fault(request: Request) -> JSONResponse:
        fault_id = request.path_params["fault_id"]
        if not faults.remove(fault_id):
            message = f"No fault with id '{fault_id}'"
            return JSONResponse({"code": "NotFound_Fault", "message": message}, status_code=404)
        return JSONResponse({"deleted": fault_id})

    async def read_requests(request: Request) -> JSONResponse:
        raw = request.query_params.get("since", "0")
        if not raw.isdigit():
            return _invalid(f"Query parameter 'since' must be a non-negative integer, got {raw!r}")
        entries, next_index = log.since(int(raw))
        return JSONResponse({"items": [asdict(e) for e in entries], "next_index": next_index})

    async def clear_requests(request: Request) -> JSONResponse:
        return JSONResponse({"cleared": log.clear()})

    return [
        Route("/_local/faults", add_fault, methods=["POST"]),
        Route("/_local/faults", list_faults, methods=["GET"]),
        Route("/_local/faults", clear_faults, methods=["DELETE"]),
        Route("/_local/faults/{fault_id}", delete_fault, methods=["DELETE"]),
        Route("/_local/requests", read_requests, methods=["GET"]),
        Route("/_local/requests", clear_requests, methods=["DELETE"]),
    ]
