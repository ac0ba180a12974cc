"""Column types: a source's declared type -> a logical type -> each destination's SQL type.

Sources declare types loosely (SQLite affinity names, PostgreSQL `format_type` strings); the
destinations need one vocabulary to create columns and cast the Arrow batches they receive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    BOOLEAN = "BOOLEAN"
    INTEGER = "INTEGER"
    DECIMAL = "DECIMAL"
    DOUBLE = "DOUBLE"
    STRING = "STRING"
    DATE = "DATE"
    TIMESTAMP = "TIMESTAMP"
    TIMESTAMPTZ = "TIMESTAMPTZ"
    BINARY = "BINARY"


@dataclass(frozen=True)
class LogicalType:
    kind: Kind
    precision: int | None = None
    scale: int | None = None


STRING = LogicalType(Kind.STRING)
BOOLEAN = LogicalType(Kind.BOOLEAN)
TIMESTAMP = LogicalType(Kind.TIMESTAMP)

_PRECISION = re.compile(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")


def logical_type(declared: str) -> LogicalType:
    """Map a declared source type to a logical type (SQLite affinity rules, PostgreSQL names)."""
    t = declared.strip().upper()
    if t.startswith("BOOL"):
        return BOOLEAN
    if "TIMESTAMP" in t or "DATETIME" in t:
        tz = "WITH TIME ZONE" in t or t.startswith("TIMESTAMPTZ")
        return LogicalType(Kind.TIMESTAMPTZ) if tz else TIMESTAMP
    if t == "DATE":
        return LogicalType(Kind.DATE)
    if t.startswith(("NUMERIC", "DECIMAL")):
        match = _PRECISION.search(t)
        if match and int(match.group(1)) <= 38:
            return LogicalType(Kind.DECIMAL, int(match.group(1)), int(match.group(2) or 0))
        return LogicalType(Kind.DOUBLE)
    if "INT" in t and "INTERVAL" not in t:
        return LogicalType(Kind.INTEGER)
    if any(word in t for word in ("REAL", "FLOA", "DOUB")):
        return LogicalType(Kind.DOUBLE)
    if t.startswith(("BLOB", "BYTEA")):
        return LogicalType(Kind.BINARY)
    return STRING


def duckdb_type(lt: LogicalType) -> str:
    if lt.kind is Kind.DECIMAL:
        return f"DECIMAL({lt.precision},{lt.scale})"
    return {
        Kind.BOOLEAN: "BOOLEAN",
        Kind.INTEGER: "BIGINT",
        Kind.DOUBLE: "DOUBLE",
        Kind.STRING: "VARCHAR",
        Kind.DATE: "DATE",
        Kind.TIMESTAMP: "TIMESTAMP",
        Kind.TIMESTAMPTZ: "TIMESTAMPTZ",
        Kind.BINARY: "BLOB",
    }[lt.kind]


def postgres_type(lt: LogicalType) -> str:
    if lt.kind is Kind.DECIMAL:
        return f"numeric({lt.precision},{lt.scale})"
    return {
        Kind.BOOLEAN: "boolean",
        Kind.INTEGER: "bigint",
        Kind.DOUBLE: "double precision",
        Kind.STRING: "text",
        Kind.DATE: "date",
        Kind.TIMESTAMP: "timestamp",
        Kind.TIMESTAMPTZ: "timestamptz",
        Kind.BINARY: "bytea",
    }[lt.kind]


def quote(name: str) -> str:
    """A double-quoted SQL identifier (DuckDB and PostgreSQL agree on the syntax)."""
    return '"' + name.replace('"', '""') + '"'
