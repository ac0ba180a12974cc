"""Metadata connector-types for the data plane's services, and the `/_local/` test controls.

`/_local/reset` empties the estate; `/_local/connections/{id}/next-sync` decides how the next
sync of a connection ends (``fail`` or ``reschedule``, or ``succeed``) and how long it lasts;
`/_local/connections/{id}/settings` sets a connection's minimum sync duration (Fivetran seconds);
`/_local/clock` tells Fivetran time, and jumps it forward when posted `{"advance_seconds": n}`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fivetran_assets.emulator.clock import iso
from fivetran_assets.emulator.dataplane.contract import ServiceInfo
from fivetran_assets.emulator.http import (
    choice,
    encode_cursor,
    invalid,
    json_body,
    not_found,
    ok,
    page_params,
    string,
)
from fivetran_assets.emulator.routes_groups import emu_of


def _connector_type(info: ServiceInfo, *, detailed: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": info.id,
        "name": info.name,
        "type": info.type,
        "description": info.description,
        "icons": [],
        "icon_url": "",
        "link_to_docs": "",
        "connector_class": "standard",
        "service_status": "general_availability",
    }
    if detailed:
        out["config"] = {
            "type": "object",
            "properties": {
                f.name: {"type": "string", "description": f.description, "secret": f.secret}
                for f in info.fields
            },
            "required": [f.name for f in info.fields if f.required],
        }
        out["auth"] = {}
    return out


async def list_connector_types(request: Request) -> Response:
    services = list(emu_of(request).dataplane.SOURCE_SERVICES.values())
    start, limit = page_params(request)
    data: dict[str, Any] = {
        "items": [_connector_type(info, detailed=False) for info in services[start : start + limit]]
    }
    if start + limit < len(services):
        data["next_cursor"] = encode_cursor(start + limit)
    return ok(data, "Success")


async def get_connector_type(request: Request) -> Response:
    service = request.path_params["service"]
    info = emu_of(request).source(service)
    if info is None:
        raise not_found("ConnectorType", service)
    return ok(_connector_type(info, detailed=True), "Connector type retrieved")


async def reset(request: Request) -> Response:
    emu = emu_of(request)
    with emu.store.lock:
        emu.syncs.cancel_all()
        emu.transforms.cancel_all()
        emu.store.clear()
    return ok(message="The local Fivetran has been reset")


def _local_connection(request: Request) -> dict[str, Any]:
    conn = emu_of(request).store.get("connection", request.path_params["connection_id"])
    if conn is None:
        raise not_found("Connection", request.path_params["connection_id"])
    return conn


def _seconds(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise invalid(f"Field '{field}' must be a non-negative number of Fivetran seconds")
    return float(value)


async def next_sync(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    directive: dict[str, Any] = {
        "outcome": choice(
            body.get("outcome", "succeed"), "outcome", ("succeed", "fail", "reschedule")
        ),
    }
    if body.get("reason") is not None:
        directive["reason"] = string(body["reason"], "reason")
    if body.get("duration_seconds") is not None:
        directive["duration_seconds"] = _seconds(body["duration_seconds"], "duration_seconds")
    with emu.store.lock:
        conn = dict(_local_connection(request))
        conn["_next_sync"] = directive
        emu.store.put("connection", conn)
    return ok(directive, "The next sync is set")


async def connection_settings(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    if "min_sync_seconds" not in body:
        raise invalid("Field 'min_sync_seconds' is required")
    seconds = _seconds(body["min_sync_seconds"], "min_sync_seconds")
    with emu.store.lock:
        conn = dict(_local_connection(request))
        conn["_min_sync_seconds"] = seconds
        emu.store.put("connection", conn)
    return ok({"min_sync_seconds": seconds}, "Connection settings updated")


async def clock(request: Request) -> Response:
    """Fivetran time as the server sees it, so tests can reason about time-scaled schedules."""
    emu = emu_of(request)
    return ok({"now": iso(emu.clock.now()), "time_scale": emu.clock.time_scale}, "Clock")


async def advance_clock(request: Request) -> Response:
    """Jump Fivetran time forward: what is due by then (syncs, transformation ticks) comes due."""
    emu = emu_of(request)
    body = await json_body(request)
    if "advance_seconds" not in body:
        raise invalid("Field 'advance_seconds' is required")
    now = emu.clock.advance(_seconds(body["advance_seconds"], "advance_seconds"))
    return ok({"now": iso(now), "time_scale": emu.clock.time_scale}, "The clock moved forward")


ROUTES = [
    Route("/v1/metadata/connector-types", list_connector_types, methods=["GET"]),
    Route("/v1/metadata/connector-types/{service}", get_connector_type, methods=["GET"]),
    Route("/_local/reset", reset, methods=["POST"]),
    Route("/_local/clock", clock, methods=["GET"]),
    Route("/_local/clock", advance_clock, methods=["POST"]),
    Route("/_local/connections/{connection_id}/next-sync", next_sync, methods=["POST"]),
    Route("/_local/connections/{connection_id}/settings", connection_settings, methods=["POST"]),
]
