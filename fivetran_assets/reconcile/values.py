"""Comparing declared values with live ones: flattening, loose equality, and secret fields.

Service configs are nested mappings. The reconciler compares only what the config declares (an
override of what Fivetran has), leaf by leaf, so each leaf gets a dotted path. A leaf written
with a `${...}` reference is a secret: its plaintext is looked at only to fingerprint it (plan)
or to send it (apply), and never compared with the masked value Fivetran returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fivetran_assets.estate.references import Environment, Secret, has_reference, resolve


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"a": {"b": 1}}` -> `{"a.b": 1}`; lists are leaves."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, Mapping) and item:
            out.update(flatten(item, path))
        else:
            out[path] = item
    return out


def unflatten(values: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of `flatten`: a nested mapping holding only the given leaves."""
    out: dict[str, Any] = {}
    for path, value in values.items():
        node = out
        *parents, last = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def loosely_equal(declared: Any, live: Any) -> bool:
    """Equal, or equal once both are written as text (Fivetran echoes ports as strings)."""
    if declared == live:
        return True
    if isinstance(declared, bool) or isinstance(live, bool):
        return str(declared).lower() == str(live).lower()
    if isinstance(declared, list | tuple) and isinstance(live, list | tuple):
        return len(declared) == len(live) and all(map(loosely_equal, declared, live))
    if declared is None or live is None:
        return False
    return str(declared) == str(live)


def split_secrets(config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Flattened (plain leaves, secret leaves as the reference text written in config)."""
    plain: dict[str, Any] = {}
    secret: dict[str, str] = {}
    for path, value in flatten(config).items():
        if has_reference(value):
            secret[path] = value
        else:
            plain[path] = value
    return plain, secret


def resolve_secrets(
    references: Mapping[str, str], environment: Environment, *, where: str
) -> dict[str, str]:
    """Plaintexts of secret leaves (path -> value); EstateError naming each missing variable."""
    resolved = resolve(dict(references), environment, where=where)
    return {path: (v.reveal() if isinstance(v, Secret) else str(v)) for path, v in resolved.items()}


def resolve_text(value: str, environment: Environment, *, where: str) -> str:
    """A single string with its references resolved (for configuration such as URLs)."""
    resolved = resolve(value, environment, where=where)
    return resolved.reveal() if isinstance(resolved, Secret) else resolved
