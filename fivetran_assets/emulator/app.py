"""The local Fivetran's ASGI app: routes, JSON error handling and the middleware stack.

Middleware, outermost first: TrailingSlashMiddleware (``/v1/groups/`` is ``/v1/groups``) ->
LocalControlMiddleware (request log, injected faults) -> Basic authentication on ``/v1`` and
``/_local`` -> RateLimitMiddleware -> InputPolicyMiddleware (body size and the shared JSON
policy) -> routes. All are pure ASGI (no
BaseHTTPMiddleware) so a simple GET stays cheap.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from fivetran_assets.emulator import (
    routes_certificates,
    routes_connection_tools,
    routes_connections,
    routes_groups,
    routes_local,
    routes_logging,
    routes_metadata,
    routes_schemas,
    routes_syncs,
    routes_teams,
    routes_transformations,
    routes_users,
    routes_webhooks,
)
from fivetran_assets.emulator.context import Emulator
from fivetran_assets.emulator.faults import FaultInjector, LocalControlMiddleware, RequestLog
from fivetran_assets.emulator.faults import local_routes as fault_routes
from fivetran_assets.emulator.http import ApiError, JsonResponse, error_response
from fivetran_assets.emulator.inputs import InputPolicyMiddleware
from fivetran_assets.emulator.ratelimit import RateLimitMiddleware, rate_limit_routes
from fivetran_assets.emulator.routing import TrailingSlashMiddleware, api_routes

log = logging.getLogger(__name__)


class BasicAuthMiddleware:
    """HTTP Basic against the server's API key and secret, on ``/v1`` and the ``/_local`` test
    controls: 401 ``AuthFailed`` otherwise. The scheme is case-insensitive (RFC 7617). The secret
    never appears in an answer or a log line."""

    def __init__(self, app: Any, api_key: str, api_secret: str) -> None:
        self.app = app
        self._expected = base64.b64encode(f"{api_key}:{api_secret}".encode())

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not _guarded(path):
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                given = value
                break
        scheme, _, token = given.strip().partition(b" ")
        if scheme.lower() == b"basic" and hmac.compare_digest(token.strip(), self._expected):
            await self.app(scope, receive, send)
            return
        reason = "Missing" if not given else "Invalid"
        body = json.dumps(
            {"code": "AuthFailed", "message": f"{reason} API key or secret (HTTP Basic)"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Basic realm="Fivetran"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _guarded(path: str) -> bool:
    return any(path == root or path.startswith(root + "/") for root in ("/v1", "/_local"))


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}"
        return JsonResponse({"code": "MethodNotAllowed", "message": message}, status_code=405)
    if exc.status_code == 404:
        message = f"No such endpoint: {request.method} {request.url.path}"
        return JsonResponse({"code": "NotFound", "message": message}, status_code=404)
    return JsonResponse({"code": "BadRequest", "message": str(exc.detail)}, exc.status_code)


async def _not_implemented(request: Request, exc: Exception) -> Response:
    message = "This operation needs the data plane, which is not available yet"
    return JsonResponse({"code": "NotImplemented", "message": message}, status_code=501)


async def _internal(request: Request, exc: Exception) -> Response:
    log.error("internal error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    message = f"Internal error of the local Fivetran ({type(exc).__name__})"
    return JsonResponse({"code": "InternalError", "message": message}, status_code=500)


def build_app(emu: Emulator, *, faults: FaultInjector, request_log: RequestLog) -> Starlette:
    routes = [
        *routes_groups.ROUTES,
        *routes_users.ROUTES,
        *routes_teams.ROUTES,
        *routes_connections.ROUTES,
        *routes_connection_tools.ROUTES,
        *routes_certificates.ROUTES,
        *routes_schemas.ROUTES,
        *routes_syncs.ROUTES,
        *routes_webhooks.ROUTES,
        *routes_logging.ROUTES,
        *routes_transformations.ROUTES,
        *routes_metadata.ROUTES,
        *routes_local.ROUTES,
        *fault_routes(faults, request_log),
        *rate_limit_routes(emu.limiter),
    ]
    app = Starlette(
        routes=api_routes(routes),
        middleware=[
            Middleware(TrailingSlashMiddleware),
            Middleware(LocalControlMiddleware, faults=faults, log=request_log, clock=emu.clock),
            Middleware(
                BasicAuthMiddleware,
                api_key=emu.settings.api_key,
                api_secret=emu.settings.api_secret,
            ),
            Middleware(RateLimitMiddleware, limiter=emu.limiter),
            Middleware(InputPolicyMiddleware),
        ],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            NotImplementedError: _not_implemented,
            Exception: _internal,
        },
    )
    app.router.redirect_slashes = False
    app.state.emu = emu
    return app
