"""A connection's schema config: capture it, read it, and change it at any level."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fivetran_assets.fivetran.enums import ExcludeMode, SchemaChangeHandling, SyncMode
from fivetran_assets.fivetran.errors import NotFoundError
from fivetran_assets.fivetran.resources.base import ResourceBase, body_of, seg
from fivetran_assets.fivetran.schema_config import ColumnSettings, SchemaConfig, columns_from_api

RELOAD_TIMEOUT = (10.0, 600.0)
"""Reloading reads the source's catalog; it can take minutes on a large database."""


class SchemasMixin(ResourceBase):
    def get_schema_config(self, connection_id: str) -> SchemaConfig | None:
        """`GET /v1/connections/{connectionId}/schemas`; None before the schema was captured.

        Fivetran answers 404 `NotFound_SchemaConfig` until the first reload or sync; any other
        404 (the connection itself is gone) is raised.
        """
        path = self._connection_path(connection_id, "schemas")
        try:
            data = self._http.data("GET", path)
        except NotFoundError as error:
            if error.code == "NotFound_SchemaConfig":
                return None
            raise
        return SchemaConfig.from_api(data)

    def reload_schema_config(
        self, connection_id: str, *, exclude_mode: ExcludeMode | str = ExcludeMode.PRESERVE
    ) -> SchemaConfig:
        """`POST /v1/connections/{connectionId}/schemas/reload`: capture the source's schema.

        Source-touching and slow; counted against the stricter source-call limit.
        """
        path = self._connection_path(connection_id, "schemas", "reload")
        data = self._http.data(
            "POST", path, body={"exclude_mode": exclude_mode}, timeout=RELOAD_TIMEOUT
        )
        return SchemaConfig.from_api(data)

    def create_schema_config(
        self, connection_id: str, config: Mapping[str, Any] | None = None
    ) -> SchemaConfig:
        """`POST /v1/connections/{connectionId}/schemas`: pre-create a new connection's config."""
        path = self._connection_path(connection_id, "schemas")
        return SchemaConfig.from_api(self._http.data("POST", path, body=dict(config or {})))

    def update_schema_config(
        self,
        connection_id: str,
        *,
        schema_change_handling: SchemaChangeHandling | str | None = None,
        schemas: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> SchemaConfig:
        """`PATCH /v1/connections/{connectionId}/schemas`: many schemas and tables in one call.

        `schemas` has the API's nested shape (`{schema: {enabled, tables: {t: {...}}}}`).
        """
        body = body_of(extra, schema_change_handling=schema_change_handling, schemas=schemas)
        if not body:
            raise ValueError("update_schema_config needs at least one field to change")
        path = self._connection_path(connection_id, "schemas")
        return SchemaConfig.from_api(self._http.data("PATCH", path, body=body))

    def update_schema(
        self,
        connection_id: str,
        schema: str,
        *,
        enabled: bool | None = None,
        tables: Mapping[str, Any] | None = None,
    ) -> SchemaConfig:
        """`PATCH /v1/connections/{connectionId}/schemas/{schemaName}`."""
        body = body_of(None, enabled=enabled, tables=tables)
        path = self._connection_path(connection_id, "schemas", seg(schema))
        return SchemaConfig.from_api(self._http.data("PATCH", path, body=body))

    def update_table(
        self,
        connection_id: str,
        schema: str,
        table: str,
        *,
        enabled: bool | None = None,
        sync_mode: SyncMode | str | None = None,
        columns: Mapping[str, Any] | None = None,
    ) -> SchemaConfig:
        """`PATCH /v1/connections/{connectionId}/schemas/{schemaName}/tables/{tableName}`."""
        body = body_of(None, enabled=enabled, sync_mode=sync_mode, columns=columns)
        path = self._connection_path(connection_id, "schemas", seg(schema), "tables", seg(table))
        return SchemaConfig.from_api(self._http.data("PATCH", path, body=body))

    def update_column(
        self,
        connection_id: str,
        schema: str,
        table: str,
        column: str,
        *,
        enabled: bool,
        hashed: bool | None = None,
        is_primary_key: bool | None = None,
    ) -> SchemaConfig:
        """`PATCH .../schemas/{schemaName}/tables/{tableName}/columns/{columnName}`.

        `enabled` is required by the API. Primary-key columns cannot be disabled.
        """
        body = body_of(None, enabled=enabled, hashed=hashed, is_primary_key=is_primary_key)
        path = self._connection_path(
            connection_id, "schemas", seg(schema), "tables", seg(table), "columns", seg(column)
        )
        return SchemaConfig.from_api(self._http.data("PATCH", path, body=body))

    def list_table_columns(
        self, connection_id: str, schema: str, table: str
    ) -> dict[str, ColumnSettings]:
        """`GET /v1/connections/{connectionId}/schemas/{schema}/tables/{table}/columns`.

        The full column list, including columns the schema config leaves out.
        """
        path = self._connection_path(
            connection_id, "schemas", seg(schema), "tables", seg(table), "columns"
        )
        return columns_from_api(self._http.data("GET", path), f"Columns[{schema}.{table}]")
