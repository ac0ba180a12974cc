"""Connection syncs over the API, on both the `/v1/connections` and `/v1/connectors` paths.

``POST .../sync {force}`` (a running sync is joined unless ``force`` restarts it), the legacy
``POST .../force``, and resyncs: whole (historical), scoped ``{"scope": {schema: [tables]}}``,
``POST .../schemas/tables/resync`` and the legacy single-table
``POST .../schemas/{schema}/tables/{table}/resync``. A resync is 409 while a sync runs.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fivetran_assets.emulator.context import Emulator
from fivetran_assets.emulator.events import Event
from fivetran_assets.emulator.http import boolean, conflict, invalid, json_body, obj, ok
from fivetran_assets.emulator.routes_connections import connection_or_404, entity
from fivetran_assets.emulator.routes_groups import emu_of
from fivetran_assets.emulator.schemas import stored


async def sync_connection(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    force = boolean(body.get("force", False), "force")
    conn_id = request.path_params["connection_id"]
    await run_in_threadpool(emu.syncs.trigger, conn_id, force=force, entity=entity(request))
    return ok(message=f"Sync has been successfully triggered for connection with id '{conn_id}'")


async def force_sync(request: Request) -> Response:
    emu = emu_of(request)
    conn_id = request.path_params["connection_id"]
    await run_in_threadpool(emu.syncs.trigger, conn_id, force=True, entity=entity(request))
    return ok(message=f"Sync has been successfully triggered for connector with id '{conn_id}'")


def _tables_from(
    emu: Emulator, conn_id: str, scope: Any, field: str
) -> tuple[tuple[str, str], ...]:
    scope = obj(scope, field)
    config = stored(emu, conn_id)
    pairs = []
    for schema, tables in scope.items():
        if not isinstance(tables, list) or not all(isinstance(t, str) for t in tables):
            raise invalid(f"Field '{field}.{schema}' must be a list of table names")
        for table in tables:
            known = (config or {}).get("schemas", {}).get(schema, {}).get("tables", {})
            if config is not None and table not in known:
                raise invalid(f"Field '{field}.{schema}': table '{table}' does not exist")
            pairs.append((schema, table))
    if not pairs:
        raise invalid(f"Field '{field}' must name at least one table")
    return tuple(pairs)


async def _resync(request: Request, tables: tuple[tuple[str, str], ...]) -> Response:
    emu = emu_of(request)
    conn = connection_or_404(request)
    if emu.syncs.is_syncing(conn["id"]):
        raise conflict(f"Connection '{conn['id']}' is syncing: wait for the sync to finish")
    await run_in_threadpool(
        emu.syncs.trigger,
        conn["id"],
        full_resync=not tables,
        resync_tables=tables,
        entity=entity(request),
        manual=False,
    )
    if tables:
        for schema, table in tables:
            emu.events.connection(Event.RESYNC_TABLE, conn, {"schema": schema, "table": table})
    else:
        emu.events.connection(Event.RESYNC_CONNECTOR, conn)
    return ok(message=f"Re-sync has been triggered successfully for '{conn['id']}'")


async def resync_connection(request: Request) -> Response:
    body = await json_body(request)
    conn = connection_or_404(request)
    tables: tuple[tuple[str, str], ...] = ()
    if body.get("scope") is not None:
        tables = _tables_from(emu_of(request), conn["id"], body["scope"], "scope")
    return await _resync(request, tables)


async def resync_tables(request: Request) -> Response:
    body = await json_body(request)
    conn = connection_or_404(request)
    return await _resync(request, _tables_from(emu_of(request), conn["id"], body, "schema"))


async def resync_one_table(request: Request) -> Response:
    conn = connection_or_404(request)
    schema, table = request.path_params["schema"], request.path_params["table"]
    pairs = _tables_from(emu_of(request), conn["id"], {schema: [table]}, "path")
    return await _resync(request, pairs)


def _family(prefix: str) -> list[Route]:
    one = prefix + "/{connection_id}"
    return [
        Route(one + "/sync", sync_connection, methods=["POST"]),
        Route(one + "/force", force_sync, methods=["POST"]),
        Route(one + "/resync", resync_connection, methods=["POST"]),
        Route(one + "/schemas/tables/resync", resync_tables, methods=["POST"]),
        Route(one + "/schemas/{schema}/tables/{table}/resync", resync_one_table, methods=["POST"]),
    ]


ROUTES = [*_family("/v1/connections"), *_family("/v1/connectors")]
