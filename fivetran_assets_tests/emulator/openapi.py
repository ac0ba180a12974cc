"""Validate the local Fivetran's answers against Fivetran's own OpenAPI definition (vendored).

The definition marks no field nullable while the real service answers ``null`` for unset
optional fields (timestamps, secrets), so a property that is not required may also be null, and so
may a timestamp that is (an invited user's ``logged_in_at``: "unset ones are null").
It also lists some integer enums as strings (``sync_frequency``); those are compared as
integers, and puts the enum of a role's ``scope`` on the array instead of its items (moved
there). A map declared ``additionalProperties: {type: object}`` (Java's ``Map<String,
Object>`` as the generator wrote it, e.g. a connection's ``config``) may hold any JSON value.
Paths only the legacy API has (``/v1/connectors...``) are checked against their
``/v1/connections...`` twins; answers with no schema in the definition (most errors) must
still be Fivetran's ``{code, message}`` error envelope.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SPEC_PATH = Path(__file__).resolve().parent.parent / "reference" / "fivetran-openapi.json"
ERROR_ENVELOPE = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}
ACTION_ENVELOPE = ERROR_ENVELOPE


def _fix(node: Any) -> Any:
    if isinstance(node, list):
        return [_fix(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _fix(value) for key, value in node.items()}
    if out.get("additionalProperties") == {"type": "object"}:
        out["additionalProperties"] = {}
    if out.get("type") == "integer" and "enum" in out:
        out["enum"] = [int(v) for v in out["enum"]]
    if out.get("type") == "array" and "enum" in out:
        out["items"] = {**out.get("items", {}), "enum": out.pop("enum")}
    props = out.get("properties")
    if isinstance(props, dict):
        required = set(out.get("required", []))
        out["properties"] = {
            name: schema
            if name in required and schema.get("format") != "date-time"
            else {"anyOf": [{"type": "null"}, schema]}
            for name, schema in props.items()
        }
    return out


@cache
def _raw() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text())


# Required by the definition yet absent in fact: a user or team with no account role (invited
# without one, or after `DELETE .../role`) has none to report.
NULLABLE_REQUIRED = {"UserResponse": "role", "TeamResponse": "role"}


@cache
def _spec() -> dict[str, Any]:
    spec = _raw()
    schemas = _fix(spec["components"]["schemas"])
    for component, field in NULLABLE_REQUIRED.items():
        props = schemas[component]["properties"]
        props[field] = {"anyOf": [{"type": "null"}, props[field]]}
    return {"paths": spec["paths"], "components": {"schemas": schemas}}


@cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for template in _spec()["paths"]:
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        out.append((re.compile(f"^{pattern}$"), template))
    return out


def operation(method: str, path: str) -> dict[str, Any] | None:
    """The definition's operation for a concrete path (legacy connector paths mapped)."""
    path = path.split("?", 1)[0]
    path = re.sub(r"^/v1/connectors(?=/|$)", "/v1/connections", path)
    path = re.sub(r"^(/v1/groups/[^/]+)/connectors$", r"\1/connections", path)
    for pattern, template in _templates():
        if pattern.match(path):
            op = _spec()["paths"][template].get(method.lower())
            if op is not None:
                return op
    return None


def response_schema(method: str, path: str, status: int) -> dict[str, Any] | None:
    op = operation(method, path)
    if op is None:
        return None
    response = op.get("responses", {}).get(str(status))
    if response is None:
        return None
    while "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[-1]
        response = _raw()["components"]["responses"][name]
    content = response.get("content", {}).get("application/json")
    if not content or "schema" not in content:
        return None
    return _fix(copy.deepcopy(content["schema"]))


def validate(method: str, path: str, status: int, body: Any) -> None:
    """Raise ``jsonschema.ValidationError`` if ``body`` breaks the definition for this answer."""
    schema = response_schema(method, path, status)
    if schema is None:
        if (path.startswith("/v1/") and method.upper() != "GET") or status >= 400:
            jsonschema.validate(body, ERROR_ENVELOPE)
        return
    root = {**schema, "components": _spec()["components"]}
    jsonschema.Draft4Validator(root).validate(body)
    if status >= 400:
        jsonschema.validate(body, ERROR_ENVELOPE)
