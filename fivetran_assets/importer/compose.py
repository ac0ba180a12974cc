"""From a read account to the config an import writes: groups, templates, selections, secrets.

`compose(account)` decides everything that goes into the file and counts it; `document.py`
only renders and writes. Groups are written in name order and connections grouped by service,
so importing the same account twice gives the same file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fivetran_assets.importer.access import AccessDoc, written_access
from fivetran_assets.importer.read import LiveAccount
from fivetran_assets.importer.records import (
    ConnectionRecord,
    Skipped,
    connection_record,
    group_problem,
    written_destination,
    written_project,
    written_transformation,
    written_webhooks,
)
from fivetran_assets.importer.secrets import Secrets
from fivetran_assets.importer.templates import Entry, connection_entries, shared_selections
from fivetran_assets.reconcile.reader import LiveGroup


@dataclass
class GroupDoc:
    """One group as written; `connections` are entries (plain or templates) with comments."""

    name: str
    destination: dict[str, Any]
    log_service: str | None = None
    members: list[dict[str, Any]] = field(default_factory=list)
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    connections: list[Entry] = field(default_factory=list)
    project: dict[str, Any] | None = None
    transformations: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Imported:
    """Everything an import writes, and what it had to leave out."""

    base_url: str
    groups: list[GroupDoc] = field(default_factory=list)
    selections: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: Secrets = field(default_factory=Secrets)
    skipped: Skipped = field(default_factory=Skipped)
    unreadable: list[str] = field(default_factory=list)
    access: AccessDoc = field(default_factory=AccessDoc)

    def counts(self) -> dict[str, int]:
        """Resources written, by kind, and the templates found."""
        entries = [e for g in self.groups for e in g.connections]
        return {
            "groups": len(self.groups),
            "destinations": len(self.groups),
            "webhooks": sum(len(g.webhooks) for g in self.groups),
            "connections": sum(e.items or 1 for e in entries),
            "transformation projects": sum(g.project is not None for g in self.groups),
            "transformations": sum(len(g.transformations) for g in self.groups),
            **self.access.counts(),
            "templates": sum(1 for e in entries if e.items),
            "shared selections": len(self.selections),
            "secrets": len(self.secrets.uses),
        }

    def resources(self) -> int:
        counts = self.counts()
        return sum(counts[kind] for kind in RESOURCE_KINDS)


RESOURCE_KINDS = (
    "groups",
    "destinations",
    "webhooks",
    "connections",
    "transformation projects",
    "transformations",
    "users",
    "teams",
    "members",
    "log services",
    "approvals",
)


def compose(account: LiveAccount, *, templates: bool = True) -> Imported:
    """The config reproducing `account` (see the package docstring)."""
    imported = Imported(base_url=account.base_url)
    imported.unreadable = [f"{u.what}: {u.reason}" for u in account.unreadable]
    for hook in account.account_webhooks:
        imported.skipped.add(
            f"account webhook {hook.url}", "the config declares group webhooks only"
        )
    readable: list[LiveGroup] = []
    for live in account.groups:
        problem = group_problem(live.group.name)
        if problem is None and live.destination is None:
            problem = "it has no destination"
        if problem is not None:
            imported.skipped.add(f"group {live.group.name}", problem)
        else:
            readable.append(live)
    records = {live.group.name: _records(live, account, imported.skipped) for live in readable}
    imported.access = _access(account, readable, records, imported)
    imported.selections = shared_selections(r for group in records.values() for r in group)
    names: set[str] = set()
    for live in readable:
        imported.groups.append(
            _group(live, records[live.group.name], imported, names, templates=templates)
        )
    return imported


def _access(
    account: LiveAccount,
    groups: list[LiveGroup],
    records: dict[str, list[ConnectionRecord]],
    imported: Imported,
) -> AccessDoc:
    """Access and governance, with each connection's part put on its record."""
    written = {(group, r.name) for group, found in records.items() for r in found}
    ids = {
        c.id: (live.group.name, c.schema)
        for live in groups
        for c in live.connections
        if (live.group.name, c.schema) in written
    }
    doc = written_access(
        account.access,
        groups={live.group.id: live.group.name for live in groups},
        connections={cid: f"{g}/{n}" for cid, (g, n) in ids.items()},
        secrets=imported.secrets,
        skipped=imported.skipped,
    )
    by_key = {key: r for found in records.values() for r in found for key in [(r.group, r.name)]}
    for cid, key in ids.items():
        record = by_key[key]
        members = doc.members.get(("connection", cid))
        if members:
            record.fields["members"] = members
        record.fields.update(doc.approvals.get(("connection", cid), {}))
    return doc


def _records(live: LiveGroup, account: LiveAccount, skipped: Skipped) -> list[ConnectionRecord]:
    found = []
    for connection in live.connections:
        record = connection_record(
            live.group.name,
            connection,
            live.schema_configs.get(connection.id),
            account.services.get(connection.service),
            skipped,
        )
        if record is not None:
            found.append(record)
    return found


def _group(
    live: LiveGroup,
    records: list[ConnectionRecord],
    imported: Imported,
    transformation_names: set[str],
    *,
    templates: bool,
) -> GroupDoc:
    name = live.group.name
    assert live.destination is not None
    secrets, skipped = imported.secrets, imported.skipped
    access = imported.access
    destination = written_destination(live.destination, name, secrets, skipped)
    destination.update(access.approvals.get(("destination", live.group.id), {}))
    doc = GroupDoc(
        name=name,
        destination=destination,
        log_service=access.group_log_service.get(live.group.id),
        members=access.members.get(("group", live.group.id), []),
        webhooks=written_webhooks(live.webhooks, name, secrets, skipped),
        connections=connection_entries(records, imported.selections, secrets, templates=templates),
    )
    projects = sorted(live.projects, key=lambda p: (p.created_at is None, p.created_at, p.id))
    for extra in projects[1:]:
        skipped.add(f"group {name} transformation project {extra.id}", "a group has one project")
    if projects:
        doc.project = written_project(projects[0], name, secrets, skipped)
    project_id = projects[0].id if doc.project is not None else None
    own = [t for t in live.transformations if t.project_id == project_id]
    for transformation in live.transformations:
        if transformation.project_id != project_id:
            label = transformation.name or transformation.id
            skipped.add(f"transformation {name}/{label}", "its project is not imported")
    written_names = {r.name for r in records}
    names_by_id = {c.id: c.schema for c in live.connections if c.schema in written_names}
    for transformation in sorted(own, key=lambda t: (t.name or "", t.id)):
        written = written_transformation(transformation, name, names_by_id, skipped)
        if written is None:
            continue
        if written["name"] in transformation_names:
            skipped.add(
                f"transformation {name}/{written['name']}",
                "another group has a transformation of that name (names are unique)",
            )
            continue
        transformation_names.add(written["name"])
        doc.transformations.append(written)
    return doc
