"""Connection extras: the Connect Card link and the sync state (`.../connect-card`, `.../state`).

The state is what the next incremental sync starts from: per table, the saved cursor and the
columns it was read with, as the data plane keeps them. Fivetran serves it only for Function and
Connector SDK connections; the local Fivetran's database sources keep cursors too, so it serves
it for every connection: `PATCH` replaces it whole (409 while a sync runs), which is how a test
rewinds an incremental sync.

Also the transformation package routes: the local Fivetran runs dbt Core projects only and ships
no Quickstart package, so the package list is empty and an upgrade finds no package.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fivetran_assets.emulator.context import Emulator
from fivetran_assets.emulator.dataplane.contract import DataPlaneError
from fivetran_assets.emulator.http import (
    ApiError,
    boolean,
    conflict,
    invalid,
    json_body,
    not_found,
    obj,
    ok,
    paginate_list,
    require,
    string,
)
from fivetran_assets.emulator.routes_connections import connection_or_404
from fivetran_assets.emulator.routes_groups import emu_of


async def connect_card(request: Request) -> Response:
    body = await json_body(request)
    conn = connection_or_404(request)
    config = obj(require(body, "connect_card_config"), "connect_card_config")
    card: dict[str, Any] = {
        "redirect_uri": string(require(config, "redirect_uri"), "connect_card_config.redirect_uri")
    }
    for flag in ("hide_setup_guide", "all_fields"):
        if flag in config:
            card[flag] = boolean(config[flag], f"connect_card_config.{flag}")
    token = secrets.token_urlsafe(24)
    query = urlencode({"auth": token, "redirect_uri": card["redirect_uri"]})
    uri = f"{str(request.base_url).rstrip('/')}/connect-card/setup?{query}"
    data = {
        "connector_id": conn["id"],
        "connect_card": {"token": token, "uri": uri},
        "connect_card_config": card,
    }
    return ok(data, "Connect Card has been generated")


def _state_args(emu: Emulator, conn: dict[str, Any]) -> tuple[Path, str, str, dict]:
    state_dir = Path(emu.settings.state_dir) / "connections" / conn["id"]
    return state_dir, conn["id"], conn["service"], dict(conn["config"])


async def get_state(request: Request) -> Response:
    emu = emu_of(request)
    conn = connection_or_404(request)
    state = await run_in_threadpool(emu.dataplane.read_sync_state, *_state_args(emu, conn))
    return ok({"state": state}, "Connection state retrieved")


async def patch_state(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    conn = connection_or_404(request)
    if emu.syncs.is_syncing(conn["id"]):
        raise conflict(f"Connection '{conn['id']}' is syncing: pause it before changing its state")
    try:
        state = await run_in_threadpool(
            emu.dataplane.write_sync_state, *_state_args(emu, conn), require(body, "state")
        )
    except DataPlaneError as exc:
        raise invalid(str(exc)) from None
    return ok({"state": state}, "Connection state has been updated")


async def list_packages(request: Request) -> Response:
    return paginate_list(request, [], "Transformation package metadata retrieved")


async def get_package(request: Request) -> Response:
    package_id = request.path_params["package_definition_id"]
    raise ApiError(
        404,
        "NotFound_TransformationPackage",
        f"Transformation package '{package_id}' not found (the local Fivetran ships no "
        "Quickstart packages)",
    )


async def upgrade_package(request: Request) -> Response:
    emu = emu_of(request)
    tid = request.path_params["transformation_id"]
    tr = emu.store.get("transformation", tid)
    if tr is None:
        raise not_found("Transformation", tid)
    raise ApiError(
        404,
        "NotFound_TransformationPackage",
        f"Transformation '{tid}' is {tr.get('type')}: only Quickstart transformations have a "
        "package to upgrade",
    )


def _family(prefix: str) -> list[Route]:
    one = prefix + "/{connection_id}"
    return [
        Route(one + "/connect-card", connect_card, methods=["POST"]),
        Route(one + "/state", get_state, methods=["GET"]),
        Route(one + "/state", patch_state, methods=["PATCH"]),
    ]


ROUTES = [
    *_family("/v1/connections"),
    *_family("/v1/connectors"),
    Route("/v1/transformations/package-metadata", list_packages, methods=["GET"]),
    Route(
        "/v1/transformations/package-metadata/{package_definition_id}",
        get_package,
        methods=["GET"],
    ),
    Route("/v1/transformations/{transformation_id}/upgrade", upgrade_package, methods=["POST"]),
]
