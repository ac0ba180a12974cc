"""Fivetran's own OpenAPI definition (vendored), with its known slips, to check the local Fivetran.

`SLIPS` is the one list of where the definition and the real service part ways, each with the
reason; `definition()` is the definition with every slip applied, used both to validate the
answers our tests see (`validate`) and by the fuzz run (`fivetran_assets_tests/fuzz`). Paths only
the legacy API has (``/v1/connectors...``) are checked against their ``/v1/connections...``
twins; answers with no schema in the definition (most errors) must still be Fivetran's
``{code, message}`` error envelope.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SLIPS: dict[str, str] = {
    "nullable": "The definition marks no field nullable, while the service answers null for unset "
    "optional fields (timestamps, secrets) and for an unset timestamp even when required (an "
    "invited user's logged_in_at: 'unset ones are null'): such a property may be null.",
    "integer enums": "Some integer enums are listed as strings (sync_frequency): compared as "
    "integers.",
    "array enum": "The enum of a role's scope sits on the array instead of its items: moved to "
    "the items.",
    "free-form maps": "A map declared additionalProperties: {type: object} (Java's Map<String, "
    "Object> as the generator wrote it, e.g. a connection's config) may hold any JSON value.",
    "role may be absent": "UserResponse.role and TeamResponse.role are required, yet a user or "
    "team with no account role (invited without one, or after DELETE .../role) has none.",
    "local services": "The local Fivetran serves services Fivetran does not have (a sqlite source, "
    "a duckdb destination); they join the `service` discriminators with the common fields only.",
}
"""Every known slip of the definition, by name, with the reason it is one."""

SPEC_PATH = Path(__file__).resolve().parent.parent / "reference" / "fivetran-openapi.json"
ERROR_ENVELOPE = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}
ACTION_ENVELOPE = ERROR_ENVELOPE


def _fix(node: Any) -> Any:
    """Slips "nullable", "integer enums", "array enum" and "free-form maps", everywhere."""
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


NULLABLE_REQUIRED = {"UserResponse": "role", "TeamResponse": "role"}  # slip "role may be absent"


def _local_services(schemas: dict[str, Any]) -> None:
    """Slip "local services": the local Fivetran's own services, valid with the common fields."""
    from fivetran_assets.emulator.dataplane import api

    for name, schema in list(schemas.items()):
        discriminator = schema.get("discriminator") or {}
        if discriminator.get("propertyName") != "service":
            continue
        if "Connector" in name:
            local = api.SOURCE_SERVICES
        elif "Destination" in name:
            local = api.DESTINATION_SERVICES
        else:
            continue
        common = f"local_{name}"
        schemas[common] = {k: v for k, v in schema.items() if k != "discriminator"}
        mapping = discriminator.setdefault("mapping", {})
        for service in local:
            mapping.setdefault(service, f"#/components/schemas/{common}")


@cache
def definition() -> dict[str, Any]:
    """The whole definition with every slip in `SLIPS` applied (do not modify the result)."""
    spec = _fix(_raw())
    schemas = spec["components"]["schemas"]
    for component, field in NULLABLE_REQUIRED.items():
        props = schemas[component]["properties"]
        props[field] = {"anyOf": [{"type": "null"}, props[field]]}
    _local_services(schemas)
    return spec


def _spec() -> dict[str, Any]:
    return definition()


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
        response = _spec()["components"]["responses"][name]
    content = response.get("content", {}).get("application/json")
    if not content or "schema" not in content:
        return None
    return content["schema"]


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
