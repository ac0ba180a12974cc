"""Typed records for a connection's schema config: schemas -> tables -> columns.

Names are the source names (case-sensitive), as Fivetran keys them; `name_in_destination` is
what lands in the warehouse. `enabled_patch_allowed` is False for objects Fivetran will not let
you toggle (system tables, primary-key columns).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fivetran_assets.fivetran.enums import SchemaChangeHandling, SyncMode, parse_enum
from fivetran_assets.fivetran.errors import UnexpectedResponseError
from fivetran_assets.fivetran.parsing import as_mapping, flag, is_mapping, obj, opt_bool, opt_str


def _patch_allowed(d: Mapping[str, Any], record: str) -> bool:
    settings = obj(d, "enabled_patch_settings", record)
    allowed = opt_bool(settings, "allowed", record + ".enabled_patch_settings")
    return True if allowed is None else allowed


def _children(d: Mapping[str, Any], key: str, record: str) -> Mapping[str, Any]:
    children = obj(d, key, record)
    for name, child in children.items():
        if not is_mapping(child):
            raise UnexpectedResponseError(f"{record}.{key}.{name}: expected an object")
    return children


@dataclass(frozen=True, slots=True)
class ColumnSettings:
    name: str
    name_in_destination: str | None
    enabled: bool
    hashed: bool
    is_primary_key: bool
    enabled_patch_allowed: bool

    @classmethod
    def from_api(cls, name: str, data: object) -> ColumnSettings:
        if type(data) is dict:
            # The common case, checked in one go: a plan parses ~30 columns per connection of
            # thousands, and the general readers below cost a third of a plan's client CPU.
            named = data.get("name_in_destination")
            enabled = data.get("enabled", True)
            hashed = data.get("hashed", False)
            key = data.get("is_primary_key", False)
            patch = data.get("enabled_patch_settings")
            allowed = patch.get("allowed", True) if type(patch) is dict else patch
            if (
                (named is None or type(named) is str)
                and type(enabled) is bool
                and type(hashed) is bool
                and type(key) is bool
                and (allowed is None or type(allowed) is bool)
            ):
                return cls(name, named, enabled, hashed, key, allowed is not False)
        r = f"Column[{name}]"
        d = as_mapping(data, r)
        return cls(
            name=name,
            name_in_destination=opt_str(d, "name_in_destination", r),
            enabled=flag(d, "enabled", r, default=True),
            hashed=flag(d, "hashed", r),
            is_primary_key=flag(d, "is_primary_key", r),
            enabled_patch_allowed=_patch_allowed(d, r),
        )


def columns_from_api(data: object, record: str) -> dict[str, ColumnSettings]:
    """Columns keyed by source name from a `{"columns": {...}}` object."""
    d = as_mapping(data, record)
    return {
        name: ColumnSettings.from_api(name, col)
        for name, col in _children(d, "columns", record).items()
    }


@dataclass(frozen=True, slots=True)
class TableSettings:
    name: str
    name_in_destination: str | None
    enabled: bool
    sync_mode: SyncMode | str | None
    supports_columns_config: bool
    enabled_patch_allowed: bool
    columns: Mapping[str, ColumnSettings]

    @classmethod
    def from_api(cls, name: str, data: object) -> TableSettings:
        r = f"Table[{name}]"
        d = as_mapping(data, r)
        return cls(
            name=name,
            name_in_destination=opt_str(d, "name_in_destination", r),
            enabled=flag(d, "enabled", r, default=True),
            sync_mode=parse_enum(SyncMode, d.get("sync_mode")),
            supports_columns_config=flag(d, "supports_columns_config", r, default=True),
            enabled_patch_allowed=_patch_allowed(d, r),
            columns=columns_from_api(d, r),
        )


@dataclass(frozen=True, slots=True)
class SchemaSettings:
    name: str
    name_in_destination: str | None
    enabled: bool
    tables: Mapping[str, TableSettings]

    @classmethod
    def from_api(cls, name: str, data: object) -> SchemaSettings:
        r = f"Schema[{name}]"
        d = as_mapping(data, r)
        return cls(
            name=name,
            name_in_destination=opt_str(d, "name_in_destination", r),
            enabled=flag(d, "enabled", r, default=True),
            tables={
                t: TableSettings.from_api(t, td) for t, td in _children(d, "tables", r).items()
            },
        )


@dataclass(frozen=True, slots=True)
class SchemaConfig:
    """`GET /v1/connections/{id}/schemas`: what a connection syncs and how."""

    schema_change_handling: SchemaChangeHandling | str | None
    enable_new_by_default: bool | None
    schemas: Mapping[str, SchemaSettings]

    def enabled_tables(self) -> list[tuple[SchemaSettings, TableSettings]]:
        """Every (schema, table) pair that syncs: both the schema and the table are enabled."""
        return [
            (schema, table)
            for schema in self.schemas.values()
            if schema.enabled
            for table in schema.tables.values()
            if table.enabled
        ]

    @classmethod
    def from_api(cls, data: object) -> SchemaConfig:
        r = "SchemaConfig"
        d = as_mapping(data, r)
        return cls(
            schema_change_handling=parse_enum(
                SchemaChangeHandling, d.get("schema_change_handling")
            ),
            enable_new_by_default=opt_bool(d, "enable_new_by_default", r),
            schemas={
                s: SchemaSettings.from_api(s, sd) for s, sd in _children(d, "schemas", r).items()
            },
        )
