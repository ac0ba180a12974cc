"""Compare a declared schema selection with a connection's captured schema config.

The config's selection is a set of overrides: only what it declares (schema change handling,
and per schema / table / column `enabled`, `hashed`, `sync_mode`) is compared and changed.
The result is both the minimal field diff shown in the plan and the nested body of the one
`PATCH .../schemas` call that applies it. Settings the config does not declare that look edited
by hand (an undeclared column hashed or blocked, an undeclared table disabled while new tables
are allowed) are reported as warnings, never changed. Declared objects the source does not have
are warnings too: Fivetran would reject a patch naming them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fivetran_assets.estate.estate import Selection
from fivetran_assets.fivetran.schema_config import SchemaConfig, TableSettings
from fivetran_assets.reconcile.plan import FieldDiff


@dataclass
class SelectionDiff:
    fields: list[FieldDiff] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    schema_change_handling: str | None = None
    schemas: dict[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.fields

    def patch(self) -> dict[str, Any]:
        """Keyword arguments for `FivetranClient.update_schema_config`."""
        return {
            "schema_change_handling": self.schema_change_handling,
            "schemas": self.schemas or None,
        }


def _value(enum_or_str: Any) -> Any:
    return getattr(enum_or_str, "value", enum_or_str)


def _declared(selection: Selection) -> bool:
    return bool(selection.schema_change_handling or selection.schemas or selection.tables)


def needs_capture(selection: Selection) -> bool:
    """Whether a selection declares anything, so an uncaptured schema must be captured first."""
    return _declared(selection)


def diff_selection(selection: Selection, live: SchemaConfig) -> SelectionDiff:
    """The changes that make `live` honour `selection`, with warnings for what cannot be done."""
    out = SelectionDiff()
    wanted_sch = _value(selection.schema_change_handling)
    live_sch = _value(live.schema_change_handling)
    if wanted_sch is not None and wanted_sch != live_sch:
        out.fields.append(FieldDiff("schema_change_handling", live_sch, wanted_sch))
        out.schema_change_handling = wanted_sch
    try:
        rules = selection.for_source(list(live.schemas))
    except ValueError as exc:
        out.warnings.append(str(exc))
        return out
    for schema_name, rule in sorted(rules.items()):
        live_schema = live.schemas.get(schema_name)
        if live_schema is None:
            out.warnings.append(f"declared schema '{schema_name}' is not in the source")
            continue
        patch: dict[str, Any] = {}
        if rule.enabled is not None and rule.enabled != live_schema.enabled:
            out.fields.append(
                FieldDiff(f"schemas.{schema_name}.enabled", live_schema.enabled, rule.enabled)
            )
            patch["enabled"] = rule.enabled
        tables: dict[str, Any] = {}
        for table_name, table_rule in sorted(rule.tables.items()):
            path = f"schemas.{schema_name}.tables.{table_name}"
            live_table = live_schema.tables.get(table_name)
            if live_table is None:
                out.warnings.append(
                    f"declared table '{schema_name}.{table_name}' is not in the source"
                )
                continue
            table_patch = _table_patch(table_rule, live_table, path, out)
            if table_patch:
                tables[table_name] = table_patch
        if tables:
            patch["tables"] = tables
        if patch:
            out.schemas[schema_name] = patch
    _undeclared_drift(live, rules, out)
    return out


def _table_patch(rule: Any, live: TableSettings, path: str, out: SelectionDiff) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    if rule.enabled is not None and rule.enabled != live.enabled:
        if not live.enabled_patch_allowed:
            out.warnings.append(f"{path}: Fivetran does not allow changing whether it is enabled")
        else:
            out.fields.append(FieldDiff(f"{path}.enabled", live.enabled, rule.enabled))
            patch["enabled"] = rule.enabled
    wanted_mode = _value(rule.sync_mode)
    if wanted_mode is not None and wanted_mode != _value(live.sync_mode):
        out.fields.append(FieldDiff(f"{path}.sync_mode", _value(live.sync_mode), wanted_mode))
        patch["sync_mode"] = wanted_mode
    columns: dict[str, Any] = {}
    for column_name, column_rule in sorted(rule.columns.items()):
        column_path = f"{path}.columns.{column_name}"
        live_column = live.columns.get(column_name)
        if live_column is None:
            out.warnings.append(f"declared column '{column_path}' is not in the source")
            continue
        column_patch: dict[str, Any] = {}
        if column_rule.enabled is not None and column_rule.enabled != live_column.enabled:
            if not column_rule.enabled and (
                live_column.is_primary_key or not live_column.enabled_patch_allowed
            ):
                out.warnings.append(f"{column_path}: a primary-key column cannot be blocked")
            else:
                out.fields.append(
                    FieldDiff(f"{column_path}.enabled", live_column.enabled, column_rule.enabled)
                )
                column_patch["enabled"] = column_rule.enabled
        if column_rule.hashed is not None and column_rule.hashed != live_column.hashed:
            out.fields.append(
                FieldDiff(f"{column_path}.hashed", live_column.hashed, column_rule.hashed)
            )
            column_patch["hashed"] = column_rule.hashed
        if column_patch:
            columns[column_name] = column_patch
    if columns:
        patch["columns"] = columns
    return patch


def _undeclared_drift(live: SchemaConfig, rules: dict, out: SelectionDiff) -> None:
    """Warn about hand-made settings in what the config leaves alone."""
    allow_new = _value(live.schema_change_handling) == "ALLOW_ALL"
    for schema_name, live_schema in sorted(live.schemas.items()):
        rule = rules.get(schema_name)
        for table_name, live_table in sorted(live_schema.tables.items()):
            table_rule = rule.tables.get(table_name) if rule else None
            path = f"{schema_name}.{table_name}"
            undeclared = table_rule is None or table_rule.enabled is None
            if undeclared and allow_new and not live_table.enabled:
                out.warnings.append(f"table '{path}' is disabled in Fivetran but not declared")
            declared_columns = table_rule.columns if table_rule else {}
            for column_name, live_column in sorted(live_table.columns.items()):
                column_rule = declared_columns.get(column_name)
                if live_column.hashed and (column_rule is None or column_rule.hashed is None):
                    out.warnings.append(
                        f"column '{path}.{column_name}' is hashed in Fivetran but not declared"
                    )
                if not live_column.enabled and (column_rule is None or column_rule.enabled is None):
                    out.warnings.append(
                        f"column '{path}.{column_name}' is blocked in Fivetran but not declared"
                    )
