"""Request parsing and response envelopes shared by every route of the local Fivetran.

Fivetran's wire habits live here once: the `{code, message, data}` envelope, cursor pagination,
error bodies, lenient booleans (`"true"`), the Content-Type rules (415), secret masking, and the
one body parser (`decode_body`), which applies the shared input policy (`json_policy`).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from fivetran_assets.json_policy import InputError, clean_text, parse_json, parse_timestamp

MASK = "******"
BODY_STATE_KEY = "json_body"
"""Where `InputPolicyMiddleware` leaves the decoded body in the ASGI scope's state."""


class ApiError(Exception):
    """An error answered as Fivetran does: ``{"code": code, "message": message}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def invalid(message: str) -> ApiError:
    return ApiError(400, "InvalidInput", message)


def not_found(entity: str, oid: str) -> ApiError:
    return ApiError(404, f"NotFound_{entity}", f"{entity} with id '{oid}' doesn't exist")


def conflict(message: str) -> ApiError:
    return ApiError(409, "Conflict", message)


class JsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, separators=(",", ":"), ensure_ascii=False)
        try:
            return text.encode()
        except UnicodeEncodeError:  # a lone surrogate from a source the policy does not see
            return clean_text(text).encode()


def ok(
    data: Any = None, message: str = "Operation performed.", *, status: int = 200, code: str = ""
) -> JsonResponse:
    body: dict[str, Any] = {"code": code or "Success", "message": message}
    if data is not None:
        body["data"] = data
    return JsonResponse(body, status_code=status)


def error_response(err: ApiError) -> JsonResponse:
    return JsonResponse({"code": err.code, "message": err.message}, status_code=err.status)


JSON_TYPES = ("application/json", "")


def decode_body(raw: bytes, content_type: str | None) -> Any:
    """The one parser of request bodies: 415 for a non-JSON Content-Type, 400 for JSON that is
    malformed or breaks the input policy (depth, lone surrogates, NaN, 64-bit integers).

    An empty body is ``{}`` (clients POST actions such as ``/sync`` without one).
    """
    if not raw.strip():
        return {}
    content_type = content_type or "application/json"
    if content_type.split(";", 1)[0].strip().lower() not in JSON_TYPES:
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f"Content-Type '{content_type[:100]}' is not supported; send application/json",
        )
    try:
        return parse_json(raw)
    except InputError as exc:
        raise invalid(f"Request body refused: {exc.message}") from None


async def json_body(request: Request, *, required: bool = True) -> dict[str, Any]:
    """The request's JSON object, as `InputPolicyMiddleware` decoded it (or decoded here)."""
    state = request.scope.get("state") or {}
    if BODY_STATE_KEY in state:
        body = state[BODY_STATE_KEY]
    else:
        body = decode_body(await request.body(), request.headers.get("content-type"))
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object")
    return body


def timestamp(value: Any, field: str) -> datetime:
    """An ISO-8601 timestamp field, in UTC and within range (the shared input policy)."""
    try:
        return parse_timestamp(value, field)
    except InputError as exc:
        raise invalid(exc.message) from None


def boolean(value: Any, field: str) -> bool:
    """Fivetran accepts ``true`` and the strings ``"true"``/``"false"`` (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise invalid(f"Field '{field}' must be a boolean, got {json.dumps(value)}")


def string(value: Any, field: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise invalid(f"Field '{field}' must be a non-empty string")
    return value


def integer(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise invalid(f"Field '{field}' must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise invalid(f"Field '{field}' must be an integer, got {json.dumps(value)}")


def obj(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"Field '{field}' must be an object")
    return value


def require(body: dict[str, Any], field: str) -> Any:
    if body.get(field) is None:
        raise invalid(f"Field '{field}' is required")
    return body[field]


def choice(value: Any, field: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise invalid(f"Field '{field}' must be one of {', '.join(allowed)}; got {value!r}")
    return value


SECRET_NAME = re.compile(
    r"(?:^|_)(?:password|passwd|pwd|secret|token|api_?key|private_key|access_key|passphrase"
    r"|credentials?|service_account_key)(?:$|_)",
    re.IGNORECASE,
)
"""A config key that names a secret, whatever the service: masked even when the local Fivetran
does not know the service's fields (``client_secret``, ``access_token``, ``ssh_private_key``...)."""


def is_secret(key: str, secret_fields: Iterable[str] = ()) -> bool:
    return key in secret_fields or bool(SECRET_NAME.search(key))


def mask(config: dict[str, Any], secret_fields: Iterable[str] = ()) -> dict[str, Any]:
    """``config`` with every secret value replaced by ``******``, in nested objects too."""
    secret = frozenset(secret_fields)

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: (MASK if is_secret(k, secret) and v not in (None, "") else walk(v))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    return walk(config)


def merge_config(
    old: dict[str, Any], new: dict[str, Any], secret_fields: Iterable[str] = ()
) -> dict[str, Any]:
    """Apply a PATCH to a config: a secret sent back masked keeps its stored value."""
    secret = frozenset(secret_fields)
    merged = dict(old)
    for key, value in new.items():
        if value == MASK and is_secret(key, secret):
            continue
        merged[key] = value
    return merged


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, seq = text.partition(":")
        if prefix != "seq":
            raise ValueError(cursor)
        return int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid(f"Query parameter 'cursor' is not a valid cursor: {cursor!r}") from None


def page_params(request: Request) -> tuple[int, int]:
    """(first sequence number, limit) from ``cursor`` and ``limit`` (1..1000, default 100)."""
    raw_limit = request.query_params.get("limit")
    limit = 100
    if raw_limit is not None:
        if not raw_limit.strip().isdigit() or not 1 <= int(raw_limit) <= 1000:
            raise invalid(f"Query parameter 'limit' must be between 1 and 1000, got {raw_limit!r}")
        limit = int(raw_limit)
    cursor = request.query_params.get("cursor")
    return (_decode_cursor(cursor) if cursor else 0), limit


def paginate(
    request: Request,
    store: Any,
    kind: str,
    render: Any,
    keep: Any = None,
) -> JsonResponse:
    """A list envelope over ``kind`` in creation order; ``next_cursor`` only if more remain."""
    start, limit = page_params(request)
    items, next_seq = store.page(kind, start, limit, keep)
    data: dict[str, Any] = {"items": [render(item) for item in items]}
    if next_seq is not None:
        data["next_cursor"] = encode_cursor(next_seq)
    return ok(data, "Success")


def paginate_list(request: Request, items: list[Any], message: str = "Success") -> JsonResponse:
    """A list envelope over a fixed, ordered list (roles, metadata): the cursor is an index."""
    start, limit = page_params(request)
    data: dict[str, Any] = {"items": items[start : start + limit]}
    if start + limit < len(items):
        data["next_cursor"] = encode_cursor(start + limit)
    return ok(data, message)


def public(obj_: dict[str, Any]) -> dict[str, Any]:
    """An object without its internal (underscore-prefixed) fields."""
    return {k: v for k, v in obj_.items() if not k.startswith("_")}
