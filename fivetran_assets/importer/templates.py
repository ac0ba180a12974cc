"""Connections as the config writes them: `for_each` templates and shared selections.

The connections of one group and service become one template with one item per connection
(when the service is known and there are at least two). For each config value:

- the same in every connection: written once, in the template;
- a credential: `${env:<GROUP>_{name}_<KEY>}` in the template (each item its own variable);
- text that differs only by the connection's name (`/data/sales.sqlite`, `/data/hr.sqlite`):
  the template writes `/data/{name}.sqlite`;
- the same in most connections: in the template, the others override it in their item;
- other text: a template variable (`database: "{database}"`), set by every item;
- anything else: an override in the items that have it.

Scheduling fields and the schema selection follow the same rule (shared, else the most common,
else per item). Identical selections used by two or more connections become one entry under
`selections:`, used by `schema: {use: name}`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fivetran_assets.estate.expand import BUILTIN_VARIABLES, FIELD_KEYS
from fivetran_assets.importer.records import MASKED, ConnectionRecord, escaped, with_references
from fivetran_assets.importer.secrets import Secrets, key_part, name_part, reference
from fivetran_assets.reconcile.values import unflatten

ABSENT = object()
FIELDS = (
    "sync_frequency",
    "daily_sync_time",
    "scheduled_by",
    "paused",
    "members",
    "certificates",
    "fingerprints",
)
# What an item writes to undo a template value it does not share (lists: "none", declared).
UNSET_FIELD: dict[str, Any] = {
    "paused": False,
    "scheduled_by": "fivetran",
    "members": [],
    "certificates": [],
    "fingerprints": [],
}
_NOT_NAME = re.compile(r"[^a-z0-9_]")


@dataclass
class Entry:
    """One entry of a group's `connections:` list, with the comments written above it."""

    data: dict[str, Any]
    comments: list[str] = field(default_factory=list)
    items: int = 0  # for_each items when a template, else 0


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


def template_text(value: str) -> str:
    """A read string as template text: braces doubled, so `{` is not taken for a variable."""
    return escaped(value).replace("{", "{{").replace("}", "}}")


