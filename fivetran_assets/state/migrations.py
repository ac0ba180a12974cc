"""Versioned schemas for the project's tables, migrated by whichever process opens them first.

Each component (the webhook event log, the shared state) has an ordered list of `Migration`s;
its current version lives in the `schema_versions` table. `ensure_schema` brings a database up
to the latest version under a lock, so two receivers starting at once migrate it once; a
database whose version is newer than this code knows is refused with `SchemaTooNew` (an older
process must not write to tables it does not understand). An up-to-date database costs two
small queries to check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fivetran_assets.state.database import PG_SCHEMA, Database, Dialect, StateError

VERSIONS_TABLE = "schema_versions"


class SchemaTooNew(StateError):
    """The database was migrated by a newer fivetran-assets than this one."""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Database], None]


def current_version(db: Database, component: str) -> int | None:
    """The component's recorded version, or None when it was never recorded."""
    if not db.table_exists(VERSIONS_TABLE):
        return None
    return db.scalar(f"SELECT version FROM {VERSIONS_TABLE} WHERE name = ?", (component,))


def ensure_schema(
    db: Database,
    component: str,
    migrations: Sequence[Migration],
    *,
    legacy_version: Callable[[Database], int] | None = None,
    what: str = "database",
) -> int:
    """Migrate `component`'s tables to the latest version; returns it.

    `legacy_version` tells the version of tables created before versioning (0: none). `what`
    names the database in errors ("the webhook event log").
    """
    latest = migrations[-1].version
    found = current_version(db, component)
    if found != latest:
        with db.transaction():
            db.lock(f"{PG_SCHEMA}:migrate")
            if db.dialect is Dialect.POSTGRES:
                db.execute(f"CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}")
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {VERSIONS_TABLE} "
                "(name TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
            found = current_version(db, component)
            if found is None:
                found = legacy_version(db) if legacy_version is not None else 0
            if found > latest:
                raise SchemaTooNew(
                    f"{what} at {db.url.masked} has schema version {found}, newer than this "
                    f"fivetran-assets understands ({latest}): upgrade fivetran-assets in every "
                    "process that opens it"
                )
            for migration in migrations:
                if migration.version > found:
                    migration.apply(db)
            db.execute(f"DELETE FROM {VERSIONS_TABLE} WHERE name = ?", (component,))
            db.execute(
                f"INSERT INTO {VERSIONS_TABLE} (name, version) VALUES (?, ?)", (component, latest)
            )
    return latest
