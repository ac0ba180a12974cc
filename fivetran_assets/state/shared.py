"""The shared state of one deployment: where it lives, and one connection to it per process.

`StateLocation` is the rule: `$FIVETRAN_ASSETS_RATE_STATE`, else the estate's
`account.rate_state`, names a database (PostgreSQL in a deployment); without one, a SQLite file
`state.sqlite` in the state folder (`$FIVETRAN_ASSETS_STATE_DIR`, else `<project>/.state`). It
holds the rate budget's spends and pauses, secret fingerprints, the apply lock's holder and,
when `dagster.yaml` says so, Dagster's definitions state (`dagster.defs_state`);
the lock itself is a PostgreSQL advisory lock on a database, an OS file lock in the state folder
otherwise.

`SharedState.open(url)` hands out one connection per database per process, guarded by a lock
and reopened after a failure, so every client, limiter and fingerprint store of a process share
it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from fivetran_assets.state.database import (
    Database,
    DatabaseURL,
    Dialect,
    StateUnavailable,
)
from fivetran_assets.state.migrations import Migration, ensure_schema

T = TypeVar("T")

RATE_STATE_ENV = "FIVETRAN_ASSETS_RATE_STATE"
STATE_DIR_ENV = "FIVETRAN_ASSETS_STATE_DIR"
STATE_FILE = "state.sqlite"
COMPONENT = "shared_state"


def state_folder(root: Path | None, environ: Mapping[str, str] | None = None) -> Path:
    """The state folder: `$FIVETRAN_ASSETS_STATE_DIR` (relative to `root`), else `root/.state`."""
    env = os.environ if environ is None else environ
    base = root if root is not None else Path.cwd()
    explicit = (env.get(STATE_DIR_ENV) or "").strip()
    return base / explicit if explicit else base / ".state"


@dataclass(frozen=True)
class StateLocation:
    """Where the processes of a deployment keep what they share (see the module docstring)."""

    folder: Path
    url: DatabaseURL | None = None

    @property
    def database(self) -> DatabaseURL:
        return self.url or DatabaseURL.parse(self.folder / STATE_FILE)

    @property
    def uses_database_lock(self) -> bool:
        """True on PostgreSQL (advisory locks); otherwise a file lock in `folder`."""
        return self.database.dialect is Dialect.POSTGRES

    def shared(self) -> SharedState:
        return SharedState.open(self.database)

    def describe(self) -> str:
        return self.database.masked


def _real(db: Database) -> str:
    return "REAL" if db.dialect is Dialect.SQLITE else "DOUBLE PRECISION"


def _v1(db: Database) -> None:
    real = _real(db)
    db.execute(
        "CREATE TABLE rate_spends (account TEXT NOT NULL, bucket TEXT NOT NULL,"
        f" at {real} NOT NULL)"
    )
    db.execute("CREATE INDEX rate_spends_by_time ON rate_spends (account, bucket, at)")
    db.execute(f"CREATE TABLE rate_pauses (account TEXT PRIMARY KEY, until {real} NOT NULL)")
    db.execute(
        "CREATE TABLE secret_fingerprints (scope TEXT NOT NULL, resource_id TEXT NOT NULL,"
        " path TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (scope, resource_id, path))"
    )
    db.execute("CREATE TABLE state_keys (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute(
        "CREATE TABLE apply_lock_holders (name TEXT PRIMARY KEY, host TEXT NOT NULL,"
        f" pid INTEGER NOT NULL, started_at {real} NOT NULL, command TEXT NOT NULL)"
    )


def _v2(db: Database) -> None:
    db.execute("ALTER TABLE rate_spends ADD COLUMN token TEXT")
    db.execute("CREATE INDEX rate_spends_by_token ON rate_spends (account, token)")
    db.execute(
        "CREATE TABLE rate_counts (account TEXT NOT NULL, bucket TEXT NOT NULL,"
        " spent INTEGER NOT NULL, PRIMARY KEY (account, bucket))"
    )


def _v3(db: Database) -> None:
    blob = "BLOB" if db.dialect is Dialect.SQLITE else "BYTEA"
    db.execute(
        "CREATE TABLE defs_state (key TEXT NOT NULL, version TEXT NOT NULL,"
        f" body {blob} NOT NULL, stored_at {_real(db)} NOT NULL, PRIMARY KEY (key, version))"
    )


MIGRATIONS = (
    Migration(1, "rate budget, secret fingerprints, apply lock holders", _v1),
    Migration(2, "spends counted from their answer; a running count per window", _v2),
    Migration(3, "Dagster definitions state (dagster.defs_state)", _v3),
)


class SharedState:
    """One migrated connection to a shared-state database; `run(fn)` uses it under a lock."""

    _instances: dict[tuple[int, str, str], SharedState] = {}
    _instances_lock = threading.Lock()

    def __init__(self, url: DatabaseURL) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._db: Database | None = None
        with self._lock:
            self._connect()

    @classmethod
    def open(cls, url: DatabaseURL) -> SharedState:
        """The process's instance for `url` (created, and the database migrated, on first use)."""
        # The pid: a forked child must not share its parent's connection.
        key = (os.getpid(), url.dialect.value, url.conninfo or str(url.path))
        with cls._instances_lock:
            found = cls._instances.get(key)
            if found is None:
                found = cls._instances[key] = cls(url)
            return found

    def __repr__(self) -> str:
        return f"SharedState({self.url.masked!r})"

    def _connect(self) -> Database:
        if self._db is None or self._db.broken:
            if self._db is not None:
                self._db.close()
            self._db = None
            # Processes opening a fresh SQLite file at once: switching it to WAL can answer
            # "database is locked" without waiting on the busy timeout, so the setup is retried.
            deadline = time.monotonic() + 60.0
            while True:
                db = Database(self.url, busy_timeout=60.0)
                try:
                    if db.dialect is Dialect.SQLITE:
                        db.execute("PRAGMA journal_mode=WAL")
                        db.execute("PRAGMA synchronous=NORMAL")
                    ensure_schema(db, COMPONENT, MIGRATIONS, what="shared state")
                    break
                except Exception as exc:
                    db.close()
                    locked = db.dialect is Dialect.SQLITE and "database is locked" in str(exc)
                    if not locked or time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
                except BaseException:
                    db.close()
                    raise
            self._db = db
        return self._db

    def run(self, work: Callable[[Database], T]) -> T:
        """Run `work` with the connection (one caller at a time); reconnect after a failure."""
        with self._lock:
            db = self._connect()
            try:
                return work(db)
            except StateUnavailable:
                db.close()
                raise
