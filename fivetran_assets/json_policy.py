"""The one policy for JSON that arrives over HTTP, shared by the local Fivetran and the receiver.

Every body either servers accepts passes `parse_json`, so no route has to remember the rules:

- UTF-8 only; an invalid byte is named by its offset;
- nesting at most `MAX_DEPTH` levels (deeper input would reach Python's recursion limit);
- numbers finite (no ``NaN``/``Infinity``, no ``1e999``) and integers within 64 bits, as the
  Java service and the databases behind it store them;
- strings and keys are valid Unicode: a lone surrogate (``"\\ud800"``, legal JSON, unencodable
  as UTF-8) is refused naming the field, because one stored would break every later answer.

`parse_timestamp` is the rule for timestamps (ISO 8601, converted to UTC within range).
`InputError` carries the message and, when known, the field path (``config.tables[2].name``).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

MAX_DEPTH = 64
INT64 = (-(2**63), 2**63 - 1)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, tzinfo=UTC)


class InputError(ValueError):
    """Input refused by the policy; ``field`` is the JSON path of the offending value, if any."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _constant(name: str) -> Any:
    raise InputError(f"{name} is not a number JSON allows; send a finite number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InputError(f"number {text[:32]} is out of range")
    return value


def _path(parent: str, step: str | int) -> str:
    if isinstance(step, int):
        return f"{parent}[{step}]"
    return f"{parent}.{step}" if parent else step


def has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _bad_text(text: str, where: str, *, key: bool = False) -> InputError:
    position = next(i for i, ch in enumerate(text) if 0xD800 <= ord(ch) <= 0xDFFF)
    code = f"\\u{ord(text[position]):04x}"
    if key:
        what = f"A key of '{where}'" if where else "A top-level key"
        shown = f" ({clean_text(text)[:64]!r})"
    else:
        what, shown = (f"Field '{where}'" if where else "The body"), ""
    return InputError(
        f"{what}{shown} is not valid Unicode text: lone surrogate {code} at character {position}",
        field=where or None,
    )


def check_value(value: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Raise `InputError` if a decoded JSON value breaks the policy (depth, text, numbers).

    Iterative, so a value nested deeper than the limit is refused without recursion.
    """
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        node, where, depth = stack.pop()
        if isinstance(node, str):
            if has_lone_surrogate(node):
                raise _bad_text(node, where)
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            if not INT64[0] <= node <= INT64[1]:
                raise InputError(f"Field '{where}' is an integer outside 64 bits", field=where)
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise InputError(f"Field '{where}' is not a finite number", field=where)
        elif isinstance(node, dict | list):
            if depth > max_depth:
                shown = where if len(where) <= 80 else where[:77] + "..."
                raise InputError(
                    f"JSON is nested deeper than {max_depth} levels (at '{shown}')",
                    field=where or None,
                )
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in items:
                if isinstance(key, str) and has_lone_surrogate(key):
                    raise _bad_text(key, where, key=True)
                stack.append((child, _path(where, key), depth + 1))


def parse_json(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode a body under the policy; `InputError` (never RecursionError) when refused."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8: invalid byte at offset {exc.start}") from None
    else:
        text = raw
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_finite)
    except RecursionError:
        raise InputError(f"JSON is nested deeper than {max_depth} levels") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise InputError(f"not valid JSON: {exc.msg} ({where})") from None
    except InputError:
        raise
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise InputError(f"not valid JSON: {exc}") from None
    check_value(value, max_depth=max_depth)
    return value


def parse_timestamp(value: Any, field: str) -> datetime:
    """An ISO-8601 timestamp as an aware UTC datetime (naive means UTC), within 1970..9998."""
    if not isinstance(value, str):
        raise InputError(f"Field '{field}' must be an ISO-8601 timestamp string", field=field)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"Field '{field}' is not an ISO-8601 timestamp: {value[:64]!r}", field=field
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        parsed = EARLIEST.replace(year=1) if parsed.year < 5000 else LATEST.replace(year=9999)
    if not EARLIEST <= parsed <= LATEST:
        raise InputError(
            f"Field '{field}' is out of range: {value[:64]!r} (expected a time between "
            f"{EARLIEST.year} and {LATEST.year})",
            field=field,
        )
    return parsed


def clean_text(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD (for data stored before the policy)."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
