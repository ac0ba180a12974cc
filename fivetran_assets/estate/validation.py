"""Turn pydantic validation errors into `Problem`s with key paths, lines and suggestions.

Pydantic reports a location tuple such as `('groups', 0, 'connections', 2, 'schema', 'tables',
'payroll', 'columns', 'ssn', 'hashed')`; we render it as the path a user reads
(`groups[finance].connections[2].schema.tables.payroll.columns.ssn.hashed`), look up the line in
the source map, and for unknown keys walk the model types to suggest the nearest valid key.
"""

from __future__ import annotations

import copy
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from fivetran_assets.estate.errors import UNSET, Problem, did_you_mean, show_value
from fivetran_assets.estate.references import looks_secret
from fivetran_assets.estate.source import KeyPath, SourceMap

M = TypeVar("M", bound=BaseModel)


def display_path(path: KeyPath, data: Any) -> str:
    """Render a key path; groups are shown by name, other list items by index."""
    text = ""
    node = data
    for index, step in enumerate(path):
        if isinstance(step, int):
            label = str(step)
            if index == 1 and path[0] == "groups" and isinstance(node, list) and step < len(node):
                name = node[step].get("name") if isinstance(node[step], dict) else None
                if isinstance(name, str) and name:
                    label = name
            text += f"[{label}]"
        else:
            text += f".{step}" if text else str(step)
        node = _child(node, step)
    return text


def _child(node: Any, step: str | int) -> Any:
    if isinstance(node, dict) and not isinstance(step, int):
        return node.get(step)
    if isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
        return node[step]
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional so we can walk to the model a location points into."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            if len(members) == 1:
                annotation = members[0]
            elif models:
                annotation = models[0]
            else:
                return annotation
        else:
            return annotation


def allowed_keys(model: type[BaseModel], path: Sequence[str | int]) -> list[str] | None:
    """The keys valid at `path` inside `model`, or None if the path leads outside a model."""
    current: Any = model
    for step in path:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next(
                (f for n, f in current.model_fields.items() if (f.alias or n) == step), None
            )
            if field is None:
                return None
            current = field.annotation
            continue
        origin = typing.get_origin(current)
        args = typing.get_args(current)
        if origin is list and args:
            current = args[0]
        elif origin is dict and len(args) == 2:
            current = args[1]
        else:
            return None
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return None


_TYPE_NAMES = {
    "bool": "true or false",
    "int": "a whole number",
    "float": "a number",
    "string": "text",
    "dict": "a mapping (key: value)",
    "list": "a list",
    "model": "a mapping (key: value)",
}

_PATTERN_NAMES = {
    r"^[a-z_][a-z0-9_]*$": "lowercase letters, digits and underscores, not starting with a digit",
    r"^[A-Za-z_][A-Za-z0-9_]*$": "letters, digits and underscores, not starting with a digit",
    r"^dbt\s+\S": "a dbt command, such as 'dbt run --select staging'",
    r"^([01][0-9]|2[0-3]):[0-5][0-9]$": "a time of day as HH:MM (24 h)",
}


def _expected(error: Mapping[str, Any]) -> str | None:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in ("literal_error", "enum"):
        return f"one of {ctx.get('expected', '')}"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern"))
        return _PATTERN_NAMES.get(pattern, f"text matching {pattern}")
    base = kind.removesuffix("_type").removesuffix("_parsing")
    if base != kind and base in _TYPE_NAMES:
        return _TYPE_NAMES[base]
    if kind.startswith(("greater_than", "less_than", "too_short", "too_long")):
        return str(error["msg"]).replace("Input should be ", "").replace("List should have ", "")
    return None


def _options(error: Mapping[str, Any]) -> list[str]:
    """The allowed values of a literal or enum error, parsed from pydantic's context."""
    expected = str((error.get("ctx") or {}).get("expected", ""))
    return [part.strip(" '") for part in expected.replace(" or ", ", ").split(",")]


def problems_from(
    exc: ValidationError,
    *,
    model: type[BaseModel],
    prefix: KeyPath,
    data: Any,
    source: SourceMap,
) -> list[Problem]:
    """Problems for every error of a model validated at `prefix` of the document `data`."""
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(step for step in error["loc"] if step != "[key]")
        full = (*prefix, *loc)
        where = display_path(full, data)
        kind = error["type"]
        value = error.get("input", UNSET)
        expected = _expected(error)
        if kind == "extra_forbidden":
            key = str(loc[-1])
            allowed = allowed_keys(model, loc[:-1]) or []
            message = f"unknown key '{key}'{did_you_mean(key, allowed)}"
            expected = f"one of {', '.join(allowed)}" if allowed else None
            value = UNSET
        elif kind == "missing":
            message = f"missing required key '{loc[-1]}'"
            value = UNSET
        elif kind in ("literal_error", "enum"):
            field = next((str(step) for step in reversed(loc) if isinstance(step, str)), "value")
            options = _options(error)
            hint = did_you_mean(str(value), options) if isinstance(value, str) else ""
            message = f"invalid value {show_value(value)} for '{field}'{hint}"
        elif kind == "string_pattern_mismatch":
            message = f"invalid {loc[-1] if loc else 'value'}"
        elif expected is not None and (kind.endswith("_type") or kind.endswith("_parsing")):
            message = f"wrong type for '{loc[-1]}'" if loc else "wrong type"
        elif kind == "value_error":
            message = str(error["msg"]).removeprefix("Value error, ")
            expected = None
        else:
            message = str(error["msg"])
        if any(isinstance(s, str) and looks_secret(s) and not s.endswith("_env") for s in loc):
            value = UNSET  # never echo what may be a credential
        if "[key]" in error["loc"]:
            message = f"invalid key: {message}"
        problems.append(
            Problem(
                message,
                path=where,
                location=source.locate(full, value=kind not in ("extra_forbidden", "missing")),
                value=value,
                expected=expected,
            )
        )
    return problems


def validate(
    model: type[M], value: Any, *, prefix: KeyPath, data: Any, source: SourceMap
) -> tuple[M | None, list[Problem]]:
    """Validate `value` (at `prefix` of `data`) as `model`: (instance, []) or (None, problems)."""
    try:
        return model.model_validate(value), []
    except ValidationError as exc:
        return None, problems_from(exc, model=model, prefix=prefix, data=data, source=source)


def salvage(model: type[M], value: Any, *, rounds: int = 3) -> tuple[Any, M] | None:
    """`value` without the keys pydantic rejects, and its instance; None if nothing valid is left.

    Used to go on checking what the rest of a rejected item says (its cron, its schedule, its
    selection) in the same run; the remainder is never used to build a valid estate.
    """
    if not isinstance(value, dict):
        return None
    pruned = copy.deepcopy(value)
    for _ in range(rounds):
        try:
            return pruned, model.model_validate(pruned)
        except ValidationError as exc:
            removed = False
            for error in exc.errors(include_url=False):
                removed |= _remove(pruned, [s for s in error["loc"] if s != "[key]"])
            if not removed:
                return None
    return None


def _remove(root: Any, loc: list[Any]) -> bool:
    """Delete the key at `loc` (for a list item, the key holding the list)."""
    node = root
    for step in loc[:-1]:
        node = _child(node, step)
    if loc and isinstance(node, dict) and loc[-1] in node:
        del node[loc[-1]]
        return True
    if isinstance(node, list) and len(loc) > 1:
        return _remove(root, loc[:-1])
    return False
