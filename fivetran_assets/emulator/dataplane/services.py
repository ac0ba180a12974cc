"""The source and destination services the local Fivetran supports (connector-types metadata)."""

from __future__ import annotations

from fivetran_assets.emulator.dataplane.contract import ConfigField, ServiceInfo

_PREFIX = ConfigField(
    "schema_prefix",
    "Prefix of the destination schemas: source schema s lands in <schema_prefix>_s.",
    required=True,
)

SOURCE_SERVICES: dict[str, ServiceInfo] = {
    "postgres": ServiceInfo(
        id="postgres",
        name="PostgreSQL",
        type="Database",
        description="A PostgreSQL database; incremental syncs use xmin and a primary-key scan.",
        fields=(
            ConfigField("host", "Server host name or address.", required=True),
            ConfigField("port", "Server port.", required=True),
            ConfigField("database", "Database name.", required=True),
            ConfigField("user", "User name.", required=True),
            ConfigField("password", "Password.", required=True, secret=True),
            _PREFIX,
            ConfigField("schemas", "Only these source schemas (list or comma-separated)."),
        ),
    ),
    "sqlite": ServiceInfo(
        id="sqlite",
        name="SQLite file (local Fivetran only)",
        type="Database",
        description=(
            "A SQLite database file on the local Fivetran's machine; incremental syncs use "
            "trigger-based change capture installed in the file on the first sync."
        ),
        fields=(
            ConfigField("database", "Path of the SQLite file.", required=True),
            ConfigField("schema", "Name of the source schema (default main)."),
            _PREFIX,
        ),
        local_only=True,
    ),
}

DESTINATION_SERVICES: dict[str, ServiceInfo] = {
    "duckdb": ServiceInfo(
        id="duckdb",
        name="DuckDB file (local Fivetran only)",
        type="Warehouse",
        description="A DuckDB database file, opened per table write so others can read it.",
        fields=(ConfigField("path", "Path of the DuckDB file.", required=True),),
        local_only=True,
    ),
    "postgres_warehouse": ServiceInfo(
        id="postgres_warehouse",
        name="PostgreSQL",
        type="Warehouse",
        description="A PostgreSQL database used as the warehouse.",
        fields=(
            ConfigField("host", "Server host name or address.", required=True),
            ConfigField("port", "Server port.", required=True),
            ConfigField("database", "Database name.", required=True),
            ConfigField("user", "User name.", required=True),
            ConfigField("password", "Password.", required=True, secret=True),
        ),
    ),
}
