"""Checks of what the config says that would only fail later: references, inline credentials,
cron expressions (croniter), URLs (https, or http to a loopback host) and template placeholders.

They walk the raw document (so they see for_each items and shared selections alike) and report
problems at the exact key path and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from ipaddress import ip_address
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError, croniter

from fivetran_assets.estate.errors import EstateError, Problem
from fivetran_assets.estate.references import (
    has_reference,
    looks_secret,
    references,
    with_defaults,
)
from fivetran_assets.estate.source import KeyPath, SourceMap
from fivetran_assets.estate.validation import display_path

_TEMPLATE_VARIABLE = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


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


_CRON_FIELDS = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day of month", "1-31, L"),
    ("month", "1-12 or jan-dec"),
    ("day of week", "0-6 or sun-sat"),
)
_CRON_ERRORS = (CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError, ValueError)


def cron_problem(expression: str) -> str | None:
    """Why a cron expression cannot schedule anything, or None; checked with croniter, the parser
    Dagster's schedules use: five fields (minute hour day month weekday) or a macro (@daily),
    each field in range, and at least one time it fires (not the 30th of February)."""
    fields = expression.split()
    macro = len(fields) == 1 and expression.strip().startswith("@")
    if not macro and len(fields) != 5:
        return f"a cron expression has 5 fields (minute hour day month weekday), got {len(fields)}"
    try:
        expanded, *_ = croniter.expand(expression)
    except _CRON_ERRORS:
        return _bad_cron_field(fields) if not macro else f"unknown cron macro '{expression}'"
    if len(expanded) != 5:
        return "a cron expression has 5 fields (minute hour day month weekday)"
    try:
        croniter(expression, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except _CRON_ERRORS:
        return "this cron expression never fires (no such date, e.g. the 30th of February)"
    return None


def _bad_cron_field(fields: list[str]) -> str:
    """Name the first field croniter refuses on its own (the others set to '*')."""
    for index, (name, allowed) in enumerate(_CRON_FIELDS):
        probe = ["*"] * 5
        probe[index] = fields[index]
        try:
            croniter.expand(" ".join(probe))
        except _CRON_ERRORS:
            expected = f"{allowed}, *, a list, a range or a step"
            return f"invalid cron {name} field '{fields[index]}' (expected {expected})"
    return "invalid cron expression: its fields do not combine into a schedule"


_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES or host.lower().endswith(".localhost"):
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(value: str) -> str | None:
    """Why `value` is not a URL to send credentials or events to, or None.

    `https://` anywhere; `http://` only to this machine (the local Fivetran, a test receiver).
    A reference without a default is checked once resolved, not here.
    """
    try:
        url = with_defaults(value)
    except ValueError:
        return None  # a malformed reference is reported by check_document
    if url is None:
        return None
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError as exc:
        return f"not a valid URL: {exc}"
    if parts.scheme not in ("http", "https") or "://" not in url:
        shown = f"'{parts.scheme}://'" if "://" in url else "no scheme"
        return f"a URL must start with https:// (or http:// for this machine), got {shown}"
    if not host:
        return "the URL has no host"
    if parts.scheme == "http" and not is_loopback(host):
        return (
            f"http:// is only allowed to this machine (localhost, 127.0.0.1, ::1), not '{host}': "
            "use https://"
        )
    return None


def checked_url(url: str, *, where: str) -> str:
    """`url` once resolved, or EstateError if a reference made it one we must not call."""
    reason = url_problem(url)
    if reason:
        raise EstateError([Problem(f"{reason} (as resolved)", path=where, value=url)])
    return url


_BRACE = re.compile(r"\{\{|\}\}|\{[A-Za-z_][A-Za-z0-9_]*\}|\$?\$\{|[{}]")


def placeholder_problem(text: str) -> str | None:
    """Why a template string's braces are not balanced, or None.

    Valid: `{variable}`, `{{` and `}}` (literal braces), and references `${...}` (which may hold
    variables, as in `${env:PG_{name}_PASSWORD}`).
    """
    open_references: list[int] = []
    for match in _BRACE.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}") or (len(token) > 2 and token[0] == "{" and token[-1] == "}"):
            continue
        if token.endswith("${"):
            open_references.append(match.start())
        elif token == "}" and open_references:
            open_references.pop()
        else:
            return (
                f"unbalanced '{token}' at character {match.start() + 1}: write {{variable}} "
                "for a template variable, {{ or }} for a literal brace"
            )
    if open_references:
        return f"the reference at character {open_references[0] + 1} is never closed with '}}'"
    return None
