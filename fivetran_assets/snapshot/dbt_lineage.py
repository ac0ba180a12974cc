"""Column lineage of dbt models, from their compiled SQL (refresh time only, with sqlglot).

Each model's output columns are traced to the columns of the relations it reads: the tables
Fivetran lands (their destination columns, from the snapshot) and the models built before it
(their traced output columns). This is what dagster-dbt does with sqlglot for its own assets;
here it runs once when the state is written, so definitions load with no SQL parsing.

A model whose SQL sqlglot cannot read keeps its declared columns and gets no lineage: lineage
is a help for the UI, never a reason for a refresh to fail. No Dagster import.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from fivetran_assets.snapshot.store import ModelSnapshot, upstream_first

if TYPE_CHECKING:
    from sqlglot.schema import MappingSchema

log = logging.getLogger(__name__)

Relation = tuple[str, str]  # (schema, table) in the destination
# What a column is computed from: (schema, table, column) of each relation column it reads.
ColumnSources = tuple[tuple[str, str, str], ...]
# The SQL is what dbt-duckdb compiled (the state capture's profile), so DuckDB's dialect reads it
# for every destination; it also folds unquoted names to lower case, as Fivetran names columns.
DIALECT = "duckdb"


def with_column_lineage(
    models: Sequence[ModelSnapshot],
    compiled: Mapping[str, str],
    tables: Mapping[Relation, Sequence[str]],
) -> list[ModelSnapshot]:
    """`models` with `columns` (what each model outputs, then declared ones it does not) and
    `column_lineage` filled from `compiled` (SQL by unique id). `tables` are the columns of
    the relations the models may read besides each other (the synced tables)."""
    try:
        from sqlglot.schema import MappingSchema  # the `local` extra's: without it, no lineage
    except ImportError:
        return list(models)
    schema = MappingSchema(dialect=DIALECT)
    for (db, table), columns in tables.items():
        schema.add_table(_relation(db, table), dict.fromkeys(columns, "unknown"), dialect=DIALECT)
    out: dict[str, ModelSnapshot] = {}
    for model in upstream_first(models):
        sql = compiled.get(model.unique_id)
        traced = _trace(sql, schema) if sql else None
        outputs = [column for column, _ in traced] if traced is not None else list(model.columns)
        if outputs:  # what later models read of this one
            schema.add_table(
                _relation(*model.relation), dict.fromkeys(outputs, "unknown"), dialect=DIALECT
            )
        if traced is not None:
            declared = [c for c in model.columns if c not in outputs]
            model = replace(model, columns=(*outputs, *declared), column_lineage=tuple(traced))
        out[model.unique_id] = model
    return [out[m.unique_id] for m in models]  # upstream_first visits every model


def _relation(db: str, table: str) -> str:
    from sqlglot import exp

    return exp.table_(table, db=db, quoted=True).sql()


def _trace(sql: str, schema: MappingSchema) -> list[tuple[str, ColumnSources]] | None:
    """Each output column of `sql` with the relation columns it reads; None when unreadable."""
    from sqlglot import exp, parse_one
    from sqlglot.errors import SqlglotError
    from sqlglot.lineage import lineage
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.optimizer.scope import build_scope

    try:
        tree = parse_one(sql, dialect=DIALECT)
        # dbt qualifies relations with the profile's database (DuckDB's "memory" when the
        # state is written); the destination is one database, so (schema, table) names them.
        for table in tree.find_all(exp.Table):
            table.set("catalog", None)
        qualified = qualify(tree, schema=schema, dialect=DIALECT, validate_qualify_columns=False)
        if not isinstance(qualified, exp.Query):
            return None
        scope = build_scope(qualified)
        traced = []
        for column in qualified.named_selects:
            node = lineage(
                column, qualified, schema=schema, dialect=DIALECT, scope=scope, copy=False
            )
            reads: set[tuple[str, str, str]] = set()
            for step in node.walk():
                if isinstance(step.expression, exp.Table):
                    name = exp.maybe_parse(step.name, into=exp.Column, dialect=DIALECT).name
                    reads.add((step.expression.db, step.expression.name, name))
            traced.append((column, tuple(sorted(reads))))
    except (SqlglotError, KeyError, ValueError, AttributeError, TypeError) as exc:
        log.info("no column lineage for this model's SQL: %s", exc)
        return None
    return traced
