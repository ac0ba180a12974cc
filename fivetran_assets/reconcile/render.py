"""Render a Plan for people: for a terminal of any width, and as Markdown for Dagster metadata.

A terminal narrower than `COMPACT_BELOW` columns gets a compact list, one line per resource
(`+ connection departments/engineering  service=sqlite ...`): the name is never cut, a create's
fields are cut to the line, an update's changed fields get a line each. A wider terminal gets
one table per area; it falls back to the list when the names would not fit whole. Sections come
in a fixed order (the estate's changes, then "access" (users, teams, members) and "governance"
(log services, certificates, fingerprints), then unmanaged, warnings); a new resource kind needs
no code here.

Everything is built from the plan's value objects only, which hold no secret values, so nothing
here can leak one; secret fields print as the mask.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from fivetran_assets.reconcile.applier import ApplyResult
from fivetran_assets.reconcile.plan import MASK, Action, Change, FieldDiff, Kind, Plan

COMPACT_BELOW = 100
PLAN_JSON = "plan_json"  # the metadata label of the plan as data (`Plan.to_dict`)
CONNECTION_STEPS = "a connection is created paused, its schema set, then unpaused"
CHANGES_MIN_WIDTH = 24  # the table's changes column needs this much beside whole names
_STYLE = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.DELETE: "red",
    Action.DUPLICATE: "red",
}
_SYMBOL = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-", Action.DUPLICATE: "-"}
_INDENT = "    "
_BARE = re.compile(r"[\w./:@+-]+")
_JSON_WORDS = ("null", "true", "false")
AREAS = ("estate", "access", "governance")  # `Kind.area`; the estate's section has no title


def _by_area(changes: Iterable[Change]) -> list[tuple[str, list[Change]]]:
    """The changes per area, in `AREAS` order, areas without changes left out."""
    changes = list(changes)
    grouped = [(area, [c for c in changes if c.kind.area == area]) for area in AREAS]
    return [(area, items) for area, items in grouped if items]


def _action_text(change: Change) -> str:
    return "replace" if change.replace else change.action.value


def _symbol(change: Change) -> str:
    return "-/+" if change.replace else _SYMBOL[change.action]


def _value(value: Any) -> str:
    """A value as short as it reads unambiguously: bare words unquoted, lists spaced (so a
    narrow column wraps between items), JSON otherwise."""
    if isinstance(value, str) and _BARE.fullmatch(value) and value not in _JSON_WORDS:
        return value
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def field_text(diff: FieldDiff) -> str:
    """`path=value` for a field set, `path: old -> new` for a field changed."""
    if diff.secret:
        return f"{diff.path}={MASK} ({diff.reason})"
    if diff.old is None:
        return f"{diff.path}={_value(diff.new)}"
    return f"{diff.path}: {_value(diff.old)} -> {_value(diff.new)}"


def _head(change: Change) -> str:
    head = f"{_symbol(change)} {change.kind.value} {change.label}"
    return f"{head} (id {change.live_id})" if change.live_id else head


def _fit(text: str, room: int) -> str:
    """`text` cut to `room` characters, ending in `...` when cut."""
    return text if len(text) <= room else text[: max(0, room - 3)].rstrip() + "..."


def _change_lines(change: Change, width: int) -> list[str]:
    """One line when everything fits; else a create's fields cut to the line, an update's (and
    a replacement's) fields one per line below its name."""
    head = _head(change)
    fields = [field_text(f) for f in change.fields]
    steps = [f"{_INDENT}{n}. {step}" for n, step in enumerate(change.steps, 1)]
    line = f"{head}  {' '.join(fields)}" if fields else head
    if len(line) <= width and not steps:
        return [line]
    if change.action is Action.CREATE and not change.replace:
        room = width - len(head) - 2
        return [f"{head}  {_fit(' '.join(fields), room)}" if room >= 8 else head]
    return [head, *(f"{_INDENT}{text}" for text in fields), *steps]


def _name(group: str, name: str) -> str:
    """`group/name`, `group`, or `name` for account-level resources (users, teams)."""
    return "/".join(part for part in (group, name) if part)


def _label(kind: Any, group: str, name: str) -> str:
    return f"{kind.value} {_name(group, name)}"


def compact_lines(plan: Plan, *, width: int) -> list[Text]:
    """The plan as the compact list (see the module docstring), styled per action."""
    lines: list[Text] = []
    for area, changes in _by_area(plan.changes):
        if area != AREAS[0]:
            lines.append(Text(f"{area}:", style="bold"))
        for change in changes:
            style = _STYLE[Action.DELETE] if change.replace else _STYLE[change.action]
            lines += [Text(line, style=style) for line in _change_lines(change, width)]
    if plan.unmanaged:
        lines.append(Text("unmanaged (left alone unless --prune):", style="bold"))
        lines += [
            Text(f"  {_label(u.kind, u.group, u.name)} (id {u.live_id})", style="dim")
            for u in plan.unmanaged
        ]
    if plan.warnings:
        lines.append(Text("warnings (not changed):", style="bold"))
        lines += [
            Text(f"! {_label(w.kind, w.group, w.name)}: {w.message}", style="magenta")
            for w in plan.warnings
        ]
    return lines


def _table(title: str | None, columns: Iterable[str], *, whole: Iterable[str] = ()) -> Table:
    """A plain table; `whole` columns are never wrapped or cut."""
    table = Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False
    )
    keep = set(whole)
    for column in columns:
        if column in keep:
            table.add_column(column, no_wrap=True, overflow="ignore")
        else:
            table.add_column(column, overflow="fold")
    return table


