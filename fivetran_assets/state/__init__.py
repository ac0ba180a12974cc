"""State that several processes of a deployment share, kept in a database (no Dagster imports).

`database` opens a SQLite file or a PostgreSQL database from one URL and masks its password in
every message; `migrations` versions the tables the project keeps there. The webhook event log
(`fivetran_assets.webhooks.store`) and the shared state (`shared`: the rate budget, the apply
lock and secret fingerprints) are built on them. `files` writes the few local state files
atomically.
"""

from fivetran_assets.state.database import (
    Database,
    DatabaseURL,
    Dialect,
    StateError,
    StateUnavailable,
)
from fivetran_assets.state.migrations import SchemaTooNew

__all__ = [
    "Database",
    "DatabaseURL",
    "Dialect",
    "SchemaTooNew",
    "StateError",
    "StateUnavailable",
]
