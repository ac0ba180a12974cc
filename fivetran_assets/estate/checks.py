"""Checks that look at the whole written config: references, inline credentials, cron syntax.

They walk the raw document (so they see for_each items and shared selections alike) and report
problems at the exact key path and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fivetran_assets.estate.errors import Problem
from fivetran_assets.estate.references import has_reference, looks_secret, references
from fivetran_assets.estate.source import KeyPath, SourceMap
from fivetran_assets.estate.validation import display_path

_TEMPLATE_VARIABLE = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,\-?LW#]+$")


def walk(node: Any, path: KeyPath = ()) -> Iterator[tuple[KeyPath, Any]]:
    """Every (key path, value) of a plain document, depth first."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*path, index))


def check_document(data: dict[str, Any], source: SourceMap) -> list[Problem]:
    """Malformed references anywhere, and credentials written inline instead of as references."""
    problems = []
    for path, value in walk(data):
        if not isinstance(value, str):
            continue
        where = display_path(path, data)
        location = source.locate(path, value=True)
        # Template variables may build names: ${env:PG_{name}_PASSWORD}.
        probe = _TEMPLATE_VARIABLE.sub("x", value)
        if "${" in value:
            try:
                references(probe)
            except ValueError as exc:
                problems.append(Problem(str(exc), path=where, location=location, value=value))
                continue
        if path == ("account", "rate_state") and _inline_password(probe):
            problems.append(
                Problem(
                    "the database URL holds a password in plain text; the value is not shown here",
                    path=where,
                    location=location,
                    expected="the password as a reference: postgresql://user:${env:NAME}@host/db",
                )
            )
        key = path[-1] if path else None
        if (
            isinstance(key, str)
            and looks_secret(key)
            and not key.endswith("_env")
            and value
            and not has_reference(probe)
        ):
            problems.append(
                Problem(
                    f"'{key}' is a credential and is written in plain text; the value is "
                    "not shown here",
                    path=where,
                    location=location,
                    expected="a reference: ${env:NAME} or ${file:PATH}",
                )
            )
    return problems


def _inline_password(url: str) -> bool:
    """Whether a URL carries a literal password (in its user info or a `password=` query)."""
    parts = urlsplit(url)
    try:
        password = parts.password
    except ValueError:
        return False
    literal = [password] if password else []
    literal += [v for k, v in parse_qsl(parts.query) if k == "password"]
    return any(value and not has_reference(value) for value in literal)


def cron_problem(expression: str) -> str | None:
    """Why a cron expression is malformed (five fields: minute hour day month weekday), or None."""
    fields = expression.split()
    if len(fields) != 5:
        return f"a cron expression has 5 fields (minute hour day month weekday), got {len(fields)}"
    bad = [f for f in fields if not _CRON_FIELD.match(f)]
    if bad:
        return f"invalid cron field '{bad[0]}'"
    return None
