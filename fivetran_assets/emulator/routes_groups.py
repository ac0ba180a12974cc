"""Account info, groups and destinations (`/v1/account/info`, `/v1/groups`, `/v1/destinations`).

A group holds at most one destination, whose id is the group id. Destination setup tests move
``setup_status`` INCOMPLETE -> CONNECTED, or BROKEN when a test fails.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fivetran_assets.emulator.access import forget_dependents
from fivetran_assets.emulator.clock import iso
from fivetran_assets.emulator.context import Emulator
from fivetran_assets.emulator.http import (
    ApiError,
    boolean,
    choice,
    conflict,
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

REGIONS = (
    "GCP_US_EAST4",
    "GCP_US_WEST1",
    "GCP_US_CENTRAL1",
    "GCP_EUROPE_WEST3",
    "GCP_AUSTRALIA_SOUTHEAST1",
    "GCP_NORTHAMERICA_NORTHEAST1",
    "GCP_EUROPE_WEST2",
    "GCP_ASIA_SOUTHEAST1",
    "GCP_ASIA_SOUTHEAST2",
    "GCP_ASIA_SOUTH1",
    "GCP_ASIA_NORTHEAST1",
    "AWS_US_EAST_1",
    "AWS_US_EAST_2",
    "AWS_US_WEST_2",
    "AWS_AP_NORTHEAST_1",
    "AWS_AP_SOUTHEAST_1",
    "AWS_AP_SOUTHEAST_2",
    "AWS_EU_CENTRAL_1",
    "AWS_EU_WEST_1",
    "AWS_EU_WEST_2",
    "AWS_AP_SOUTH_1",
    "AWS_CA_CENTRAL_1",
    "AWS_US_GOV_WEST_1",
    "AZURE_EASTUS2",
    "AZURE_AUSTRALIAEAST",
    "AZURE_UKSOUTH",
    "AZURE_WESTEUROPE",
    "AZURE_CENTRALUS",
    "AZURE_CANADACENTRAL",
    "AZURE_UAENORTH",
    "AZURE_SOUTHEASTASIA",
    "AZURE_EASTUS",
    "AZURE_JAPANEAST",
    "AZURE_CENTRALINDIA",
)
TIME_ZONE_OFFSETS = tuple(str(n) if n <= 0 else f"+{n}" for n in range(-11, 13))


def emu_of(request: Request) -> Emulator:
    return request.app.state.emu


async def account_info(request: Request) -> Response:
    emu = emu_of(request)
    return ok(
        {
            "account_id": emu.account_id,
            "account_name": "Local Fivetran",
            "user_id": emu.user_id,
            "system_key_id": None,
        },
        "Account info retrieved",
    )


def _group_or_404(emu: Emulator, group_id: str) -> dict[str, Any]:
    group = emu.store.get("group", group_id)
    if group is None:
        raise not_found("Group", group_id)
    return group


def _check_group_name(emu: Emulator, name: Any, *, exclude: str = "") -> str:
    name = string(name, "name")
    for group in emu.store.values("group"):
        if group["name"] == name and group["id"] != exclude:
            raise conflict(f"Group with name '{name}' already exists")
    return name


async def create_group(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    require(body, "name")
    with emu.store.lock:
        name = _check_group_name(emu, body["name"])
        group = {"id": emu.store.new_id(), "name": name, "created_at": iso(emu.clock.now())}
        emu.store.put("group", group)
    return ok(group, "Group has been created", status=201)


async def list_groups(request: Request) -> Response:
    return paginate(request, emu_of(request).store, "group", dict)


async def get_group(request: Request) -> Response:
    group = _group_or_404(emu_of(request), request.path_params["group_id"])
    return ok(group, "Group details retrieved")


async def patch_group(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    with emu.store.lock:
        group = dict(_group_or_404(emu, request.path_params["group_id"]))
        for key in body:
            if key != "name":
                raise invalid(f"Field '{key}' cannot be updated")
        if not body:
            raise invalid("Field 'name' is required")
        group["name"] = _check_group_name(emu, body["name"], exclude=group["id"])
        emu.store.put("group", group)
    return ok(group, "Group has been updated")


async def delete_group(request: Request) -> Response:
    """Deleting a group deletes everything in it, as Fivetran does."""
    emu = emu_of(request)
    group_id = request.path_params["group_id"]
    with emu.store.lock:
        _group_or_404(emu, group_id)
        for conn in emu.store.values("connection"):
            if conn["group_id"] == group_id:
                emu.syncs.forget(conn["id"])
                forget_dependents(emu, "connection", conn["id"])
                emu.store.delete("connection", conn["id"])
                emu.store.delete("schema_config", conn["id"])
        for hook in emu.store.values("webhook"):
            if hook.get("group_id") == group_id:
                emu.store.delete("webhook", hook["id"])
        for project in emu.store.values("transformation_project"):
            if project["group_id"] == group_id:
                for tr in emu.store.values("transformation"):
                    if tr["transformation_config"].get("project_id") == project["id"]:
                        emu.store.delete("transformation", tr["id"])
                emu.store.delete("transformation_project", project["id"])
        forget_dependents(emu, "group", group_id)
        emu.store.delete("destination", group_id)
        emu.store.delete("group", group_id)
    return ok(message=f"Group with id '{group_id}' has been deleted")


def render_destination(emu: Emulator, dest: dict[str, Any]) -> dict[str, Any]:
    out = public(dest)
    out["config"] = mask(dest["config"], emu.destination_secrets(dest["service"]))
    return out


def _destination_or_404(emu: Emulator, dest_id: str) -> dict[str, Any]:
    dest = emu.store.get("destination", dest_id)
    if dest is None:
        raise not_found("Destination", dest_id)
    return dest


async def _setup_tests(emu: Emulator, service: str, config: dict[str, Any]) -> list[dict]:
    results = await run_in_threadpool(emu.dataplane.test_destination, service, dict(config))
    return [
        {"title": t.title, "status": t.status, "message": t.message, "details": {}} for t in results
    ]


def _status_from(tests: list[dict[str, Any]]) -> str:
    return "BROKEN" if any(t["status"] in ("FAILED", "JOB_FAILED") for t in tests) else "CONNECTED"


def _destination_fields(body: dict[str, Any], dest: dict[str, Any]) -> None:
    if "region" in body:
        dest["region"] = choice(body["region"], "region", REGIONS)
    if "time_zone_offset" in body:
        offset = body["time_zone_offset"]
        offset = str(offset) if isinstance(offset, int) and not isinstance(offset, bool) else offset
        offset = "0" if offset in ("+0", "-0") else offset
        dest["time_zone_offset"] = choice(offset, "time_zone_offset", TIME_ZONE_OFFSETS)
    for flag in ("trust_certificates", "trust_fingerprints", "daylight_saving_time_enabled"):
        if flag in body:
            dest[flag] = boolean(body[flag], flag)


async def create_destination(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    group_id = string(require(body, "group_id"), "group_id")
    service = string(require(body, "service"), "service")
    require(body, "time_zone_offset")
    info = emu.destination_service(service)
    if info is None:
        raise invalid(f"Field 'service': unknown destination service '{service}'")
    config = obj(body.get("config", {}), "config")
    for spec in info.fields:
        if spec.required and config.get(spec.name) in (None, ""):
            raise invalid(f"Field 'config.{spec.name}' is required")
    run_tests = boolean(body.get("run_setup_tests", True), "run_setup_tests")
    dest: dict[str, Any] = {
        "id": group_id,
        "group_id": group_id,
        "service": service,
        "region": "GCP_US_EAST4",
        "time_zone_offset": "0",
        "setup_status": "INCOMPLETE",
        "daylight_saving_time_enabled": False,
        "networking_method": "Directly",
        "setup_tests": [],
        "config": dict(config),
        "_salt": emu.new_salt(),
    }
    _destination_fields(body, dest)
    _group_or_404(emu, group_id)
    if emu.store.get("destination", group_id) is not None:
        raise conflict(f"Group '{group_id}' already has a destination")
    if run_tests:
        dest["setup_tests"] = await _setup_tests(emu, service, config)
        dest["setup_status"] = _status_from(dest["setup_tests"])
    with emu.store.lock:
        _group_or_404(emu, group_id)
        if emu.store.get("destination", group_id) is not None:
            raise conflict(f"Group '{group_id}' already has a destination")
        emu.store.put("destination", dest)
    return ok(
        render_destination(emu, dest), "Destination has been created", status=201, code="Created"
    )


async def list_destinations(request: Request) -> Response:
    emu = emu_of(request)
    return paginate(request, emu.store, "destination", lambda d: render_destination(emu, d))


async def get_destination(request: Request) -> Response:
    emu = emu_of(request)
    dest = _destination_or_404(emu, request.path_params["destination_id"])
    return ok(render_destination(emu, dest), "Destination details retrieved")


async def patch_destination(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    dest_id = request.path_params["destination_id"]
    dest = dict(_destination_or_404(emu, dest_id))
    for permanent in ("service", "group_id"):
        if permanent in body and body[permanent] != dest[permanent]:
            raise invalid(f"Field '{permanent}' cannot be changed")
    if not body:
        raise invalid("The request body must change at least one field")
    _destination_fields(body, dest)
    if "config" in body:
        secrets = emu.destination_secrets(dest["service"])
        dest["config"] = merge_config(dest["config"], obj(body["config"], "config"), secrets)
    if boolean(body.get("run_setup_tests", False), "run_setup_tests"):
        dest["setup_tests"] = await _setup_tests(emu, dest["service"], dest["config"])
        dest["setup_status"] = _status_from(dest["setup_tests"])
    with emu.store.lock:
        _destination_or_404(emu, dest_id)
        emu.store.put("destination", dest)
    return ok(render_destination(emu, dest), "Destination has been updated")


async def test_destination(request: Request) -> Response:
    emu = emu_of(request)
    dest_id = request.path_params["destination_id"]
    dest = dict(_destination_or_404(emu, dest_id))
    dest["setup_tests"] = await _setup_tests(emu, dest["service"], dest["config"])
    dest["setup_status"] = _status_from(dest["setup_tests"])
    with emu.store.lock:
        _destination_or_404(emu, dest_id)
        emu.store.put("destination", dest)
    return ok(render_destination(emu, dest), "Setup tests have been completed")


async def delete_destination(request: Request) -> Response:
    emu = emu_of(request)
    dest_id = request.path_params["destination_id"]
    with emu.store.lock:
        _destination_or_404(emu, dest_id)
        if any(c["group_id"] == dest_id for c in emu.store.values("connection")):
            raise ApiError(
                409, "Conflict", f"Destination '{dest_id}' still has connections: delete them first"
            )
        forget_dependents(emu, "destination", dest_id)
        emu.store.delete("destination", dest_id)
    return ok(message=f"Destination with id '{dest_id}' has been deleted")


ROUTES = [
    Route("/v1/account/info", account_info, methods=["GET"]),
    Route("/v1/groups", list_groups, methods=["GET"]),
    Route("/v1/groups", create_group, methods=["POST"]),
    Route("/v1/groups/{group_id}", get_group, methods=["GET"]),
    Route("/v1/groups/{group_id}", patch_group, methods=["PATCH"]),
    Route("/v1/groups/{group_id}", delete_group, methods=["DELETE"]),
    Route("/v1/destinations", list_destinations, methods=["GET"]),
    Route("/v1/destinations", create_destination, methods=["POST"]),
    Route("/v1/destinations/{destination_id}", get_destination, methods=["GET"]),
    Route("/v1/destinations/{destination_id}", patch_destination, methods=["PATCH"]),
    Route("/v1/destinations/{destination_id}", delete_destination, methods=["DELETE"]),
    Route("/v1/destinations/{destination_id}/test", test_destination, methods=["POST"]),
]
