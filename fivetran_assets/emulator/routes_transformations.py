"""Transformation projects and transformations (`/v1/transformation-projects`,
`/v1/transformations`): create, list, get, patch, delete, project test, run, cancel.

A project's setup tests (the data plane checks its dbt project) move ``status`` NOT_READY ->
READY, or ERROR with ``errors[]``. One project per group, as in Fivetran.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fivetran_assets.emulator.clock import iso
from fivetran_assets.emulator.context import Emulator
from fivetran_assets.emulator.http import (
    boolean,
    choice,
    conflict,
    integer,
    invalid,
    json_body,
    not_found,
    obj,
    ok,
    paginate,
    public,
    require,
    string,
)
from fivetran_assets.emulator.routes_groups import emu_of
from fivetran_assets.emulator.transform_schedule import DAYS, valid_cron
from fivetran_assets.emulator.transforms import schedule_reset

SCHEDULE_TYPES = ("INTEGRATED", "TIME_OF_DAY", "INTERVAL", "CRON")
TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):[03]0$")  # the spec's values: half hours


def _project_or_404(emu: Emulator, project_id: str) -> dict[str, Any]:
    project = emu.store.get("transformation_project", project_id)
    if project is None:
        raise not_found("TransformationProject", project_id)
    return project


async def _test_project(emu: Emulator, project: dict[str, Any]) -> None:
    results = await run_in_threadpool(
        emu.dataplane.test_transformation_project, dict(project["project_config"])
    )
    project["setup_tests"] = [
        {"title": t.title, "status": t.status, "message": t.message, "details": {}} for t in results
    ]
    errors = [t.message or t.title for t in results if t.status in ("FAILED", "JOB_FAILED")]
    project["errors"] = errors
    project["status"] = "ERROR" if errors else "READY"


def _project_config(value: Any) -> dict[str, Any]:
    config = dict(obj(value, "project_config"))
    for key in (
        "git_remote_url",
        "folder_path",
        "git_branch",
        "default_schema",
        "dbt_version",
        "target_name",
    ):
        if config.get(key) is not None:
            string(config[key], f"project_config.{key}", allow_empty=key == "folder_path")
    if config.get("threads") is not None:
        config["threads"] = integer(config["threads"], "project_config.threads")
    if config.get("environment_vars") is not None and not isinstance(
        config["environment_vars"], list
    ):
        raise invalid("Field 'project_config.environment_vars' must be a list of strings")
    return config


async def create_project(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    group_id = string(require(body, "group_id"), "group_id")
    choice(body.get("type", "DBT_CORE"), "type", ("DBT_CORE",))
    project: dict[str, Any] = {
        "id": "",
        "type": "DBT_CORE",
        "status": "NOT_READY",
        "errors": [],
        "created_at": iso(emu.clock.now()),
        "created_by_id": emu.user_id,
        "group_id": group_id,
        "setup_tests": [],
        "run_tests": boolean(body.get("run_tests", True), "run_tests"),
        "project_config": _project_config(body.get("project_config", {})),
    }
    if emu.store.get("group", group_id) is None:
        raise not_found("Group", group_id)
    if project["run_tests"]:
        await _test_project(emu, project)
    with emu.store.lock:
        if any(p["group_id"] == group_id for p in emu.store.values("transformation_project")):
            raise conflict(f"Group '{group_id}' already has a transformation project")
        project["id"] = emu.store.new_id()
        emu.store.put("transformation_project", project)
    return ok(public(project), "Transformation project has been created", status=201)


async def list_projects(request: Request) -> Response:
    return paginate(request, emu_of(request).store, "transformation_project", public)


async def get_project(request: Request) -> Response:
    project = _project_or_404(emu_of(request), request.path_params["project_id"])
    return ok(public(project), "Transformation project retrieved")


async def patch_project(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    project = dict(_project_or_404(emu, request.path_params["project_id"]))
    for key, value in body.items():
        if key == "run_tests":
            project["run_tests"] = boolean(value, "run_tests")
        elif key == "project_config":
            project["project_config"] = {**project["project_config"], **_project_config(value)}
        elif key in ("group_id", "type"):
            if value != project[key]:
                raise invalid(f"Field '{key}' is permanent and cannot be changed")
        else:
            raise invalid(f"Unknown field '{key}'")
    if project["run_tests"] and "project_config" in body:
        await _test_project(emu, project)
    with emu.store.lock:
        _project_or_404(emu, project["id"])
        emu.store.put("transformation_project", project)
    return ok(public(project), "Transformation project has been updated")


async def test_project(request: Request) -> Response:
    emu = emu_of(request)
    project = dict(_project_or_404(emu, request.path_params["project_id"]))
    await _test_project(emu, project)
    with emu.store.lock:
        _project_or_404(emu, project["id"])
        emu.store.put("transformation_project", project)
    return ok(public(project), "Transformation project has been tested")


async def delete_project(request: Request) -> Response:
    emu = emu_of(request)
    with emu.store.lock:
        project = _project_or_404(emu, request.path_params["project_id"])
        for tr in emu.store.values("transformation"):
            if tr["transformation_config"].get("project_id") == project["id"]:
                raise conflict(f"Project '{project['id']}' still has transformations")
        emu.store.delete("transformation_project", project["id"])
    return ok(message=f"Transformation project '{project['id']}' has been deleted")


def _ids(emu: Emulator, body: dict[str, Any], key: str, kind: str) -> list[str]:
    ids = body.get(key) or []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise invalid(f"Field 'schedule.{key}' must be a list of {kind} ids")
    for oid in ids:
        if emu.store.get(kind, oid) is None:
            raise invalid(f"Field 'schedule.{key}': {kind} '{oid}' doesn't exist")
    return list(dict.fromkeys(ids))


def _schedule(emu: Emulator, value: Any) -> dict[str, Any]:
    """A `TransformationSchedule`; `smart_syncing` with `connection_ids` on INTERVAL or
    TIME_OF_DAY makes it follow syncs as well as its clock (`transform_schedule`)."""
    body = obj(value, "schedule")
    kind = choice(require(body, "schedule_type"), "schedule.schedule_type", SCHEDULE_TYPES)
    schedule: dict[str, Any] = {"schedule_type": kind, "smart_syncing": False}
    if "smart_syncing" in body:
        schedule["smart_syncing"] = boolean(body["smart_syncing"], "schedule.smart_syncing")
    schedule["connection_ids"] = _ids(emu, body, "connection_ids", "connection")
    schedule["transformation_ids"] = _ids(emu, body, "transformation_ids", "transformation")
    if kind == "INTEGRATED" and not (schedule["connection_ids"] or schedule["transformation_ids"]):
        raise invalid(
            "Field 'schedule.connection_ids' (or 'schedule.transformation_ids') is required for "
            "INTEGRATED schedules"
        )
    if kind == "INTERVAL" or body.get("interval") is not None:
        interval = integer(require(body, "interval"), "schedule.interval")
        if interval < 1:
            raise invalid("Field 'schedule.interval' must be a positive number of minutes")
        schedule["interval"] = interval
    if kind == "TIME_OF_DAY":
        at = require(body, "time_of_day")
        if not isinstance(at, str) or not TIME_OF_DAY.match(at):
            raise invalid(
                f"Field 'schedule.time_of_day' must be 'HH:MM' on the hour or half hour, got {at!r}"
            )
        schedule["time_of_day"] = at
    days = body.get("days_of_week") or []
    if not isinstance(days, list) or any(d not in DAYS for d in days):
        raise invalid(f"Field 'schedule.days_of_week' must list days among {', '.join(DAYS)}")
    schedule["days_of_week"] = list(dict.fromkeys(days))
    if kind == "CRON":
        cron = require(body, "cron")
        cron = [cron] if isinstance(cron, str) else cron
        if (
            not isinstance(cron, list)
            or not cron
            or not all(isinstance(c, str) and valid_cron(c) for c in cron)
        ):
            raise invalid(
                f"Field 'schedule.cron' must be five-field cron expressions, got {cron!r}"
            )
        schedule["cron"] = cron
    return schedule


def _transformation_config(emu: Emulator, value: Any) -> dict[str, Any]:
    body = obj(value, "transformation_config")
    project_id = string(require(body, "project_id"), "transformation_config.project_id")
    if emu.store.get("transformation_project", project_id) is None:
        raise not_found("TransformationProject", project_id)
    name = string(require(body, "name"), "transformation_config.name")
    steps = require(body, "steps")
    if not isinstance(steps, list) or not steps:
        raise invalid("Field 'transformation_config.steps' must be a non-empty list")
    clean = []
    for n, step in enumerate(steps):
        where = f"transformation_config.steps[{n}]"
        step = obj(step, where)
        command = string(require(step, "command"), f"{where}.command")
        if not command.startswith("dbt "):
            raise invalid(f"Field '{where}.command' must be a dbt command, got {command!r}")
        clean.append(
            {"name": string(step.get("name", f"step_{n + 1}"), f"{where}.name"), "command": command}
        )
    return {"project_id": project_id, "name": name, "steps": clean}


async def create_transformation(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    choice(body.get("type", "DBT_CORE"), "type", ("DBT_CORE",))
    now = emu.clock.now()
    schedule = _schedule(emu, require(body, "schedule"))
    tr = {
        "id": "",
        "type": "DBT_CORE",
        "status": "NEW",
        "paused": boolean(body.get("paused", False), "paused"),
        "schedule": schedule,
        "created_at": iso(now),
        "created_by_id": emu.user_id,
        "last_started_at": None,
        "last_ended_at": None,
        "output_model_names": [],
        "transformation_config": _transformation_config(
            emu, require(body, "transformation_config")
        ),
        **schedule_reset(schedule, now),
    }
    with emu.store.lock:
        tr["id"] = emu.store.new_id()
        emu.store.put("transformation", tr)
    return ok(public(tr), "Transformation has been created", status=201)


def _transformation_or_404(emu: Emulator, tid: str) -> dict[str, Any]:
    tr = emu.store.get("transformation", tid)
    if tr is None:
        raise not_found("Transformation", tid)
    return tr


async def list_transformations(request: Request) -> Response:
    """List transformations, filtered by the spec's `group_id`, `project_id` and `type`."""
    emu = emu_of(request)
    group_id = request.query_params.get("group_id")
    project_id = request.query_params.get("project_id")
    kind = request.query_params.get("type")

    def keep(tr: dict[str, Any]) -> bool:
        tr_project = tr["transformation_config"].get("project_id")
        if project_id is not None and tr_project != project_id:
            return False
        if kind is not None and tr.get("type") != kind:
            return False
        if group_id is not None:
            project = emu.store.get("transformation_project", tr_project)
            return project is not None and project["group_id"] == group_id
        return True

    return paginate(request, emu.store, "transformation", public, keep)


