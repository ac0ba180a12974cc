"""Fivetran's naming and hashing rules, shared by schema capture and the sync engine.

Kept in one place so that the name the API shows in `name_in_destination` and the name a sync
writes can never disagree.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

_NON_ALNUM = re.compile(r"[^a-z0-9_]")


def fivetran_name(name: str) -> str:
    """Fivetran's destination naming: lowercase, anything but letters, digits and `_` -> `_`.

    A name starting with a digit gets a leading underscore, as SQL identifiers cannot start
    with one unquoted.
    """
    out = _NON_ALNUM.sub("_", name.strip().lower())
    if not out:
        raise ValueError(f"cannot derive a destination name from {name!r}")
    return f"_{out}" if out[0].isdigit() else out


def destination_schema(schema_prefix: str, source_schema: str) -> str:
    """The destination schema of a database connection: `<schema_prefix>_<source schema>`."""
    return fivetran_name(f"{schema_prefix}_{source_schema}")


def value_text(value: Any) -> str:
    """The text a value is hashed from: what the source would print for it."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def hash_value(salt: str, value: Any) -> str | None:
    """A hashed column's value: hex SHA-256 of salt + value; NULL stays NULL so joins still work."""
    if value is None:
        return None
    return hashlib.sha256((salt + value_text(value)).encode("utf-8")).hexdigest()


def row_id(values: Iterable[Any]) -> str:
    """`_fivetran_id` of a row of a table without a primary key: a hash of its values."""
    digest = hashlib.sha256()
    for value in values:
        digest.update(b"\x00" if value is None else b"\x01" + value_text(value).encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()