def _changes_text(change: Change) -> str:
    separator = " " if change.action is Action.CREATE and not change.replace else "\n"
    steps = [f"{n}. {step}" for n, step in enumerate(change.steps, 1)]
    return "\n".join([separator.join(field_text(f) for f in change.fields), *steps])


def plan_tables(plan: Plan) -> list[Table]:
    """The plan as tables: the changes in one per area, then unmanaged resources and
    warnings."""
    tables: list[Table] = []
    for area, changes in _by_area(plan.changes):
        table = _table(
            None if area == AREAS[0] else area, ("action", "kind", "resource", "id", "changes"),
            whole=("action", "kind", "resource", "id"),
        )  # fmt: skip
        for change in changes:
            table.add_row(
                _action_text(change),
                change.kind.value,
                Text(change.label),
                change.live_id or "",
                Text(_changes_text(change)),  # values may hold `[...]`: never rich markup
                style=_STYLE[Action.DELETE] if change.replace else _STYLE[change.action],
            )
        tables.append(table)
    if plan.unmanaged:
        table = _table("unmanaged (left alone unless --prune)", ("kind", "resource", "id"))
        for item in plan.unmanaged:
            label = _name(item.group, item.name)
            table.add_row(item.kind.value, Text(label), item.live_id, style="dim")
        tables.append(table)
    if plan.warnings:
        table = _table("warnings (not changed)", ("kind", "resource", "warning"))
        for warning in plan.warnings:
            label = _name(warning.group, warning.name)
            table.add_row(warning.kind.value, Text(label), Text(warning.message), style="magenta")
        tables.append(table)
    return tables


def _names_fit(plan: Plan, width: int) -> bool:
    """Whether the table's whole columns and a usable changes column fit in `width`."""
    if not plan.changes:
        return True
    widest = [
        max(len(_action_text(c)) for c in plan.changes),
        max(len(c.kind.value) for c in plan.changes),
        max(len(c.label) for c in plan.changes),
        max(len(c.live_id or "") for c in plan.changes),
    ]
    return sum(widest) + 2 * len(widest) + CHANGES_MIN_WIDTH <= width


def render_plan(plan: Plan, *, width: int) -> list[RenderableType]:
    """What a terminal `width` columns wide shows of the plan (without the summary line)."""
    if width < COMPACT_BELOW or not _names_fit(plan, width):
        return list(compact_lines(plan, width=width))
    return list(plan_tables(plan))


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def resources_text(plan: Plan) -> str:
    """`9 resources created`, `1 resource created, 2 updated, 1 deleted`."""
    counts = plan.counts()
    parts = [
        (counts[action], verb)
        for action, verb in (
            ("create", "created"),
            ("update", "updated"),
            ("replace", "replaced"),
            ("delete", "deleted"),
        )
        if counts[action]
    ]
    if not parts:
        return "no resource changed"
    (first, verb), *rest = parts
    return ", ".join([f"{_plural(first, 'resource')} {verb}", *(f"{n} {v}" for n, v in rest)])


def apply_summary(plan: Plan, result: ApplyResult) -> str:
    """What an apply of `plan` did, in resources and in the steps they took:
    `9 resources created in 13 steps (a connection is created paused, ...)`."""
    steps = len(result.outcomes)
    creates_connection = any(
        c.kind is Kind.CONNECTION and (c.action is Action.CREATE or c.replace) for c in plan.changes
    )
    why = f" ({CONNECTION_STEPS})" if creates_connection else ""
    if result.ok:
        return f"{resources_text(plan)} in {_plural(steps, 'step')}{why}."
    counts = result.counts()
    return (
        f"Apply incomplete: {counts['done']} of {_plural(steps, 'step')} done, "
        f"{counts['failed']} failed, {counts['skipped']} skipped{why}."
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def plan_markdown(plan: Plan) -> str:
    """The plan as a Markdown document (a summary line and one table)."""
    lines = [f"**{plan.summary()}**", ""]
    for area, changes in _by_area(plan.changes):
        if area != AREAS[0]:
            lines += [f"**{area.capitalize()}**", ""]
        lines += ["| action | kind | resource | id | changes |", "|---|---|---|---|---|"]
        for change in changes:
            steps = [f"{n}. {step}" for n, step in enumerate(change.steps, 1)]
            diff = "<br>".join([*(_cell(f.describe()) for f in change.fields), *map(_cell, steps)])
            lines.append(
                f"| {_action_text(change)} | {change.kind.value} | {_cell(change.label)} "
                f"| {change.live_id or ''} | {diff} |"
            )
        lines.append("")
    if plan.unmanaged:
        lines += ["Unmanaged (left alone unless pruning):", ""]
        lines += [
            f"- {u.kind.value} `{_name(u.group, u.name)}` ({u.live_id})" for u in plan.unmanaged
        ]
        lines.append("")
    if plan.warnings:
        lines += ["Warnings (not changed):", ""]
        lines += [
            f"- {w.kind.value} `{_name(w.group, w.name)}`: {_cell(w.message)}"
            for w in plan.warnings
        ]
        lines.append("")
    return "\n".join(lines)
