"""Connections, on `/v1/connections...` and the legacy `/v1/connectors...` paths.

Create, list (by group and schema), get, patch, delete and setup tests; syncs and resyncs live
in `routes_syncs`. The connection's ``schema`` is its ``config.schema_prefix``: permanent, and
unique within its group.
"""

from __future__ import annotations

import contextlib
import re
from datetime import timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fivetran_assets.emulator.access import forget_dependents
from fivetran_assets.emulator.clock import iso
from fivetran_assets.emulator.context import Emulator
from fivetran_assets.emulator.dataplane.contract import DataPlaneError
from fivetran_assets.emulator.events import Event
from fivetran_assets.emulator.http import (
    ApiError,
    boolean,
    choice,
    conflict,
    integer,
    invalid,
    json_body,
    mask,
    merge_config,
    not_found,
    obj,
    ok,
    paginate,
    public,
    require,
    string,
)
from fivetran_assets.emulator.routes_groups import emu_of
from fivetran_assets.emulator.schemas import capture_schema, stored

SYNC_FREQUENCIES = (1, 5, 15, 30, 60, 120, 180, 360, 480, 720, 1440)
SCHEDULE_TYPES = ("auto", "manual")
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
DAILY_TIME = re.compile(r"^([01]\d|2[0-3]):00$")
PATCHABLE = (
    "sync_frequency",
    "schedule_type",
    "daily_sync_time",
    "paused",
    "pause_after_trial",
    "trust_certificates",
    "trust_fingerprints",
    "networking_method",
    "config",
    "setup_tests",
)


def entity(request: Request) -> str:
    """`Connector` on the legacy paths, `Connection` on the current ones."""
    return "Connector" if "/connectors" in request.url.path else "Connection"


def connection_or_404(request: Request) -> dict[str, Any]:
    conn_id = request.path_params["connection_id"]
    conn = emu_of(request).store.get("connection", conn_id)
    if conn is None:
        raise not_found(entity(request), conn_id)
    return conn


def render(emu: Emulator, conn: dict[str, Any]) -> dict[str, Any]:
    out = public(conn)
    out["status"] = dict(conn["status"])
    out["config"] = mask(conn["config"], emu.source_secrets(conn["service"]))
    return out


def _schedule_fields(body: dict[str, Any], conn: dict[str, Any]) -> None:
    if "sync_frequency" in body:
        freq = integer(body["sync_frequency"], "sync_frequency")
        if freq not in SYNC_FREQUENCIES:
            allowed = ", ".join(map(str, SYNC_FREQUENCIES))
            raise invalid(f"Field 'sync_frequency' must be one of {allowed}; got {freq}")
        conn["sync_frequency"] = freq
    if "schedule_type" in body:
        conn["schedule_type"] = choice(body["schedule_type"], "schedule_type", SCHEDULE_TYPES)
    if body.get("daily_sync_time") is not None:
        value = body["daily_sync_time"]
        if not isinstance(value, str) or not DAILY_TIME.match(value):
            raise invalid(f"Field 'daily_sync_time' must be 'HH:00', got {value!r}")
        conn["daily_sync_time"] = value
    for flag in ("paused", "pause_after_trial", "trust_certificates", "trust_fingerprints"):
        if flag in body:
            conn[flag] = boolean(body[flag], flag)
    if "networking_method" in body:
        methods = ("Directly", "PrivateLink", "SshTunnel", "ProxyAgent")
        conn["networking_method"] = choice(body["networking_method"], "networking_method", methods)


def _check_config(emu: Emulator, service: str, config: dict[str, Any]) -> None:
    info = emu.source(service)
    if info is None:
        raise invalid(f"Field 'service': unknown source service '{service}'")
    for spec in info.fields:
        if spec.required and config.get(spec.name) in (None, ""):
            raise invalid(f"Field 'config.{spec.name}' is required")


async def run_setup_tests(emu: Emulator, conn: dict[str, Any]) -> None:
    """Run the source's setup tests on ``conn`` (a copy) and set ``setup_state``."""
    results = await run_in_threadpool(emu.dataplane.test_source, conn["service"], conn["config"])
    conn["setup_tests"] = [
        {"title": t.title, "status": t.status, "message": t.message, "details": {}} for t in results
    ]
    failed = [t for t in results if t.status in ("FAILED", "JOB_FAILED")]
    status = dict(conn["status"])
    status["setup_state"] = "broken" if failed else "connected"
    status["warnings"] = [
        {"code": "setup_test_warning", "message": t.message or t.title, "details": t.title}
        for t in results
        if t.status == "WARNING"
    ]
    conn["status"] = status
    if not failed and not conn.get("_synced") and not conn.get("_next_sync_at"):
        conn["_next_sync_at"] = iso(emu.clock.now())


