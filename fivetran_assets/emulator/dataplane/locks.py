"""One writer at a time per destination inside this process (DuckDB files allow a single writer).

Syncs and dbt runs that target the same destination take the same lock, so a dbt subprocess
never finds the DuckDB file held by a sync of this server, and two syncs never interleave.
"""

from __future__ import annotations

import threading
from pathlib import Path

_guard = threading.Lock()
_locks: dict[str, threading.Lock] = {}


def destination_lock(key: str) -> threading.Lock:
    """The lock of one destination, keyed by a stable identity (a resolved path, a DSN)."""
    with _guard:
        return _locks.setdefault(key, threading.Lock())


def duckdb_lock(path: str | Path) -> threading.Lock:
    """The lock of a DuckDB file; any spelling of the same path gives the same lock."""
    return destination_lock("duckdb:" + str(Path(path).expanduser().resolve()))
