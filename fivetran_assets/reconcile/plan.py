"""The Plan: what apply would change, as ordered, comparable value objects.

A plan is computed from the config (desired state) and a fresh read of Fivetran (existing
state). Each change is a frozen `Create`, `Update` or `Delete` naming one resource by its
identity (kind, group, name), never by a state file, or a `Duplicate`: a second live resource
matching a declared one (two webhooks with one URL, two connections with one destination
schema), which apply deletes without `--prune` since it is a copy of a managed resource.
Changes are sorted deterministically: creates and updates in dependency order (groups before
destinations before connections ...), deletes and duplicates after them in reverse dependency
order, duplicates of one resource newest first. The JSON form is stable (sorted keys, no live
payloads) so two plans of the same situation serialise identically, and secrets never enter a
plan at all: a secret field diff only says that the value is set or changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

MASK = "******"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    DUPLICATE = "duplicate"  # delete a copy of a declared resource


class Kind(StrEnum):
    """Resource kinds, declared in the order they must be created."""

    GROUP = "group"
    DESTINATION = "destination"
    WEBHOOK = "webhook"
    CONNECTION = "connection"
    SCHEMA_CONFIG = "schema_config"
    TRANSFORMATION_PROJECT = "transformation_project"
    TRANSFORMATION = "transformation"
    # access: who may do what (account users and teams, their roles in groups and connections)
    USER = "user"
    TEAM = "team"
    TEAM_MEMBER = "team_member"
    GROUP_MEMBER = "group_member"
    CONNECTION_MEMBER = "connection_member"
    # governance: where logs go, which certificates and host keys are trusted
    LOG_SERVICE = "log_service"
    CERTIFICATE = "certificate"
    FINGERPRINT = "fingerprint"

    @property
    def rank(self) -> int:
        return list(Kind).index(self)

    @property
    def area(self) -> str:
        """`estate` (pipelines), `access` or `governance`: how plan output groups kinds."""
        if self in ACCESS_KINDS:
            return "access"
        if self in GOVERNANCE_KINDS:
            return "governance"
        return "estate"


ACCESS_KINDS = frozenset(
    {Kind.USER, Kind.TEAM, Kind.TEAM_MEMBER, Kind.GROUP_MEMBER, Kind.CONNECTION_MEMBER}
)
GOVERNANCE_KINDS = frozenset({Kind.LOG_SERVICE, Kind.CERTIFICATE, Kind.FINGERPRINT})


class UnsafePlanError(Exception):
    """The plan deletes or replaces more than the safety threshold allows."""


@dataclass(frozen=True)
class FieldDiff:
    """One field that differs: a dotted path, the live value and the declared value.

    For a secret field `old` and `new` are always None: the plaintext is never part of a plan,
    and `reason` says why it will be sent (set for the first time, or its fingerprint changed).
    """

    path: str
    old: Any = None
    new: Any = None
    secret: bool = False
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        if self.secret:
            return {
                "path": self.path,
                "old": MASK,
                "new": MASK,
                "secret": True,
                "reason": self.reason,
            }
        return {"path": self.path, "old": self.old, "new": self.new}

    def describe(self) -> str:
        if self.secret:
            return f"{self.path}: {MASK} ({self.reason})"
        if self.old is None:
            return f"{self.path}: {_short(self.new)}"
        return f"{self.path}: {_short(self.old)} -> {_short(self.new)}"


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class Change:
    """A change to one resource; subclasses fix the action.

    `desired` (the config's spec) and `existing` (the live record) ride along for the applier but
    take no part in equality, ordering, repr or JSON, which are all about the identity and diff.
    `steps` say in words what a change made of several (a group moved to a new destination) does.
    """

    kind: Kind
    group: str
    name: str = ""
    fields: tuple[FieldDiff, ...] = ()
    live_id: str | None = None
    replace: bool = False
    steps: tuple[str, ...] = ()
    desired: Any = field(default=None, compare=False, repr=False)
    existing: Any = field(default=None, compare=False, repr=False)

    action: ClassVar[Action]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind.value, self.group, self.name)

    @property
    def label(self) -> str:
        """A human name: `group`, `group/name`, or `name` for account-level resources."""
        return "/".join(part for part in (self.group, self.name) if part)

    @property
    def removes(self) -> bool:
        """Whether applying it deletes the live resource (a delete or a duplicate)."""
        return self.action in (Action.DELETE, Action.DUPLICATE)

    @property
    def destructive(self) -> bool:
        """Counts against the safety threshold: a delete or a replacement. A duplicate does
        not: removing a copy leaves the declared resource in place."""
        return self.action is Action.DELETE or self.replace

    def sort_key(self) -> tuple[int, int, str, str, float]:
        if self.removes:
            return (1, -self.kind.rank, self.group, self.name, self._age())
        return (0, self.kind.rank, self.group, self.name, 0.0)

    def _age(self) -> float:
        return 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "kind": self.kind.value,
            "group": self.group,
            "name": self.name,
            "id": self.live_id,
            "replace": self.replace,
            "fields": [f.to_dict() for f in self.fields],
            "steps": list(self.steps),
        }


@dataclass(frozen=True)
class Create(Change):
    action: ClassVar[Action] = Action.CREATE


@dataclass(frozen=True)
class Update(Change):
    action: ClassVar[Action] = Action.UPDATE


@dataclass(frozen=True)
class Delete(Change):
    action: ClassVar[Action] = Action.DELETE


@dataclass(frozen=True)
class Duplicate(Change):
    """A live copy of a declared resource; `created_at` orders copies newest first."""

    created_at: float = 0.0
    action: ClassVar[Action] = Action.DUPLICATE

    def _age(self) -> float:
        return -self.created_at


@dataclass(frozen=True)
class Unmanaged:
    """A live resource the config does not declare; left alone unless pruning."""

    kind: Kind
    group: str
    name: str
    live_id: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "group": self.group, "name": self.name, "id": self.live_id}


@dataclass(frozen=True)
class PlanWarning:
    """Something worth knowing that apply will not change (drift in undeclared settings...)."""

    kind: Kind
    group: str
    name: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "group": self.group,
            "name": self.name,
            "message": self.message,
        }


@dataclass(frozen=True)
class Plan:
    """The ordered difference between the config and the live estate.

    `existing_count` is the number of live resources the config manages; the safety check
    compares destructive changes against it. `ids` maps `kind:group[/name]` to the live ids the
    applier needs (a new connection's group), and is not part of the plan's identity.
    """

    changes: tuple[Change, ...] = ()
    unmanaged: tuple[Unmanaged, ...] = ()
    warnings: tuple[PlanWarning, ...] = ()
    existing_count: int = 0
    ids: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "changes", tuple(sorted(self.changes, key=Change.sort_key)))
        object.__setattr__(
            self,
            "unmanaged",
            tuple(sorted(self.unmanaged, key=lambda u: (u.kind.rank, u.group, u.name))),
        )
        object.__setattr__(
            self,
            "warnings",
            tuple(sorted(self.warnings, key=lambda w: (w.kind.rank, w.group, w.name, w.message))),
        )

    @property
    def is_empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, int]:
        """Numbers of creates, updates, deletes, replacements, unmanaged and warnings."""
        return {
            "create": sum(c.action is Action.CREATE for c in self.changes),
            "update": sum(c.action is Action.UPDATE and not c.replace for c in self.changes),
            "replace": sum(c.replace for c in self.changes),
            "delete": sum(c.action is Action.DELETE for c in self.changes),
            "duplicate": sum(c.action is Action.DUPLICATE for c in self.changes),
            "unmanaged": len(self.unmanaged),
            "warnings": len(self.warnings),
        }

    def summary(self) -> str:
        c = self.counts()
        if self.is_empty:
            return "No changes: the live estate matches the config."
        duplicates = f", {c['duplicate']} duplicate(s) to delete" if c["duplicate"] else ""
        return (
            f"{c['create']} to create, {c['update']} to update, {c['replace']} to replace, "
            f"{c['delete']} to delete{duplicates}."
        )

    def raise_if_unsafe(self, *, threshold: float = 0.3, allow_destructive: bool = False) -> None:
        """Refuse a plan whose deletes and replacements exceed `threshold` of what exists.

        At least one destructive change is always allowed, so removing a single connection on
        purpose does not need the flag; removing a third of the estate does. Duplicates do not
        count: each leaves the resource it copies in place. Replacing a group (moving it to a
        new destination) always needs it.
        """
        if allow_destructive:
            return
        destructive = [c for c in self.changes if c.destructive]
        moved = [c.label for c in destructive if c.kind is Kind.GROUP]
        if moved:
            raise UnsafePlanError(
                f"the plan moves group {', '.join(moved)} to a new destination: the old group is "
                "deleted with everything in it once the new one has synced. Pass "
                "--allow-destructive to apply it."
            )
        allowed = max(1, int(threshold * self.existing_count))
        if len(destructive) > allowed:
            names = ", ".join(f"{c.action.value} {c.kind.value} {c.label}" for c in destructive[:5])
            more = "" if len(destructive) <= 5 else f" and {len(destructive) - 5} more"
            raise UnsafePlanError(
                f"the plan would delete or replace {len(destructive)} of {self.existing_count} "
                f"managed resources (more than {threshold:.0%}, at most {allowed} allowed): "
                f"{names}{more}. Pass --allow-destructive to apply it anyway."
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.counts(),
            "changes": [c.to_dict() for c in self.changes],
            "unmanaged": [u.to_dict() for u in self.unmanaged],
            "warnings": [w.to_dict() for w in self.warnings],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=2, default=str)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        """The plan `to_dict` wrote (as a run's metadata carries it), for rendering again."""
        actions = {c.action.value: c for c in (Create, Update, Delete)}
        changes = tuple(
            actions[c["action"]](
                Kind(c["kind"]),
                c["group"],
                c.get("name") or "",
                tuple(
                    FieldDiff(f["path"], secret=True, reason=f.get("reason", ""))
                    if f.get("secret")
                    else FieldDiff(f["path"], f.get("old"), f.get("new"))
                    for f in c.get("fields", ())
                ),
                live_id=c.get("id"),
                replace=bool(c.get("replace")),
                steps=tuple(c.get("steps", ())),
            )
            for c in data.get("changes", ())
        )
        return cls(
            changes=changes,
            unmanaged=tuple(
                Unmanaged(Kind(u["kind"]), u["group"], u.get("name") or "", u["id"])
                for u in data.get("unmanaged", ())
            ),
            warnings=tuple(
                PlanWarning(Kind(w["kind"]), w["group"], w.get("name") or "", w["message"])
                for w in data.get("warnings", ())
            ),
        )