def _setup_event(emu: Emulator, conn: dict[str, Any]) -> None:
    if conn["status"]["setup_state"] == "connected":
        emu.events.connection(Event.CONNECTION_SUCCESSFUL, conn)
    else:
        failed = [
            t["message"] or t["title"] for t in conn["setup_tests"] if t["status"] != "PASSED"
        ]
        emu.events.connection(Event.CONNECTION_FAILURE, conn, {"reason": "; ".join(failed)})


async def create_connection(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    group_id = string(require(body, "group_id"), "group_id")
    service = string(require(body, "service"), "service")
    config = dict(obj(body.get("config", {}), "config"))
    _check_config(emu, service, config)
    schema = config.get("schema_prefix")
    if schema is None:
        raise invalid("Field 'config.schema_prefix' is required")
    if not isinstance(schema, str) or not SCHEMA_NAME.match(schema):
        raise invalid(
            "Field 'config.schema_prefix' must be lowercase letters, digits and underscores, "
            f"starting with a letter or underscore; got {schema!r}"
        )
    if "schema" in body and body["schema"] != schema:
        raise invalid("Field 'schema' must equal 'config.schema_prefix'")
    now = iso(emu.clock.now())
    conn: dict[str, Any] = {
        "id": "",
        "group_id": group_id,
        "service": service,
        "service_version": 1,
        "schema": schema,
        "connected_by": emu.user_id,
        "created_at": now,
        "succeeded_at": None,
        "failed_at": None,
        "paused": False,
        "pause_after_trial": False,
        "sync_frequency": 360,
        "schedule_type": "auto",
        "data_delay_sensitivity": "NORMAL",
        "data_delay_threshold": 0,
        "networking_method": "Directly",
        "status": {
            "setup_state": "incomplete",
            "schema_status": "blocked_on_capture",
            "sync_state": "scheduled",
            "update_state": "on_schedule",
            "is_historical_sync": True,
            "rescheduled_for": None,
            "tasks": [],
            "warnings": [],
        },
        "setup_tests": [],
        "config": config,
    }
    _schedule_fields(body, conn)
    if conn["paused"]:
        conn["status"]["sync_state"] = "paused"
    run_tests = boolean(body.get("run_setup_tests", True), "run_setup_tests")
    if emu.store.get("group", group_id) is None:
        raise not_found("Group", group_id)
    _check_unique(emu, group_id, schema)
    if run_tests:
        await run_setup_tests(emu, conn)
    with emu.store.lock:
        if emu.store.get("group", group_id) is None:
            raise not_found("Group", group_id)
        _check_unique(emu, group_id, schema)
        conn["id"] = emu.store.new_id()
        emu.store.put("connection", conn)
    emu.events.connection(Event.CREATE_CONNECTOR, conn)
    if run_tests:
        _setup_event(emu, conn)
    conn = await capture_when_connected(emu, conn)
    return ok(render(emu, conn), "Connection has been created", status=201)


async def capture_when_connected(emu: Emulator, conn: dict[str, Any]) -> dict[str, Any]:
    """Capture the source schema of a connection that passed its setup tests and has none yet,
    as Fivetran does, so ``GET .../schemas`` answers as soon as ``schema_status`` is ready.
    A source that cannot be read leaves it ``blocked_on_capture``. Returns the stored record."""
    if conn["status"]["setup_state"] == "connected" and stored(emu, conn["id"]) is None:
        with contextlib.suppress(DataPlaneError, ApiError):
            await run_in_threadpool(capture_schema, emu, conn["id"])
    return emu.store.get("connection", conn["id"]) or conn


def _check_unique(emu: Emulator, group_id: str, schema: str) -> None:
    if emu.store.find("connection", (group_id, schema)) is not None:
        raise conflict(
            f"Connection with schema name '{schema}' already exists in group '{group_id}'"
        )


def _listing(request: Request, group_id: str | None) -> Response:
    emu = emu_of(request)
    schema = request.query_params.get("schema")

    def keep(conn: dict[str, Any]) -> bool:
        return (group_id is None or conn["group_id"] == group_id) and (
            schema is None or conn["schema"] == schema
        )

    filtered = group_id is not None or schema is not None
    return paginate(
        request, emu.store, "connection", lambda c: render(emu, c), keep if filtered else None
    )


async def list_connections(request: Request) -> Response:
    group_id = request.query_params.get("group_id")
    if group_id is not None and emu_of(request).store.get("group", group_id) is None:
        raise not_found("Group", group_id)
    return _listing(request, group_id)


async def list_group_connections(request: Request) -> Response:
    group_id = request.path_params["group_id"]
    if emu_of(request).store.get("group", group_id) is None:
        raise not_found("Group", group_id)
    return _listing(request, group_id)


async def get_connection(request: Request) -> Response:
    return ok(render(emu_of(request), connection_or_404(request)), "Connection details retrieved")


async def patch_connection(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    if not body:
        raise invalid("The request body must change at least one field")
    conn = connection_or_404(request)
    conn = {**conn, "status": dict(conn["status"])}
    for permanent in ("service", "group_id", "schema"):
        if permanent in body and body[permanent] != conn[permanent]:
            raise invalid(f"Field '{permanent}' is permanent and cannot be changed")
    was_paused = conn["paused"]
    _schedule_fields(body, conn)
    config_changed = "config" in body
    if config_changed:
        new = obj(body["config"], "config")
        if "schema_prefix" in new and new["schema_prefix"] != conn["schema"]:
            raise invalid("Field 'config.schema_prefix' is permanent and cannot be changed")
        conn["config"] = merge_config(conn["config"], new, emu.source_secrets(conn["service"]))
        _check_config(emu, conn["service"], conn["config"])
    run_tests = config_changed and boolean(body.get("run_setup_tests", True), "run_setup_tests")
    if run_tests:
        await run_setup_tests(emu, conn)
    with emu.store.lock:
        current = connection_or_404(request)
        merged = {**current, **{k: conn[k] for k in PATCHABLE if k in conn}}
        status = dict(current["status"])
        if run_tests:
            status["setup_state"] = conn["status"]["setup_state"]
            status["warnings"] = conn["status"]["warnings"]
            if conn.get("_next_sync_at") and not merged.get("_next_sync_at"):
                merged["_next_sync_at"] = conn["_next_sync_at"]
        if not emu.syncs.is_syncing(conn["id"]) and status["sync_state"] != "rescheduled":
            status["sync_state"] = "paused" if merged["paused"] else "scheduled"
        merged["status"] = status
        if (was_paused and not merged["paused"]) or "sync_frequency" in body:
            base = emu.clock.now()
            if merged.get("_synced"):
                base += timedelta(minutes=merged["sync_frequency"])
            merged["_next_sync_at"] = iso(base)
        emu.store.put("connection", merged)
        conn = merged
    if conn["paused"] != was_paused:
        event = Event.PAUSE_CONNECTOR if conn["paused"] else Event.RESUME_CONNECTOR
        emu.events.connection(event, conn)
    emu.events.connection(Event.EDIT_CONNECTOR, conn)
    if run_tests:
        _setup_event(emu, conn)
        conn = await capture_when_connected(emu, conn)
    return ok(render(emu, conn), "Connection has been updated")


async def delete_connection(request: Request) -> Response:
    emu = emu_of(request)
    with emu.store.lock:
        conn = connection_or_404(request)
        emu.syncs.forget(conn["id"])
        forget_dependents(emu, "connection", conn["id"])
        emu.store.delete("connection", conn["id"])
        emu.store.delete("schema_config", conn["id"])
    emu.events.connection(Event.DELETE_CONNECTOR, conn)
    return ok(message=f"Connection with id '{conn['id']}' has been deleted")


async def test_connection(request: Request) -> Response:
    emu = emu_of(request)
    await json_body(request)
    conn = connection_or_404(request)
    conn = {**conn, "status": dict(conn["status"])}
    await run_setup_tests(emu, conn)
    with emu.store.lock:
        current = connection_or_404(request)
        merged = {**current, "setup_tests": conn["setup_tests"]}
        merged["status"] = {
            **current["status"],
            "setup_state": conn["status"]["setup_state"],
            "warnings": conn["status"]["warnings"],
        }
        if conn.get("_next_sync_at") and not current.get("_next_sync_at"):
            merged["_next_sync_at"] = conn["_next_sync_at"]
        emu.store.put("connection", merged)
    _setup_event(emu, merged)
    merged = await capture_when_connected(emu, merged)
    return ok(render(emu, merged), "Setup tests were completed")


def _family(prefix: str) -> list[Route]:
    one = prefix + "/{connection_id}"
    return [
        Route(prefix, list_connections, methods=["GET"]),
        Route(prefix, create_connection, methods=["POST"]),
        Route(one, get_connection, methods=["GET"]),
        Route(one, patch_connection, methods=["PATCH"]),
        Route(one, delete_connection, methods=["DELETE"]),
        Route(one + "/test", test_connection, methods=["POST"]),
    ]


ROUTES = [
    *_family("/v1/connections"),
    *_family("/v1/connectors"),
    Route("/v1/groups/{group_id}/connections", list_group_connections, methods=["GET"]),
    Route("/v1/groups/{group_id}/connectors", list_group_connections, methods=["GET"]),
]
