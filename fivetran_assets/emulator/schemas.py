"""Connection schema configs: capture from the source, render, and patch at every level.

The stored config has the shape of ``GET /v1/connections/{id}/schemas`` ``data``. Capturing
(reload, and the start of every sync) asks the data plane for the source catalog and merges it
into the stored config following ``schema_change_handling``. Patches are validated against the
whole config before anything is stored, so a bad request leaves no partial change.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from fivetran_assets.emulator.http import ApiError, boolean, choice, invalid, obj, require

if TYPE_CHECKING:
    from fivetran_assets.emulator.context import Emulator

SCHEMA_CHANGE_HANDLING = ("ALLOW_ALL", "ALLOW_COLUMNS", "BLOCK_ALL")
SYNC_MODES = ("SOFT_DELETE", "HISTORY", "LIVE")
EXCLUDE_MODES = ("PRESERVE", "EXCLUDE")


def no_config(connection_id: str) -> ApiError:
    return ApiError(
        404,
        "NotFound_SchemaConfig",
        f"Schema config of connection '{connection_id}' doesn't exist: reload it first",
    )


def stored(emu: Emulator, connection_id: str) -> dict[str, Any] | None:
    record = emu.store.get("schema_config", connection_id)
    return record["config"] if record else None


def save(emu: Emulator, connection_id: str, config: dict[str, Any]) -> None:
    """Store the config; the connection's ``schema_status`` is ``ready`` from then on."""
    with emu.store.lock:
        emu.store.put("schema_config", {"id": connection_id, "config": config})
        conn = emu.store.get("connection", connection_id)
        if conn is not None and conn["status"].get("schema_status") != "ready":
            emu.store.put(
                "connection", {**conn, "status": {**conn["status"], "schema_status": "ready"}}
            )


def capture_schema(emu: Emulator, connection_id: str, *, exclude_mode: str = "PRESERVE") -> dict:
    """Read the source catalog and merge it into the stored config; returns the new config."""
    conn = emu.store.get("connection", connection_id)
    if conn is None:
        raise ApiError(404, "NotFound_Connection", f"Connection '{connection_id}' doesn't exist")
    catalog = emu.dataplane.capture_catalog(conn["service"], dict(conn["config"]))
    with emu.store.lock:
        current = stored(emu, connection_id)
        handling = (current or {}).get("schema_change_handling", "ALLOW_ALL")
        merged, _warnings = emu.dataplane.merge_schema_config(
            copy.deepcopy(current),
            catalog,
            schema_change_handling=handling,
            exclude_mode=exclude_mode,
            schema_prefix=conn["schema"],
        )
        if emu.store.get("connection", connection_id) is not None:
            save(emu, connection_id, merged)
    return merged


def render(config: dict[str, Any]) -> dict[str, Any]:
    """The config as the API returns it, with every field the spec requires present."""
    schemas: dict[str, Any] = {}
    for sname, schema in config.get("schemas", {}).items():
        tables = {}
        for tname, table in schema.get("tables", {}).items():
            columns = {}
            for cname, column in table.get("columns", {}).items():
                pk = bool(column.get("is_primary_key", False))
                columns[cname] = {
                    "name_in_destination": column.get("name_in_destination", cname.lower()),
                    "enabled": column.get("enabled", True),
                    "hashed": column.get("hashed", False),
                    "is_primary_key": pk,
                    "enabled_patch_settings": column.get("enabled_patch_settings")
                    or (
                        {"allowed": False, "reason_code": "OTHER", "reason": "Primary key"}
                        if pk
                        else {"allowed": True}
                    ),
                }
            tables[tname] = {
                "name_in_destination": table.get("name_in_destination", tname.lower()),
                "enabled": table.get("enabled", True),
                "sync_mode": table.get("sync_mode", "SOFT_DELETE"),
                "supports_columns_config": table.get("supports_columns_config", True),
                "supports_history_mode": table.get("supports_history_mode", True),
                "enabled_patch_settings": table.get("enabled_patch_settings") or {"allowed": True},
                "columns": columns,
            }
        schemas[sname] = {
            "name_in_destination": schema.get("name_in_destination", sname.lower()),
            "enabled": schema.get("enabled", True),
            "tables": tables,
        }
    return {
        "enable_new_by_default": config.get("enable_new_by_default", True),
        "schema_change_handling": config.get("schema_change_handling", "ALLOW_ALL"),
        "schemas": schemas,
    }


def _patch_column(column: dict[str, Any], body: Any, where: str, *, create: bool) -> None:
    body = obj(body, where)
    for key, value in body.items():
        if key == "enabled":
            enabled = boolean(value, f"{where}.enabled")
            if not enabled and column.get("is_primary_key"):
                raise invalid(f"Column {where} is a primary key and cannot be blocked")
            column["enabled"] = enabled
            if enabled:
                column.pop("drop_from_destination", None)
        elif key == "hashed":
            column["hashed"] = boolean(value, f"{where}.hashed")
        elif key in ("is_primary_key", "name_in_destination", "enabled_patch_settings"):
            if create and key == "is_primary_key":
                column[key] = boolean(value, f"{where}.{key}")
        else:
            raise invalid(f"Unknown field '{where}.{key}'")


