"""Helpers for the data-plane tests: demo databases, requests, destination reads."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from fivetran_assets.emulator.dataplane import api
from fivetran_assets.emulator.dataplane.contract import SyncReport, SyncRequest

SALT = "test-salt"


def never() -> bool:
    return False


def sha(value: str) -> str:
    return hashlib.sha256((SALT + value).encode()).hexdigest()


def demo_config(source: dict[str, Any], *, handling: str = "ALLOW_ALL") -> dict[str, Any]:
    """The demo estate's schema config: email hashed, ssn blocked, payroll disabled."""
    config, _ = api.merge_schema_config(
        None, api.capture_catalog("sqlite", source), schema_change_handling=handling
    )
    tables = config["schemas"]["main"]["tables"]
    tables["employees"]["columns"]["email"]["hashed"] = True
    tables["employees"]["columns"]["ssn"]["enabled"] = False
    tables["payroll"]["enabled"] = False
    return config


def request(
    db: Path,
    warehouse: Path,
    state: Path,
    config: dict[str, Any],
    *,
    prefix: str | None = None,
    **kwargs: Any,
) -> SyncRequest:
    return SyncRequest(
        connection_id=f"conn_{db.stem}",
        source_service="sqlite",
        source_config={"database": str(db)},
        destination_service="duckdb",
        destination_config={"path": str(warehouse)},
        schema_prefix=prefix or db.stem,
        schema_config=config,
        salt=SALT,
        state_dir=state,
        **kwargs,
    )


def sync(req: SyncRequest, cancelled: Callable[[], bool] = never) -> SyncReport:
    return api.run_sync(req, cancelled=cancelled)


def counts(report: SyncReport) -> dict[str, tuple[int, int]]:
    return {t.table: (t.rows_upserted, t.rows_deleted) for t in report.tables}


def query(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def source_rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def execute(db: Path, *statements: str) -> None:
    conn = sqlite3.connect(db)
    try:
        with conn:
            for statement in statements:
                conn.execute(statement)
    finally:
        conn.close()


OPENAPI = Path(__file__).resolve().parents[1] / "reference" / "fivetran-openapi.json"


def response_schema(name: str) -> dict[str, Any]:
    """A component schema of Fivetran's vendored OpenAPI definition, refs resolvable."""
    import json

    document = json.loads(OPENAPI.read_text())
    return {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
