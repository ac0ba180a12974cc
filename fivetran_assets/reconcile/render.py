"""Render a Plan for people: a rich table for the terminal, Markdown for Dagster metadata.

Both are built from the plan's value objects only, which hold no secret values, so nothing
here can leak one; secret fields print as the mask.
"""

from __future__ import annotations

from rich.table import Table

from fivetran_assets.reconcile.plan import Action, Kind, Plan

_STYLE = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.DELETE: "red",
    Action.DUPLICATE: "red",
}
_SYMBOL = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-", Action.DUPLICATE: "-"}


def _action_text(change) -> str:
    return "replace" if change.replace else change.action.value


def plan_tables(plan: Plan) -> list[Table]:
    """One table per resource kind that has changes, then unmanaged resources and warnings."""
    tables: list[Table] = []
    for kind in Kind:
        changes = [c for c in plan.changes if c.kind is kind]
        if not changes:
            continue
        table = Table(title=kind.value.replace("_", " "), title_justify="left", expand=False)
        table.add_column("", width=1)
        table.add_column("action")
        table.add_column("resource")
        table.add_column("id")
        table.add_column("changes")
        for change in changes:
            style = _STYLE[change.action]
            table.add_row(
                _SYMBOL[change.action],
                _action_text(change),
                change.label,
                change.live_id or "",
                "\n".join(f.describe() for f in change.fields),
                style=style,
            )
        tables.append(table)
    if plan.unmanaged:
        table = Table(title="unmanaged (left alone unless --prune)", title_justify="left")
        for column in ("kind", "resource", "id"):
            table.add_column(column)
        for item in plan.unmanaged:
            label = f"{item.group}/{item.name}" if item.name else item.group
            table.add_row(item.kind.value, label, item.live_id, style="dim")
        tables.append(table)
    if plan.warnings:
        table = Table(title="warnings (not changed)", title_justify="left")
        for column in ("kind", "resource", "warning"):
            table.add_column(column)
        for warning in plan.warnings:
            label = f"{warning.group}/{warning.name}" if warning.name else warning.group
            table.add_row(warning.kind.value, label, warning.message, style="magenta")
        tables.append(table)
    return tables


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def plan_markdown(plan: Plan) -> str:
    """The plan as a Markdown document (a summary line and one table)."""
    lines = [f"**{plan.summary()}**", ""]
    if plan.changes:
        lines += ["| action | kind | resource | id | changes |", "|---|---|---|---|---|"]
        for change in plan.changes:
            diff = "<br>".join(_cell(f.describe()) for f in change.fields)
            lines.append(
                f"| {_action_text(change)} | {change.kind.value} | {_cell(change.label)} "
                f"| {change.live_id or ''} | {diff} |"
            )
        lines.append("")
    if plan.unmanaged:
        lines += ["Unmanaged (left alone unless pruning):", ""]
        lines += [
            f"- {u.kind.value} `{u.group}/{u.name}` ({u.live_id})"
            if u.name
            else f"- {u.kind.value} `{u.group}` ({u.live_id})"
            for u in plan.unmanaged
        ]
        lines.append("")
    if plan.warnings:
        lines += ["Warnings (not changed):", ""]
        lines += [
            f"- {w.kind.value} `{w.group}/{w.name}`: {_cell(w.message)}" for w in plan.warnings
        ]
        lines.append("")
    return "\n".join(lines)