def _template_value(value: Any) -> Any:
    if isinstance(value, str):
        return template_text(value)
    if isinstance(value, list):
        return [_template_value(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _template_value(v) for k, v in value.items()}
    return value


# ----------------------------------------------------------------------- shared selections


def config_name(text: str) -> str:
    """A valid config name (lowercase letters, digits, underscores) made from `text`."""
    name = _NOT_NAME.sub("_", text.lower())
    return name if name and not name[0].isdigit() else f"s_{name}"


def shared_selections(records: Iterable[ConnectionRecord]) -> dict[str, dict[str, Any]]:
    """Selections used by two or more connections, by name (names in order of first use)."""
    users: dict[str, list[ConnectionRecord]] = {}
    for record in records:
        if record.selection is not None:
            users.setdefault(_key(record.selection), []).append(record)
    named: dict[str, dict[str, Any]] = {}
    for group in users.values():
        if len(group) < 2:
            continue
        groups = sorted({r.group for r in group})
        services = sorted({r.service for r in group})
        owners = "_".join(groups) if len(groups) <= 3 else "shared"
        base = config_name(f"{owners}_{services[0]}" if len(services) == 1 else owners)
        name, counter = base, 2
        while name in named:
            name, counter = f"{base}_{counter}", counter + 1
        named[name] = group[0].selection  # type: ignore[assignment]
    return named


def _schema_entry(selection: dict[str, Any] | None, shared: Mapping[str, str]) -> Any:
    if selection is None:
        return None
    name = shared.get(_key(selection))
    return {"use": name} if name is not None else escaped(selection)


# ------------------------------------------------------------------------------- entries


def connection_entries(
    records: Sequence[ConnectionRecord],
    shared: Mapping[str, dict[str, Any]],
    secrets: Secrets,
    *,
    templates: bool = True,
) -> list[Entry]:
    """The `connections:` entries of one group (records in the order they were read)."""
    by_key = {_key(selection): name for name, selection in shared.items()}
    by_service: dict[str, list[ConnectionRecord]] = {}
    for record in records:
        by_service.setdefault(record.service, []).append(record)
    entries: list[Entry] = []
    for service in sorted(by_service):
        group = by_service[service]
        if templates and len(group) >= 2 and group[0].known:
            entries.append(_template(group, by_key, secrets))
        else:
            entries.extend(_plain(r, by_key, secrets) for r in group)
    return entries


def _plain(record: ConnectionRecord, shared: Mapping[str, str], secrets: Secrets) -> Entry:
    data: dict[str, Any] = {"name": record.name, "service": record.service}
    where = f"connection {record.group}/{record.name}"
    if record.leaves:
        variable = f"{name_part(record.group)}_{record.name}"
        data["config"] = with_references(record.leaves, secrets, variable, where)
    data.update(record.fields)
    schema = _schema_entry(record.selection, shared)
    if schema is not None:
        data["schema"] = schema
    comments = list(record.notes)
    if not record.known:
        comments.insert(
            0,
            f"Fivetran does not describe service '{record.service}' (no connector-type "
            "metadata): its config is written as read, not templated; review it.",
        )
    return Entry(data, comments)


class _Template:
    """Builds one template: the shared part and each item's variables and overrides."""

    def __init__(self, records: Sequence[ConnectionRecord], secrets: Secrets) -> None:
        self.records = records
        self.secrets = secrets
        self.config: dict[str, Any] = {}
        self.fields: dict[str, Any] = {}
        self.variables: list[dict[str, str]] = [{} for _ in records]
        self.overrides: list[dict[str, Any]] = [{} for _ in records]
        self.config_overrides: list[dict[str, Any]] = [{} for _ in records]
        self.taken = set(FIELD_KEYS) | set(BUILTIN_VARIABLES)

    def _variable_name(self, path: str) -> str:
        parts = path.split(".")
        for candidate in (parts[-1], "_".join(parts)):
            name = config_name(candidate)
            if name not in self.taken:
                self.taken.add(name)
                return name
        base, counter = config_name("_".join(parts)), 2
        while f"{base}_{counter}" in self.taken:
            counter += 1
        self.taken.add(f"{base}_{counter}")
        return f"{base}_{counter}"

    def _secret(self, path: str, index: int) -> str:
        record = self.records[index]
        name = f"{name_part(record.group)}_{record.name}_{key_part(path)}"
        where = f"connection {record.group}/{record.name} config.{path}"
        return self.secrets.add(name, where)

    def _override(self, index: int, path: str, value: Any) -> None:
        if value is ABSENT:
            return
        self.config_overrides[index][path] = (
            self._secret(path, index) if value is MASKED else _template_value(value)
        )

    def add_config(self, path: str) -> None:
        values = [r.leaves.get(path, ABSENT) for r in self.records]
        names = [r.name for r in self.records]
        if any(v is ABSENT for v in values):
            for index, value in enumerate(values):
                self._override(index, path, value)
            return
        if all(v is MASKED for v in values):
            group = name_part(self.records[0].group)
            for index in range(len(values)):
                self._secret(path, index)
            self.config[path] = reference(f"{group}_{{name}}_{key_part(path)}")
            return
        keys = [_key(v) if v is not MASKED else "" for v in values]
        if len(set(keys)) == 1:
            self.config[path] = _template_value(values[0])
            return
        if all(isinstance(v, str) for v in values):
            pattern = _name_pattern(values, names)
            if pattern is not None:
                self.config[path] = pattern
                return
        common, count = Counter(k for k in keys if k).most_common(1)[0]
        if count * 2 > len(values):
            mode = values[keys.index(common)]
            self.config[path] = _template_value(mode)
            for index, value in enumerate(values):
                if keys[index] != common:
                    self._override(index, path, value)
            return
        if all(isinstance(v, str) for v in values):
            variable = self._variable_name(path)
            self.config[path] = f"{{{variable}}}"
            for index, value in enumerate(values):
                self.variables[index][variable] = escaped(value)
            return
        for index, value in enumerate(values):
            self._override(index, path, value)

    def add_field(self, name: str, values: list[Any]) -> None:
        """A scheduling field (or the schema): shared, else the most common, else per item."""
        keys = [_key(v) if v is not ABSENT else "" for v in values]
        common, count = Counter(keys).most_common(1)[0]
        if count == len(values) or (name != "daily_sync_time" and count >= 2):
            if common:
                self.fields[name] = values[keys.index(common)]
            for index, value in enumerate(values):
                if keys[index] != common:
                    default = UNSET_FIELD.get(name)
                    self.overrides[index][name] = default if value is ABSENT else value
            return
        for index, value in enumerate(values):
            if value is not ABSENT:
                self.overrides[index][name] = value


def _name_pattern(values: Sequence[str], names: Sequence[str]) -> str | None:
    """The one template string that gives each value from its connection's name, if any."""
    patterns = set()
    for value, name in zip(values, names, strict=True):
        text = template_text(value)
        if name not in text:
            return None
        patterns.add(text.replace(name, "{name}"))
    return patterns.pop() if len(patterns) == 1 else None


def _template(
    records: Sequence[ConnectionRecord], shared: Mapping[str, str], secrets: Secrets
) -> Entry:
    builder = _Template(records, secrets)
    paths = list(dict.fromkeys(p for r in records for p in r.leaves))
    for path in paths:
        builder.add_config(path)
    for name in FIELDS:
        builder.add_field(name, [r.fields.get(name, ABSENT) for r in records])
    schemas = [_schema_entry(r.selection, shared) for r in records]
    builder.add_field("schema", [ABSENT if s is None else s for s in schemas])
    template_schema = builder.fields.pop("schema", None)
    for override in builder.overrides:
        schema = override.get("schema")
        if schema is not None and template_schema is not None and "use" not in schema:
            override["schema"] = {"use": None, **schema}  # not laid over the template's
    data: dict[str, Any] = {"service": records[0].service}
    if builder.config:
        data["config"] = unflatten(builder.config)
    data.update(builder.fields)
    if template_schema is not None:
        data["schema"] = template_schema
    data["for_each"] = [
        _item(record, builder.variables[i], builder.overrides[i], builder.config_overrides[i])
        for i, record in enumerate(records)
    ]
    comments = [
        f"{len(records)} {records[0].service} connections: one for_each item each "
        "(imported as a template; {name} is the item's name)."
    ]
    comments += [f"{r.name}: {note}" for r in records for note in r.notes]
    return Entry(data, comments, items=len(records))


def _item(
    record: ConnectionRecord,
    variables: dict[str, str],
    overrides: dict[str, Any],
    config: dict[str, Any],
) -> dict[str, Any]:
    item: dict[str, Any] = {"name": record.name, **variables}
    if config:
        item["config"] = unflatten(config)
    item.update(overrides)
    return item
