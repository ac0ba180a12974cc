"""Connecting to PostgreSQL from a connection or destination config, with readable errors."""

from __future__ import annotations

from typing import Any

import psycopg

from fivetran_assets.emulator.dataplane.contract import DataPlaneError

REQUIRED = ("host", "port", "database", "user")


def connect(config: dict[str, Any], *, autocommit: bool = False) -> psycopg.Connection:
    """Open a connection; the error names what failed and never contains the password."""
    missing = [name for name in REQUIRED if config.get(name) in (None, "")]
    if missing:
        raise DataPlaneError(f"config: missing {', '.join('config.' + m for m in missing)}")
    try:
        port = int(config["port"])
    except (TypeError, ValueError):
        raise DataPlaneError(f"config.port: {config['port']!r} is not a port number") from None
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
        reason = str(exc).strip()
        password = str(config.get("password") or "")
        if password:
            reason = reason.replace(password, "******")
        raise DataPlaneError(
            f"cannot connect to PostgreSQL {config['host']}:{port}/{config['database']}: {reason}"
        ) from exc
