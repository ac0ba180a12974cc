"""The `local` extra: the local Fivetran, its data plane and dbt are optional (no Dagster imports).

`pip install fivetran-assets` brings the client, the config model, the reconciler, the webhook
receiver and the Dagster integration; `fivetran-assets[local]` adds duckdb, pyarrow, dbt and the
Dagster web server. Code that needs one of those asks `require_local` first, so a missing extra
is one line naming it, not a traceback from deep inside an import.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

EXTRA = "fivetran-assets[local]"


class MissingExtra(ImportError):
    """A package of the `local` extra is not installed; the message says how to get it."""


def missing_message(package: str, purpose: str) -> str:
    return f"{purpose} needs {package}, from the extra {EXTRA}: pip install '{EXTRA}'"


def require_local(module: str, purpose: str, *, package: str | None = None) -> ModuleType:
    """Import `module` (of the `local` extra) for `purpose`, or raise `MissingExtra`."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(missing_message(package or module, purpose)) from None


def has_local(*modules: str) -> bool:
    """Whether every module is installed (without importing it)."""
    try:
        return all(importlib.util.find_spec(m) is not None for m in modules)
    except (ModuleNotFoundError, ValueError):  # a parent is missing, or blocked in sys.modules
        return False