async def get_transformation(request: Request) -> Response:
    tr = _transformation_or_404(emu_of(request), request.path_params["transformation_id"])
    return ok(public(tr), "Transformation retrieved")


async def patch_transformation(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    changes: dict[str, Any] = {}
    for key, value in body.items():
        if key == "paused":
            changes["paused"] = boolean(value, "paused")
        elif key == "schedule":
            changes["schedule"] = _schedule(emu, value)
        elif key == "transformation_config":
            changes["transformation_config"] = _transformation_config(emu, value)
        elif key == "type":
            choice(value, "type", ("DBT_CORE",))
        else:
            raise invalid(f"Unknown field '{key}'")
    with emu.store.lock:
        current = _transformation_or_404(emu, request.path_params["transformation_id"])
        tr = {**current, **changes}
        resumed = current["paused"] and not tr["paused"]
        if resumed or tr["schedule"] != current["schedule"]:
            tr.update(schedule_reset(tr["schedule"], emu.clock.now()))  # its clock restarts
        emu.store.put("transformation", tr)
    return ok(public(tr), "Transformation has been updated")


async def delete_transformation(request: Request) -> Response:
    emu = emu_of(request)
    with emu.store.lock:
        tr = _transformation_or_404(emu, request.path_params["transformation_id"])
        if emu.transforms.is_running(tr["id"]):
            emu.transforms.cancel(tr["id"])
        emu.store.delete("transformation", tr["id"])
    return ok(message=f"Transformation '{tr['id']}' has been deleted")


async def run_transformation(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    full_refresh = boolean(body.get("full_refresh", False), "full_refresh")
    tid = request.path_params["transformation_id"]
    emu.transforms.run(tid, full_refresh=full_refresh)
    return ok(message=f"Transformation '{tid}' run has been triggered")


async def cancel_transformation(request: Request) -> Response:
    tid = request.path_params["transformation_id"]
    emu_of(request).transforms.cancel(tid)
    return ok(message=f"Transformation '{tid}' run has been canceled")


ROUTES = [
    Route("/v1/transformation-projects", list_projects, methods=["GET"]),
    Route("/v1/transformation-projects", create_project, methods=["POST"]),
    Route("/v1/transformation-projects/{project_id}", get_project, methods=["GET"]),
    Route("/v1/transformation-projects/{project_id}", patch_project, methods=["PATCH"]),
    Route("/v1/transformation-projects/{project_id}", delete_project, methods=["DELETE"]),
    Route("/v1/transformation-projects/{project_id}/test", test_project, methods=["POST"]),
    Route("/v1/transformations", list_transformations, methods=["GET"]),
    Route("/v1/transformations", create_transformation, methods=["POST"]),
    Route("/v1/transformations/{transformation_id}", get_transformation, methods=["GET"]),
    Route("/v1/transformations/{transformation_id}", patch_transformation, methods=["PATCH"]),
    Route("/v1/transformations/{transformation_id}", delete_transformation, methods=["DELETE"]),
    Route("/v1/transformations/{transformation_id}/run", run_transformation, methods=["POST"]),
    Route(
        "/v1/transformations/{transformation_id}/cancel", cancel_transformation, methods=["POST"]
    ),
]