def _patch_table(table: dict[str, Any], body: Any, where: str, *, create: bool) -> None:
    body = obj(body, where)
    for key, value in body.items():
        if key == "enabled":
            table["enabled"] = boolean(value, f"{where}.enabled")
        elif key == "sync_mode":
            table["sync_mode"] = choice(value, f"{where}.sync_mode", SYNC_MODES)
        elif key == "columns":
            columns = table.setdefault("columns", {})
            for cname, cbody in obj(value, f"{where}.columns").items():
                cwhere = f"{where}.columns.{cname}"
                if cname not in columns:
                    if not create:
                        raise invalid(f"Column '{cname}' does not exist ({cwhere})")
                    columns[cname] = {}
                _patch_column(columns[cname], cbody, cwhere, create=create)
        elif key in (
            "name_in_destination",
            "supports_columns_config",
            "supports_history_mode",
            "enabled_patch_settings",
        ):
            continue
        else:
            raise invalid(f"Unknown field '{where}.{key}'")


def _patch_schema(schema: dict[str, Any], body: Any, where: str, *, create: bool) -> None:
    body = obj(body, where)
    for key, value in body.items():
        if key == "enabled":
            schema["enabled"] = boolean(value, f"{where}.enabled")
        elif key == "tables":
            tables = schema.setdefault("tables", {})
            for tname, tbody in obj(value, f"{where}.tables").items():
                twhere = f"{where}.tables.{tname}"
                if tname not in tables:
                    if not create:
                        raise invalid(f"Table '{tname}' does not exist ({twhere})")
                    tables[tname] = {"columns": {}}
                _patch_table(tables[tname], tbody, twhere, create=create)
        elif key == "name_in_destination":
            continue
        else:
            raise invalid(f"Unknown field '{where}.{key}'")


def patch_whole(config: dict[str, Any], body: dict[str, Any], *, create: bool = False) -> dict:
    """A new config with ``body`` applied (PATCH /schemas, or POST /schemas when ``create``)."""
    result = copy.deepcopy(config)
    for key, value in body.items():
        if key == "schema_change_handling":
            result[key] = choice(value, key, SCHEMA_CHANGE_HANDLING)
        elif key == "enable_new_by_default":
            result[key] = boolean(value, key)
        elif key == "schemas":
            schemas = result.setdefault("schemas", {})
            for sname, sbody in obj(value, "schemas").items():
                if sname not in schemas:
                    if not create:
                        raise invalid(f"Schema '{sname}' does not exist (schemas.{sname})")
                    schemas[sname] = {"tables": {}}
                _patch_schema(schemas[sname], sbody, f"schemas.{sname}", create=create)
        else:
            raise invalid(f"Unknown field '{key}'")
    return result


def patch_schema(config: dict[str, Any], schema: str, body: dict[str, Any]) -> dict:
    if schema not in config.get("schemas", {}):
        raise ApiError(404, "NotFound_Schema", f"Schema '{schema}' doesn't exist")
    return patch_whole(config, {"schemas": {schema: body}})


def patch_table(config: dict[str, Any], schema: str, table: str, body: dict[str, Any]) -> dict:
    if table not in config.get("schemas", {}).get(schema, {}).get("tables", {}):
        raise ApiError(404, "NotFound_Table", f"Table '{schema}.{table}' doesn't exist")
    return patch_whole(config, {"schemas": {schema: {"tables": {table: body}}}})


def patch_column(
    config: dict[str, Any], schema: str, table: str, column: str, body: dict[str, Any]
) -> dict:
    tables = config.get("schemas", {}).get(schema, {}).get("tables", {})
    if column not in tables.get(table, {}).get("columns", {}):
        raise ApiError(404, "NotFound_Column", f"Column '{schema}.{table}.{column}' doesn't exist")
    body = {"schemas": {schema: {"tables": {table: {"columns": {column: body}}}}}}
    return patch_whole(config, body)


def mark_dropped(config: dict[str, Any], body: dict[str, Any]) -> dict:
    """A new config with the blocked columns ``{schemas: {s: {tables: {t: {columns: [..]}}}}}``
    marked for deletion from the destination at the next sync; 409 for a column not blocked."""
    result = copy.deepcopy(config)
    for sname, sbody in obj(require(body, "schemas"), "schemas").items():
        tables = obj(require(obj(sbody, f"schemas.{sname}"), "tables"), f"schemas.{sname}.tables")
        for tname, tbody in tables.items():
            where = f"schemas.{sname}.tables.{tname}.columns"
            names = require(obj(tbody, f"schemas.{sname}.tables.{tname}"), "columns")
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise invalid(f"Field '{where}' must be a list of column names")
            for cname in names:
                columns = result.get("schemas", {}).get(sname, {}).get("tables", {})
                column = columns.get(tname, {}).get("columns", {}).get(cname)
                if column is None:
                    raise ApiError(
                        404, "NotFound_Column", f"Column '{sname}.{tname}.{cname}' doesn't exist"
                    )
                if column.get("enabled", True):
                    raise ApiError(
                        409,
                        "Conflict",
                        f"Column '{sname}.{tname}.{cname}' is not blocked: block it before "
                        "dropping it from the destination",
                    )
                column["drop_from_destination"] = True
    return result
