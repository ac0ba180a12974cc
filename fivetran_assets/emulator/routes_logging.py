"""External logging (`/v1/external-logging...`): one log service per group, and the account's.

A group's log service has the group's id, as in Fivetran; the account's has the account id.
Setup tests check the config holds what the service needs; the local Fivetran sends no logs
off this machine, so the delivery test is reported SKIPPED with that reason. Secret config
fields are stored and masked in every answer.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fivetran_assets.emulator.context import Emulator
from fivetran_assets.emulator.http import (
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
    require,
    string,
)
from fivetran_assets.emulator.routes_groups import emu_of

# service -> (required config fields, secret config fields)
SERVICES: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "azure_monitor_log": (
        ("workspace_id", "primary_key"),
        frozenset({"primary_key", "client_secret"}),
    ),
    "cloudwatch": (("region", "log_group_name"), frozenset({"access_key_secret"})),
    "datadog_log": (("api_key",), frozenset({"api_key"})),
    "dynatrace": (("environment_id", "access_token"), frozenset({"access_token"})),
    "grafana_loki": (("loki_url",), frozenset({"access_token"})),
    "new_relic_log": (("api_key",), frozenset({"api_key"})),
    "splunkLog": (("host", "token"), frozenset({"token"})),
    "stackdriver": (("project_id",), frozenset({"service_account_key"})),
}


def _secrets(service: str) -> frozenset[str]:
    return SERVICES[service][1]


def render(log: dict[str, Any]) -> dict[str, Any]:
    """`LogExtendedResponse` (the service's `config` beside it, masked)."""
    return {
        "id": log["id"],
        "service": log["service"],
        "enabled": log["enabled"],
        "config": mask(log["config"], _secrets(log["service"])),
        "status": {"setup_state": log["setup_state"], "tasks": []},
        "setup_tests": log["setup_tests"],
    }


def _summary(log: dict[str, Any]) -> dict[str, Any]:
    out = render(log)
    del out["setup_tests"], out["config"]
    return out


def _setup_tests(log: dict[str, Any]) -> None:
    required = SERVICES[log["service"]][0]
    missing = [f for f in required if log["config"].get(f) in (None, "")]
    config_test = {
        "title": "Validate configuration",
        "status": "FAILED" if missing else "PASSED",
        "message": f"Missing config fields: {', '.join(missing)}" if missing else "",
    }
    delivery = {
        "title": "Send a test event",
        "status": "SKIPPED",
        "message": "The local Fivetran sends no log events off this machine",
    }
    log["setup_tests"] = [config_test, delivery]
    log["setup_state"] = "broken" if missing else "connected"


def _log_or_404(emu: Emulator, log_id: str) -> dict[str, Any]:
    log = emu.store.get("log_service", log_id)
    if log is None:
        raise not_found("LogService", log_id)
    return log


async def _create(
    request: Request, body: dict[str, Any], log_id: str, group_id: str | None
) -> Response:
    emu = emu_of(request)
    service = choice(require(body, "service"), "service", SERVICES)
    config = dict(obj(body.get("config", {}), "config"))
    for field in SERVICES[service][0]:
        if config.get(field) in (None, ""):
            raise invalid(f"Field 'config.{field}' is required for service '{service}'")
    log = {
        "id": log_id,
        "group_id": group_id,
        "service": service,
        "enabled": boolean(body.get("enabled", True), "enabled"),
        "config": config,
        "setup_state": "incomplete",
        "setup_tests": [],
    }
    if boolean(body.get("run_setup_tests", False), "run_setup_tests"):
        _setup_tests(log)
    with emu.store.lock:
        if group_id is not None and emu.store.get("group", group_id) is None:
            raise not_found("Group", group_id)
        if emu.store.get("log_service", log_id) is not None:
            owner = f"Group '{group_id}'" if group_id else "The account"
            raise conflict(f"{owner} already has a log service")
        emu.store.put("log_service", log)
    return ok(render(log), "Log service has been added", status=201)


async def create_log_service(request: Request) -> Response:
    body = await json_body(request)
    group_id = string(require(body, "group_id"), "group_id")
    return await _create(request, body, group_id, group_id)


async def create_account_log_service(request: Request) -> Response:
    body = await json_body(request)
    return await _create(request, body, emu_of(request).account_id, None)


async def list_log_services(request: Request) -> Response:
    return paginate(request, emu_of(request).store, "log_service", _summary)


def _log_id(request: Request) -> str:
    return request.path_params.get("log_id") or emu_of(request).account_id


async def get_log_service(request: Request) -> Response:
    log = _log_or_404(emu_of(request), _log_id(request))
    return ok(render(log), "Log service details retrieved")


async def patch_log_service(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    with emu.store.lock:
        log = dict(_log_or_404(emu, _log_id(request)))
        for key, value in body.items():
            if key == "enabled":
                log["enabled"] = boolean(value, "enabled")
            elif key == "config":
                log["config"] = merge_config(
                    log["config"], obj(value, "config"), _secrets(log["service"])
                )
            elif key == "service":
                if value != log["service"]:
                    raise invalid("Field 'service' cannot be changed")
            elif key != "run_setup_tests":
                raise invalid(f"Unknown field '{key}'")
        if boolean(body.get("run_setup_tests", False), "run_setup_tests"):
            _setup_tests(log)
        emu.store.put("log_service", log)
    return ok(render(log), "Log service has been updated")


async def delete_log_service(request: Request) -> Response:
    emu = emu_of(request)
    log_id = _log_id(request)
    with emu.store.lock:
        _log_or_404(emu, log_id)
        emu.store.delete("log_service", log_id)
    return ok(message=f"Log service with id '{log_id}' has been removed")


async def test_log_service(request: Request) -> Response:
    emu = emu_of(request)
    with emu.store.lock:
        log = dict(_log_or_404(emu, _log_id(request)))
        _setup_tests(log)
        emu.store.put("log_service", log)
    return ok({"setup_tests": log["setup_tests"]}, "Setup tests have been completed")


ROUTES = [
    Route("/v1/external-logging", list_log_services, methods=["GET"]),
    Route("/v1/external-logging", create_log_service, methods=["POST"]),
    Route("/v1/external-logging/account", get_log_service, methods=["GET"]),
    Route("/v1/external-logging/account", create_account_log_service, methods=["POST"]),
    Route("/v1/external-logging/account", patch_log_service, methods=["PATCH"]),
    Route("/v1/external-logging/account", delete_log_service, methods=["DELETE"]),
    Route("/v1/external-logging/account/test", test_log_service, methods=["POST"]),
    Route("/v1/external-logging/{log_id}", get_log_service, methods=["GET"]),
    Route("/v1/external-logging/{log_id}", patch_log_service, methods=["PATCH"]),
    Route("/v1/external-logging/{log_id}", delete_log_service, methods=["DELETE"]),
    Route("/v1/external-logging/{log_id}/test", test_log_service, methods=["POST"]),
]
