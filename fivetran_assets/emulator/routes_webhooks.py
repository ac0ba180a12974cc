"""Webhooks (`/v1/webhooks...`): account and group create, list, get, patch, delete, test.

A webhook is created with a test delivery when active (the create fails if the URL does not
answer 2xx); plain http is accepted only for loopback URLs. The secret is stored and masked.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fivetran_assets.emulator.clock import iso
from fivetran_assets.emulator.context import Emulator
from fivetran_assets.emulator.events import Event
from fivetran_assets.emulator.http import (
    MASK,
    ApiError,
    boolean,
    invalid,
    json_body,
    not_found,
    ok,
    paginate,
    public,
    require,
    string,
)
from fivetran_assets.emulator.routes_groups import emu_of

EVENTS = tuple(e.value for e in Event)


def render(hook: dict[str, Any]) -> dict[str, Any]:
    out = public(hook)
    out["secret"] = MASK if hook.get("_secret") else None
    return out


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url(value: Any) -> str:
    url = string(value, "url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid(f"Field 'url' must be an http(s) URL, got {url!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise invalid(f"Field 'url' must use https (plain http only for loopback): {url!r}")
    return url


def _events(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise invalid("Field 'events' must be a non-empty list of event names")
    for event in value:
        if event not in EVENTS:
            raise invalid(f"Field 'events': unknown event {event!r}")
    return list(dict.fromkeys(value))


def _test_body(emu: Emulator, event: str, hook: dict[str, Any]) -> dict[str, Any]:
    return {
        "event": event,
        "created": iso(emu.clock.now()),
        "connector_type": "_connector_1",
        "connector_id": "_connector_1",
        "connector_name": "Connector 1",
        "sync_id": "_sync_1",
        "destination_group_id": hook.get("group_id") or "_group_1",
        "data": {"status": "SUCCESSFUL"},
    }


async def _create(request: Request, group_id: str | None) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    url = _url(require(body, "url"))
    events = _events(require(body, "events"))
    active = boolean(body.get("active", True), "active")
    secret = body.get("secret")
    if secret is not None:
        secret = string(secret, "secret")
    if group_id is not None and emu.store.get("group", group_id) is None:
        raise not_found("Group", group_id)
    hook: dict[str, Any] = {
        "id": "",
        "type": "group" if group_id else "account",
        "url": url,
        "events": events,
        "active": active,
        "group_id": group_id,
        "created_at": iso(emu.clock.now()),
        "created_by": emu.user_id,
        "_secret": secret,
    }
    if active:
        result = await run_in_threadpool(
            emu.sender.deliver_now, url, secret or "", _test_body(emu, "sync_end", hook)
        )
        if not result.ok:
            detail = f"status {result.status}" if result.status else result.error
            raise ApiError(400, "BadRequest", f"Webhook test delivery to {url} failed: {detail}")
    with emu.store.lock:
        hook["id"] = emu.store.new_id()
        emu.store.put("webhook", hook)
    return ok(render(hook), "Webhook has been created")


async def create_account_webhook(request: Request) -> Response:
    return await _create(request, None)


async def create_group_webhook(request: Request) -> Response:
    return await _create(request, request.path_params["group_id"])


async def list_webhooks(request: Request) -> Response:
    return paginate(request, emu_of(request).store, "webhook", render)


def _hook_or_404(emu: Emulator, hook_id: str) -> dict[str, Any]:
    hook = emu.store.get("webhook", hook_id)
    if hook is None:
        raise not_found("Webhook", hook_id)
    return hook


async def get_webhook(request: Request) -> Response:
    return ok(render(_hook_or_404(emu_of(request), request.path_params["webhook_id"])), "Webhook")


async def patch_webhook(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    hook = dict(_hook_or_404(emu, request.path_params["webhook_id"]))
    for key, value in body.items():
        if key == "url":
            hook["url"] = _url(value)
        elif key == "events":
            hook["events"] = _events(value)
        elif key == "active":
            hook["active"] = boolean(value, "active")
        elif key == "secret":
            if value != MASK:
                hook["_secret"] = string(value, "secret")
        elif key in ("type", "group_id", "id"):
            if value != hook.get(key):
                raise invalid(f"Field '{key}' is permanent and cannot be changed")
        else:
            raise invalid(f"Unknown field '{key}'")
    with emu.store.lock:
        _hook_or_404(emu, hook["id"])
        emu.store.put("webhook", hook)
    return ok(render(hook), "Webhook has been updated")


async def delete_webhook(request: Request) -> Response:
    emu = emu_of(request)
    with emu.store.lock:
        hook = _hook_or_404(emu, request.path_params["webhook_id"])
        emu.store.delete("webhook", hook["id"])
    return ok(message=f"Webhook with id '{hook['id']}' has been deleted")


async def test_webhook(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    hook = _hook_or_404(emu, request.path_params["webhook_id"])
    event = body.get("event", "sync_start")
    if event not in EVENTS:
        raise invalid(f"Field 'event': unknown event {event!r}")
    result = await run_in_threadpool(
        emu.sender.deliver_now, hook["url"], hook.get("_secret") or "", _test_body(emu, event, hook)
    )
    message = "OK" if result.ok else (result.error or f"status {result.status}")
    data = {"succeed": result.ok, "status": result.status or 0, "message": message}
    return ok(data, "Webhook has been tested")


ROUTES = [
    Route("/v1/webhooks", list_webhooks, methods=["GET"]),
    Route("/v1/webhooks/account", create_account_webhook, methods=["POST"]),
    Route("/v1/webhooks/group/{group_id}", create_group_webhook, methods=["POST"]),
    Route("/v1/webhooks/{webhook_id}", get_webhook, methods=["GET"]),
    Route("/v1/webhooks/{webhook_id}", patch_webhook, methods=["PATCH"]),
    Route("/v1/webhooks/{webhook_id}", delete_webhook, methods=["DELETE"]),
    Route("/v1/webhooks/{webhook_id}/test", test_webhook, methods=["POST"]),
]
