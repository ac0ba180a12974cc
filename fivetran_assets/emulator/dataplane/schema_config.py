"""Merge a captured source catalog into a connection's schema config (Fivetran's reload rules).

The config has the shape of `GET /v1/connections/{id}/schemas` `data`, and each column also
keeps the source's declared type (`type_in_source`, which the metadata API reports). Settings a user
made are never overwritten; what is new follows `schema_change_handling` and `exclude_mode`;
what disappeared at the source stays, as Fivetran keeps it.

A schema's `name_in_destination` is the schema the data lands in (Fivetran's OpenAPI: "the
schema name within your destination"); for a database connection that is
`<schema_prefix>_<source schema>`, so pass `schema_prefix` to report it as Fivetran does.
"""

from __future__ import annotations

import copy
from enum import StrEnum
from typing import Any

from fivetran_assets.emulator.dataplane.contract import (
    Catalog,
    ColumnInfo,
    DataPlaneError,
    TableInfo,
)
from fivetran_assets.emulator.dataplane.naming import destination_schema, fivetran_name


class SchemaChangeHandling(StrEnum):
    ALLOW_ALL = "ALLOW_ALL"
    ALLOW_COLUMNS = "ALLOW_COLUMNS"
    BLOCK_ALL = "BLOCK_ALL"


class ExcludeMode(StrEnum):
    PRESERVE = "PRESERVE"
    EXCLUDE = "EXCLUDE"


def _parse(enum: type[StrEnum], value: str, field: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise DataPlaneError(f"{field}: {value!r} is not one of {allowed}") from None


def _column(name: str, info: ColumnInfo, *, enabled: bool) -> dict[str, Any]:
    is_primary_key = info.is_primary_key
    patch: dict[str, Any] = {"allowed": not is_primary_key}
    if is_primary_key:
        patch |= {"reason_code": "OTHER", "reason": "Primary key columns cannot be blocked"}
    return {
        "type_in_source": info.type,
        "name_in_destination": fivetran_name(name),
        "enabled": enabled or is_primary_key,
        "hashed": False,
        "is_primary_key": is_primary_key,
        "enabled_patch_settings": patch,
    }


def _table(name: str, info: TableInfo, *, enabled: bool) -> dict[str, Any]:
    return {
        "name_in_destination": fivetran_name(name),
        "enabled": enabled,
        "sync_mode": "SOFT_DELETE",
        "supports_columns_config": True,
        "supports_history_mode": False,
        "enabled_patch_settings": {"allowed": True},
        "columns": {col: _column(col, ci, enabled=True) for col, ci in info.columns.items()},
    }


def merge_schema_config(
    current: dict[str, Any] | None,
    catalog: Catalog,
    *,
    schema_change_handling: str,
    exclude_mode: str = "PRESERVE",
    schema_prefix: str | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Return the new schema config and a list of what appeared at the source.

    First capture: everything is enabled (disabled with exclude_mode EXCLUDE). Later: new
    schemas and tables are enabled only under ALLOW_ALL, new columns of known tables under
    ALLOW_ALL and ALLOW_COLUMNS; EXCLUDE disables everything new. Primary keys stay enabled.
    With `schema_prefix`, schemas report their destination schema (`<prefix>_<schema>`), also
    those an earlier capture stored under the bare source name.
    """
    handling = _parse(SchemaChangeHandling, schema_change_handling, "schema_change_handling")
    mode = _parse(ExcludeMode, exclude_mode, "exclude_mode")
    first = current is None
    exclude = mode is ExcludeMode.EXCLUDE
    new_container_on = not exclude and (first or handling is SchemaChangeHandling.ALLOW_ALL)
    new_column_on = not exclude and (first or handling is not SchemaChangeHandling.BLOCK_ALL)

    config = copy.deepcopy(current) if current is not None else {}
    config["schema_change_handling"] = handling.value
    config["enable_new_by_default"] = handling is SchemaChangeHandling.ALLOW_ALL
    schemas: dict[str, Any] = config.setdefault("schemas", {})
    changes: list[str] = []
    for schema_name, tables in catalog.items():
        schema = schemas.get(schema_name)
        bare = fivetran_name(schema_name)
        landed = destination_schema(schema_prefix, schema_name) if schema_prefix else bare
        if schema is None:
            schema = schemas[schema_name] = {
                "name_in_destination": landed,
                "enabled": new_container_on,
                "tables": {},
            }
            if not first:
                changes.append(f"schema {schema_name} added (enabled={new_container_on})")
        elif schema.get("name_in_destination") in (None, bare):
            schema["name_in_destination"] = landed
        table_configs: dict[str, Any] = schema.setdefault("tables", {})
        for table_name, info in tables.items():
            table = table_configs.get(table_name)
            if table is None:
                table_configs[table_name] = _table(table_name, info, enabled=new_container_on)
                if not first:
                    changes.append(
                        f"table {schema_name}.{table_name} added (enabled={new_container_on})"
                    )
                continue
            columns: dict[str, Any] = table.setdefault("columns", {})
            for col_name, col in info.columns.items():
                existing = columns.get(col_name)
                if existing is not None:
                    existing["is_primary_key"] = col.is_primary_key
                    existing["type_in_source"] = col.type
                    continue
                columns[col_name] = _column(col_name, col, enabled=new_column_on)
                changes.append(
                    f"column {schema_name}.{table_name}.{col_name} added "
                    f"(enabled={columns[col_name]['enabled']})"
                )
    return config, changes
