"""Database URLs: what is accepted, where relative paths go, and that passwords never show."""

from __future__ import annotations

from pathlib import Path

import pytest

from fivetran_assets.state.database import Database, DatabaseURL, Dialect, StateError


def test_sqlite_urls_and_bare_paths(tmp_path: Path) -> None:
    assert (
        DatabaseURL.parse("sqlite:///rel/x.sqlite", base=tmp_path).path == tmp_path / "rel/x.sqlite"
    )
    assert DatabaseURL.parse("sqlite:////abs/x.sqlite").path == Path("/abs/x.sqlite")
    assert DatabaseURL.parse(".state/webhooks.sqlite", base=tmp_path).path == (
        tmp_path / ".state/webhooks.sqlite"
    )
    assert DatabaseURL.parse(tmp_path / "p.sqlite").dialect is Dialect.SQLITE
    for bad in ("sqlite://", "sqlite:///", "", "   "):
        with pytest.raises(StateError):
            DatabaseURL.parse(bad)


def test_postgres_urls_are_masked_everywhere() -> None:
    url = DatabaseURL.parse("postgresql://ft:s3cret@db.internal:5432/dagster")
    assert url.dialect is Dialect.POSTGRES
    assert url.masked == "postgresql://ft:***@db.internal:5432/dagster"
    assert "s3cret" not in repr(url) + str(url)
    assert url.scrub("FATAL: s3cret rejected") == "FATAL: *** rejected"
    assert DatabaseURL.parse("postgres://ft@h/db").conninfo == "postgresql://ft@h/db"
    assert DatabaseURL.parse("postgresql+psycopg://ft@h/db").conninfo == "postgresql://ft@h/db"
    query = DatabaseURL.parse("postgresql://ft@h/db?password=s3cret&sslmode=require")
    assert "s3cret" not in query.masked
    assert "sslmode=require" in query.masked
    assert query.scrub("s3cret") == "***"
    with pytest.raises(StateError, match="names no host"):
        DatabaseURL.parse("postgresql:///db")
    with pytest.raises(StateError, match="unsupported database URL scheme 'mysql'") as raised:
        DatabaseURL.parse("mysql://u:s3cret@h/db")
    assert "s3cret" not in str(raised.value)


def test_a_sqlite_file_is_private_from_the_start(tmp_path: Path) -> None:
    db = Database(DatabaseURL.parse(tmp_path / "deep" / "state.sqlite"))
    db.execute("CREATE TABLE t (x INTEGER)")
    db.close()
    assert (tmp_path / "deep" / "state.sqlite").stat().st_mode & 0o077 == 0
