"""Connecting to PostgreSQL from a connection or destination config, with readable errors.

Two drivers: psycopg for catalog reads, setup tests and dbt's warehouse, and ADBC (libpq,
Arrow in and out over COPY) for moving rows, where a sync spends its time.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import psycopg

from fivetran_assets.emulator.dataplane.contract import DataPlaneError

REQUIRED = ("host", "port", "database", "user")


def _port(config: dict[str, Any]) -> int:
    missing = [name for name in REQUIRED if config.get(name) in (None, "")]
    if missing:
        raise DataPlaneError(f"config: missing {', '.join('config.' + m for m in missing)}")
    try:
        return int(config["port"])
    except (TypeError, ValueError):
        raise DataPlaneError(f"config.port: {config['port']!r} is not a port number") from None


def _failed(config: dict[str, Any], port: int, exc: Exception) -> DataPlaneError:
    reason = str(exc).strip()
    password = str(config.get("password") or "")
    if password:
        reason = reason.replace(password, "******").replace(quote(password, safe=""), "******")
    return DataPlaneError(
        f"cannot connect to PostgreSQL {config['host']}:{port}/{config['database']}: {reason}"
    )


def connect(config: dict[str, Any], *, autocommit: bool = False) -> psycopg.Connection:
    """Open a connection; the error names what failed and never contains the password."""
    port = _port(config)
    try:
        return psycopg.connect(
            host=str(config["host"]),
            port=port,
            dbname=str(config["database"]),
            user=str(config["user"]),
            password=str(config.get("password") or ""),
            connect_timeout=10,
            autocommit=autocommit,
        )
    except psycopg.Error as exc:
        raise _failed(config, port, exc) from exc


def connect_adbc(config: dict[str, Any], *, autocommit: bool = False) -> Any:
    """An ADBC (DB-API) connection to the same database, for Arrow reads and bulk loads."""
    import adbc_driver_postgresql.dbapi as adbc

    port = _port(config)
    user = quote(str(config["user"]), safe="")
    password = str(config.get("password") or "")
    login = f"{user}:{quote(password, safe='')}" if password else user
    database = quote(str(config["database"]), safe="")
    uri = f"postgresql://{login}@{config['host']}:{port}/{database}?connect_timeout=10"
    try:
        return adbc.connect(uri, autocommit=autocommit)
    except adbc.Error as exc:
        raise _failed(config, port, exc) from exc
