"""Connection schema config routes, on both the `/v1/connections` and `/v1/connectors` paths.

GET answers 404 ``NotFound_SchemaConfig`` until the source schema was captured (reload, first
sync) or pre-created (POST). Every patch is validated whole before it is stored.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fivetran_assets.emulator.context import Emulator
from fivetran_assets.emulator.http import ApiError, choice, conflict, json_body, ok
from fivetran_assets.emulator.routes_connections import connection_or_404
from fivetran_assets.emulator.routes_groups import emu_of
from fivetran_assets.emulator.schemas import (
    EXCLUDE_MODES,
    capture_schema,
    mark_dropped,
    no_config,
    patch_column,
    patch_schema,
    patch_table,
    patch_whole,
    render,
    save,
    stored,
)


def _config_or_404(emu: Emulator, request: Request) -> tuple[str, dict[str, Any]]:
    conn = connection_or_404(request)
    config = stored(emu, conn["id"])
    if config is None:
        raise no_config(conn["id"])
    return conn["id"], config


async def get_schemas(request: Request) -> Response:
    emu = emu_of(request)
    _, config = _config_or_404(emu, request)
    return ok(render(config), "Schema config retrieved")


async def reload_schemas(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    mode = choice(body.get("exclude_mode", "PRESERVE"), "exclude_mode", EXCLUDE_MODES)
    conn = connection_or_404(request)
    config = await run_in_threadpool(capture_schema, emu, conn["id"], exclude_mode=mode)
    return ok(render(config), "Schema config has been reloaded")


async def precreate_schemas(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    conn = connection_or_404(request)
    base = {"schema_change_handling": "ALLOW_ALL", "enable_new_by_default": True, "schemas": {}}
    config = patch_whole(base, body, create=True)
    with emu.store.lock:
        if stored(emu, conn["id"]) is not None:
            raise conflict(f"Schema config of connection '{conn['id']}' already exists")
        save(emu, conn["id"], config)
    return ok(render(config), "Schema config has been created")


async def _apply(request: Request, change: Any) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    with emu.store.lock:
        conn_id, config = _config_or_404(emu, request)
        new = change(config, body)
        save(emu, conn_id, new)
    return ok(render(new), "Schema config has been updated")


async def patch_all(request: Request) -> Response:
    return await _apply(request, patch_whole)


async def patch_one_schema(request: Request) -> Response:
    schema = request.path_params["schema"]
    return await _apply(request, lambda config, body: patch_schema(config, schema, body))


async def patch_one_table(request: Request) -> Response:
    schema, table = request.path_params["schema"], request.path_params["table"]
    return await _apply(request, lambda config, body: patch_table(config, schema, table, body))


async def patch_one_column(request: Request) -> Response:
    p = request.path_params
    return await _apply(
        request,
        lambda config, body: patch_column(config, p["schema"], p["table"], p["column"], body),
    )


async def drop_columns(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    with emu.store.lock:
        conn_id, config = _config_or_404(emu, request)
        save(emu, conn_id, mark_dropped(config, body))
    return ok(message="Columns are marked for deletion at the next sync")


async def drop_one_column(request: Request) -> Response:
    emu = emu_of(request)
    p = request.path_params
    body = {"schemas": {p["schema"]: {"tables": {p["table"]: {"columns": [p["column"]]}}}}}
    with emu.store.lock:
        conn_id, config = _config_or_404(emu, request)
        save(emu, conn_id, mark_dropped(config, body))
    return ok(message=f"Column '{p['column']}' is marked for deletion at the next sync")


async def table_columns(request: Request) -> Response:
    emu = emu_of(request)
    _, config = _config_or_404(emu, request)
    schema, table = request.path_params["schema"], request.path_params["table"]
    tables = render(config)["schemas"].get(schema, {}).get("tables", {})
    if table not in tables:
        raise ApiError(404, "NotFound_Table", f"Table '{schema}.{table}' doesn't exist")
    return ok({"columns": tables[table]["columns"]}, "Columns retrieved")


def _family(prefix: str) -> list[Route]:
    base = prefix + "/{connection_id}/schemas"
    table = base + "/{schema}/tables/{table}"
    return [
        Route(base, get_schemas, methods=["GET"]),
        Route(base, precreate_schemas, methods=["POST"]),
        Route(base, patch_all, methods=["PATCH"]),
        Route(base + "/reload", reload_schemas, methods=["POST"]),
        Route(base + "/drop-columns", drop_columns, methods=["POST"]),
        Route(base + "/{schema}", patch_one_schema, methods=["PATCH"]),
        Route(table, patch_one_table, methods=["PATCH"]),
        Route(table + "/columns", table_columns, methods=["GET"]),
        Route(table + "/columns/{column}", patch_one_column, methods=["PATCH"]),
        Route(table + "/columns/{column}", drop_one_column, methods=["DELETE"]),
    ]


ROUTES = [*_family("/v1/connections"), *_family("/v1/connectors")]
