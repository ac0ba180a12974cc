"""The webhook receiver: a small Starlette app that verifies, parses and durably stores events.

`POST <path>` answers 200 only after the event is committed to the event log, so anything
Fivetran saw acknowledged survives a crash; every rejection (413 too large, 401 bad signature,
400 not an event, or one the database cannot store) stores nothing, and Fivetran's retries cover
a 503 while the log's database is unreachable (the log reconnects by itself; `/healthz` says 503
meanwhile).
No middleware: each request is one route call, which keeps the receiver well above 500 events/s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fivetran_assets.webhooks.events import WebhookEvent, WebhookPayloadError
from fivetran_assets.webhooks.signature import SIGNATURE_HEADER, verify
from fivetran_assets.webhooks.store import EventLog, EventRejected

DEFAULT_PATH = "/fivetran/webhook"
MAX_BODY = 1024 * 1024
DEFAULT_PRUNE_INTERVAL = timedelta(hours=1)

logger = logging.getLogger("fivetran_assets.webhooks")


def create_app(
    *,
    secrets: Sequence[str],
    log: EventLog,
    path: str = DEFAULT_PATH,
    max_body: int = MAX_BODY,
    prune_interval: timedelta | None = DEFAULT_PRUNE_INTERVAL,
) -> Starlette:
    """The receiver ASGI app. The caller owns `log` (and closes it after the server stops).

    `prune_interval` runs `log.prune()` at startup and then periodically; None leaves pruning
    to the caller.
    """
    keys = tuple(secret for secret in secrets if secret)
    if not keys:
        raise ValueError("the webhook receiver needs at least one non-empty signing secret")
    if not path.startswith("/"):
        raise ValueError(f"path must start with '/', got {path!r}")
    if max_body < 1:
        raise ValueError(f"max_body must be positive, got {max_body}")

    async def receive(request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None:
            if not (declared.isascii() and declared.isdigit()):
                return _reject(400, f"Content-Length is not a number: {declared[:32]!r}")
            if int(declared) > max_body:
                return _reject(413, f"body of {declared} bytes exceeds the {max_body}-byte limit")
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > max_body:
                    return _reject(413, f"body exceeds the {max_body}-byte limit")
                chunks.append(chunk)
        except ClientDisconnect:
            return _reject(400, "client disconnected before sending the whole body")
        body = b"".join(chunks)
        if not verify(keys, body, request.headers.get(SIGNATURE_HEADER)):
            return _reject(401, f"missing or invalid {SIGNATURE_HEADER}")
        try:
            event = WebhookEvent.from_json(body)
        except WebhookPayloadError as exc:
            return _reject(400, str(exc))
        try:
            appended = await asyncio.wrap_future(log.submit(body, event))
        except EventRejected as exc:
            return _reject(400, str(exc))
        except Exception as exc:
            logger.error("could not store webhook event %s: %s", event.event, exc)
            return JSONResponse({"error": "event log unavailable, retry later"}, status_code=503)
        return JSONResponse({"id": appended.id, "duplicate": appended.duplicate})

    async def healthz(request: Request) -> Response:
        try:
            latest = await run_in_threadpool(log.latest_id)
        except Exception as exc:
            logger.error("health check: event log unavailable: %s", exc)
            return JSONResponse({"status": "event log unavailable"}, status_code=503)
        return JSONResponse({"status": "ok", "latest_event_id": latest})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = None
        if prune_interval is not None:
            task = asyncio.create_task(_prune_forever(log, prune_interval))
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    return Starlette(
        routes=[
            Route(path, receive, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def _reject(status: int, message: str) -> Response:
    logger.warning("rejected webhook delivery (%d): %s", status, message)
    headers = {"Connection": "close"} if status == 413 else None
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def _prune_forever(log: EventLog, interval: timedelta) -> None:
    while True:
        try:
            deleted = await run_in_threadpool(log.prune)
        except Exception:
            logger.exception("pruning the webhook event log failed")
        else:
            if deleted:
                logger.info("pruned %d webhook events older than %s", deleted, log.retention)
        await asyncio.sleep(interval.total_seconds())
