"""Schema selections: overlay a connection's `schema` on the shared selection it `use`s.

The overlay is field by field and key by key: a value the connection declares wins, a value it
leaves unset (None or absent) keeps the shared one, and tables or columns named only on one side
are kept. The result is a concrete `Selection`; for single-schema sources whose schema name is
known (sqlite: `main`) `tables` is folded into `schemas`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from fivetran_assets.estate.errors import Location, Problem, did_you_mean
from fivetran_assets.estate.estate import Selection
from fivetran_assets.estate.models import (
    ConnectionSchema,
    SchemaRule,
    SharedSelection,
    TableRule,
)
from fivetran_assets.estate.vocabulary import SINGLE_SCHEMA_SOURCES

M = TypeVar("M", bound=BaseModel)

# (sub-path under the selection, message) -> a located problem
Report = Callable[[tuple[str, ...], str], Problem]


def overlay(base: M | None, top: M | None) -> M | None:
    """`top` laid over `base`: declared values of `top` win, dicts are merged key by key."""
    if base is None or top is None:
        return top if base is None else base
    values: dict[str, Any] = {}
    for name in type(base).model_fields:
        below, above = getattr(base, name), getattr(top, name, None)
        if isinstance(below, dict) and isinstance(above, dict):
            values[name] = {k: overlay(below.get(k), above.get(k)) for k in below | above}
        else:
            values[name] = above if above is not None else below
    return type(base).model_construct(**values)


Issue = tuple[tuple[str, ...], str]


def _table_issues(tables: dict[str, TableRule], prefix: tuple[str, ...]) -> list[Issue]:
    issues = []
    for table_name, table in tables.items():
        for column_name, column in table.columns.items():
            if column.enabled is False and column.hashed:
                issues.append(
                    (
                        (*prefix, table_name, "columns", column_name, "hashed"),
                        "a blocked column (enabled: false) cannot also be hashed",
                    )
                )
    return issues


def selection_issues(selection: SharedSelection) -> list[Issue]:
    """Contradictions inside one selection, as (sub-path under the selection, message)."""
    issues: list[Issue] = []
    if selection.tables is not None and selection.schemas is not None:
        issues.append(
            (("schemas",), "use either 'tables' (single-schema sources) or 'schemas', not both")
        )
    issues.extend(_table_issues(selection.tables or {}, ("tables",)))
    for schema_name, schema in (selection.schemas or {}).items():
        issues.extend(_table_issues(schema.tables, ("schemas", schema_name, "tables")))
    return issues


def build_selection(
    written: ConnectionSchema | None,
    *,
    shared: dict[str, SharedSelection],
    service: str,
    report: Report,
    use_location: Location | None,
    use_path: str,
) -> tuple[Selection, list[Problem]]:
    """The concrete selection of a connection, and the problems found building it."""
    problems: list[Problem] = []
    base: SharedSelection | None = None
    if written is not None and written.use is not None:
        base = shared.get(written.use)
        if base is None:
            problems.append(
                Problem(
                    f"unknown shared selection '{written.use}'"
                    f"{did_you_mean(written.use, sorted(shared))}",
                    path=use_path,
                    location=use_location,
                    value=written.use,
                    expected=f"one of {', '.join(sorted(shared))}"
                    if shared
                    else "a name defined under selections:",
                )
            )
    merged = overlay(base, written) or SharedSelection()
    # The shared selection's own contradictions are reported once, where it is defined.
    inherited = set(selection_issues(base)) if base is not None else set()
    problems.extend(
        report(sub, message)
        for sub, message in selection_issues(merged)
        if (sub, message) not in inherited
    )
    tables = dict(merged.tables or {})
    schemas = dict(merged.schemas or {})
    known_schema = SINGLE_SCHEMA_SOURCES.get(service)
    if tables and known_schema is not None:
        existing = schemas.get(known_schema, SchemaRule())
        schemas[known_schema] = SchemaRule(
            enabled=existing.enabled, tables={**existing.tables, **tables}
        )
        tables = {}
    selection = Selection(
        schema_change_handling=merged.schema_change_handling,
        schemas=schemas,
        tables=tables,
        shared=written.use if written is not None else None,
    )
    return selection, problems
