"""The local Fivetran's input policy as middleware, so every route gets it, including new ones.

Before any route runs, a request body is read (at most `MAX_BODY` bytes: 413 beyond, told by
``Content-Length`` or counted while reading) and decoded once by `http.decode_body` (415 for a
non-JSON Content-Type, 400 naming the field for JSON the policy refuses). The decoded value is
left in the scope's state for `json_body`, and the raw bytes are replayed to the route, so a
route that reads ``request.body()`` itself still sees only policy-checked input.
"""

from __future__ import annotations

from typing import Any

from fivetran_assets.emulator.http import BODY_STATE_KEY, ApiError, decode_body, error_response

MAX_BODY = 8 * 1024 * 1024
"""Bytes. A schema config PATCH of a very wide source stays far below it."""

_NO_BODY = frozenset({"GET", "HEAD", "OPTIONS"})


class InputPolicyMiddleware:
    """Pure ASGI: bounded body, one decode under the shared JSON policy, replay to the app."""

    def __init__(self, app: Any, *, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in _NO_BODY:
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read(scope, receive)
            value = decode_body(body, _header(scope, b"content-type"))
        except ApiError as err:
            await error_response(err)(scope, receive, send)
            return
        scope.setdefault("state", {})[BODY_STATE_KEY] = value
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _read(self, scope: dict, receive: Any) -> bytes:
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not (declared.isascii() and declared.isdigit()):
                raise ApiError(400, "InvalidInput", "Content-Length is not a number")
            if int(declared) > self.max_body:
                raise _too_large(self.max_body)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ApiError(400, "InvalidInput", "The client disconnected mid-body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _too_large(self.max_body)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "PayloadTooLarge", f"The request body exceeds the {limit}-byte limit")


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None
