"""One connection to the shared-state database: a SQLite file or PostgreSQL, from one URL.

`DatabaseURL.parse` accepts `sqlite:///relative/path`, `sqlite:////absolute/path`, a bare file
path (the embedded default), or `postgresql://user:password@host:port/db` (also `postgres://`
and SQLAlchemy's `postgresql+psycopg://`). Its `str` and `repr` mask the password, and every
error raised here names the masked URL and the reason with the password scrubbed from it.

`Database` wraps one DB-API connection with the few things both dialects need: `?` placeholders
(translated for psycopg), explicit transactions (`BEGIN IMMEDIATE` on SQLite, so a writer takes
the file's lock up front instead of failing to upgrade later), named transaction locks
(PostgreSQL advisory locks; SQLite's write transaction already excludes every other writer) and
the database's clock. On PostgreSQL the project's tables live in their own schema,
`fivetran_assets`, so they never meet Dagster's tables in a shared database.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

PG_SCHEMA = "fivetran_assets"
MASK = "***"


class Dialect(StrEnum):
    SQLITE = "sqlite"
    POSTGRES = "postgresql"


class StateError(Exception):
    """A shared-state database is unusable: bad URL, unreachable, or a schema we cannot use."""


class StateUnavailable(StateError):
    """The database could not be reached or failed while in use; trying again later may work."""


@dataclass(frozen=True)
class DatabaseURL:
    """Where a database is: a SQLite `path`, or a PostgreSQL `conninfo` (held, never shown)."""

    dialect: Dialect
    path: Path | None = None
    conninfo: str = field(default="", repr=False)

    @classmethod
    def parse(cls, value: str | Path, *, base: Path | None = None) -> DatabaseURL:
        """Parse a URL or bare path; relative SQLite paths are relative to `base` (or the cwd)."""
        if isinstance(value, Path):
            return cls(Dialect.SQLITE, path=_under(base, value))
        text = value.strip()
        if not text:
            raise StateError(
                "empty database URL: give a file path, sqlite:///PATH or postgresql://"
            )
        if "://" not in text:
            return cls(Dialect.SQLITE, path=_under(base, Path(text)))
        scheme, _, rest = text.partition("://")
        scheme = scheme.lower()
        if scheme == "sqlite":
            # SQLAlchemy's convention: sqlite:///relative, sqlite:////absolute.
            if not rest.startswith("/") or rest == "/":
                raise StateError(
                    f"SQLite URL {text!r} has no path: write sqlite:///relative/file.sqlite or "
                    "sqlite:////absolute/file.sqlite"
                )
            return cls(Dialect.SQLITE, path=_under(base, Path(rest[1:])))
        if scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+"):
            conninfo = "postgresql://" + rest
            parts = urlsplit(conninfo)
            if not parts.hostname and "host=" not in parts.query:
                raise StateError(f"PostgreSQL URL {_mask(conninfo)!r} names no host")
            return cls(Dialect.POSTGRES, conninfo=conninfo)
        raise StateError(
            f"unsupported database URL scheme {scheme!r} in {_mask(text)!r}: use a file path, "
            "sqlite:///PATH or postgresql://user@host:port/db"
        )

    @property
    def masked(self) -> str:
        """The URL as it may be shown: a SQLite path as is, a PostgreSQL password as ***."""
        if self.dialect is Dialect.SQLITE:
            return str(self.path)
        return _mask(self.conninfo)

    def scrub(self, text: str) -> str:
        """`text` with the password removed (driver errors may quote the connection string)."""
        secret = _password(self.conninfo) if self.dialect is Dialect.POSTGRES else None
        return text.replace(secret, MASK) if secret else text

    def __str__(self) -> str:
        return self.masked


def _under(base: Path | None, path: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() or base is None else base / path


def _password(conninfo: str) -> str | None:
    parts = urlsplit(conninfo)
    query = dict(parse_qsl(parts.query))
    return parts.password or query.get("password") or None


def _mask(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{hostinfo}"
    query = [(k, MASK if k == "password" else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="*"), ""))


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


class Database:
    """One open connection; not for concurrent use by several threads without a lock."""

    def __init__(
        self,
        url: DatabaseURL,
        *,
        busy_timeout: float = 30.0,
        connect_timeout: float = 10.0,
        application_name: str = "fivetran-assets",
    ) -> None:
        self.url = url
        self.dialect = url.dialect
        self.broken = False
        self._conn: Any = None
        try:
            if url.dialect is Dialect.SQLITE:
                self._conn = self._open_sqlite(busy_timeout)
            else:
                self._conn = self._open_postgres(connect_timeout, application_name)
        except Exception as exc:
            if not self.is_unavailable(exc):
                raise
            raise self.unavailable(exc, "cannot connect") from None

    def __repr__(self) -> str:
        return f"Database({self.url.masked!r})"

    def _open_sqlite(self, busy_timeout: float) -> sqlite3.Connection:
        assert self.url.path is not None
        self.url.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.url.path.exists():
            # Private from the start (SQLite gives its -wal and -shm files the same mode).
            os.close(os.open(self.url.path, os.O_RDWR | os.O_CREAT, 0o600))
        conn = sqlite3.connect(
            self.url.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
        )
        conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        return conn

    def _open_postgres(self, connect_timeout: float, application_name: str) -> Any:
        import psycopg

        conn = psycopg.connect(
            self.url.conninfo,
            autocommit=True,
            connect_timeout=max(1, int(connect_timeout)),
            application_name=application_name,
        )
        # Only our schema: a table created before the schema exists fails instead of landing
        # in `public` (the migrations create the schema first).
        conn.execute(f"SET search_path TO {PG_SCHEMA}")
        return conn

    # -- errors ---------------------------------------------------------------------------------

    @staticmethod
    def is_unavailable(exc: BaseException) -> bool:
        """Whether `exc` says the database is unreachable or failing, not that a value is bad."""
        if isinstance(exc, StateUnavailable):
            return True
        if isinstance(exc, sqlite3.OperationalError | sqlite3.InterfaceError):
            return True
        try:
            import psycopg
        except ImportError:  # pragma: no cover - psycopg is a dependency
            return False
        return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)

    def unavailable(self, exc: BaseException, doing: str) -> StateUnavailable:
        """A StateUnavailable naming the masked URL and the driver's reason, password scrubbed."""
        self.broken = True
        return StateUnavailable(f"{doing} {self.url.masked}: {self.url.scrub(_first_line(exc))}")

    # -- statements -----------------------------------------------------------------------------

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect is Dialect.POSTGRES else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement (`?` placeholders); returns the driver's cursor."""
        try:
            values: tuple[Any, ...] | None = tuple(params)
            if not values and self.dialect is Dialect.POSTGRES:
                values = None  # no parameters: psycopg leaves a literal % alone
            return self._conn.execute(self._sql(sql), values)
        except Exception as exc:
            if self.is_unavailable(exc):
                raise self.unavailable(exc, "database error on") from exc
            raise

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = [tuple(r) for r in rows]
        if not rows:
            return
        try:
            if self.dialect is Dialect.POSTGRES:
                with self._conn.cursor() as cursor:
                    cursor.executemany(self._sql(sql), rows)
            else:
                self._conn.executemany(sql, rows)
        except Exception as exc:
            if self.is_unavailable(exc):
                raise self.unavailable(exc, "database error on") from exc
            raise

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self.execute(sql, params).fetchall())

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.execute(sql, params).fetchone()
        return row[0] if row is not None else None

    @contextlib.contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Database]:
        """BEGIN ... COMMIT, rolled back on any exception. A SQLite writer locks the file now."""
        begin = "BEGIN IMMEDIATE" if write and self.dialect is Dialect.SQLITE else "BEGIN"
        self.execute(begin)
        try:
            yield self
        except BaseException:
            with contextlib.suppress(Exception):
                self._conn.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    @contextlib.contextmanager
    def pipeline(self) -> Iterator[Database]:
        """Send the statements of the block without waiting for each answer (PostgreSQL's
        pipeline mode: a cursor's rows arrive when first fetched, the rest when the block
        ends), so a transaction costs a round trip or two, not one per statement. SQLite runs
        them as they come."""
        if self.dialect is Dialect.SQLITE:
            yield self
            return
        try:
            with self._conn.pipeline():
                yield self
        except Exception as exc:
            if self.is_unavailable(exc):
                raise self.unavailable(exc, "database error on") from exc
            raise

    def lock(self, name: str) -> None:
        """Hold the named lock until the transaction ends (PostgreSQL advisory lock; on SQLite
        the write transaction itself excludes every other writer)."""
        if self.dialect is Dialect.POSTGRES:
            self.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (name,))

    def now(self) -> float:
        """Seconds since the epoch by the database's clock (every process agrees on it)."""
        if self.dialect is Dialect.POSTGRES:
            return float(self.scalar("SELECT extract(epoch FROM clock_timestamp())"))
        return time.time()

    def table_exists(self, name: str) -> bool:
        if self.dialect is Dialect.POSTGRES:
            found = self.scalar(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                (PG_SCHEMA, name),
            )
        else:
            found = self.scalar(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
            )
        return found is not None

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
            self.broken = True
