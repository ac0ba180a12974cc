"""Field readers for `from_api`: lenient where Fivetran is loose, loud where data is unusable.

Each reader takes the record name for error messages, so a malformed answer says which record and
field were wrong (`Connection.succeeded_at: expected an ISO-8601 timestamp, got 'soon'`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeGuard

from fivetran_assets.fivetran.errors import UnexpectedResponseError


def _fail(record: str, key: str, expected: str, value: object) -> UnexpectedResponseError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return UnexpectedResponseError(f"{record}.{key}: expected {expected}, got {shown}")


def is_mapping(value: object) -> TypeGuard[Mapping[str, Any]]:
    """`isinstance(value, Mapping)`, answered without the ABC check for the dicts JSON makes
    (a schema config answer holds hundreds of objects, and a plan reads one per connection)."""
    return type(value) is dict or isinstance(value, Mapping)


def as_mapping(data: object, record: str) -> Mapping[str, Any]:
    """`data` as a mapping, or an error naming the record that was expected."""
    if not is_mapping(data):
        raise _fail(record, "<root>", "an object", data)
    return data


def req_str(data: Mapping[str, Any], key: str, record: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise _fail(record, key, "a non-empty string", value)
    return value


def opt_str(data: Mapping[str, Any], key: str, record: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(record, key, "a string", value)
    return value


def opt_bool(data: Mapping[str, Any], key: str, record: str) -> bool | None:
    """Booleans, tolerating the string forms ("true"/"false") some clients and fixtures use."""
    value = data.get(key)
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _fail(record, key, "a boolean", value)


def flag(data: Mapping[str, Any], key: str, record: str, *, default: bool = False) -> bool:
    value = opt_bool(data, key, record)
    return default if value is None else value


def opt_int(data: Mapping[str, Any], key: str, record: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise _fail(record, key, "an integer", value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise _fail(record, key, "an integer", value)


def opt_datetime(data: Mapping[str, Any], key: str, record: str) -> datetime | None:
    """ISO-8601 timestamps as aware UTC datetimes; naive ones are taken to be UTC."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _fail(record, key, "an ISO-8601 timestamp", value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(record, key, "an ISO-8601 timestamp", value) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def str_tuple(data: Mapping[str, Any], key: str, record: str) -> tuple[str, ...]:
    """A list of strings; a lone string counts as a one-item list (cron is sent both ways)."""
    value = data.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise _fail(record, key, "a list of strings", value)
    return tuple(value)


def obj_list(data: Mapping[str, Any], key: str, record: str) -> list[Mapping[str, Any]]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise _fail(record, key, "a list of objects", value)
    return value


def obj(data: Mapping[str, Any], key: str, record: str) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not is_mapping(value):
        raise _fail(record, key, "an object", value)
    return value
