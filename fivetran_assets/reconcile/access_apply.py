"""Apply the access and governance changes of a plan, after the estate's own changes.

Groups and connections exist by then (the same apply may have created them), so their ids are
read once, by name, when the first change needs them. Four phases, each run concurrently on the
shared executor: users and teams; then what hangs on them and on groups and connections (team
members, memberships, log services, certificates, fingerprints); then the removals of those;
then the removal of teams and users. A failed change fails alone, with a message naming it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection, Mapping
from typing import Any

from fivetran_assets.estate.references import Environment
from fivetran_assets.fivetran.client import FivetranClient
from fivetran_assets.fivetran.errors import ConflictError, NotFoundError
from fivetran_assets.reconcile.access_diff import AccessTarget, log_fingerprint_id
from fivetran_assets.reconcile.executor import Task, TaskResult, run_tasks
from fivetran_assets.reconcile.fingerprints import FingerprintStore
from fivetran_assets.reconcile.operations import ApplyError
from fivetran_assets.reconcile.plan import ACCESS_KINDS, GOVERNANCE_KINDS, Change, Kind
from fivetran_assets.reconcile.values import resolve_secrets, split_secrets, unflatten

ACCOUNT_KINDS = (Kind.USER, Kind.TEAM)


def is_access_change(change: Change) -> bool:
    return change.kind in ACCESS_KINDS or change.kind in GOVERNANCE_KINDS


class AccessOperations:
    def __init__(
        self,
        client: FivetranClient,
        environment: Environment,
        fingerprints: FingerprintStore,
        ids: Mapping[str, str],
    ) -> None:
        self.client = client
        self.ids = ids  # from the estate's apply: `group:<name>`, `connection:<group>/<name>`
        self.environment = environment
        self.fingerprints = fingerprints
        self.users: dict[str, str] = {}
        self.teams: dict[str, str] = {}
        self._principals_loaded = False
        self._group_ids: dict[str, str] | None = None
        self._connection_ids: dict[tuple[str, str], str] | None = None
        self._lock = threading.RLock()  # tasks of a phase run concurrently: read ids once

    # ------------------------------------------------------------------------------ ids

    @property
    def _groups(self) -> dict[str, str]:
        with self._lock:
            if self._group_ids is None:
                self._group_ids = {g.name: g.id for g in self.client.list_groups()}
            return self._group_ids

    @property
    def _connections(self) -> dict[tuple[str, str], str]:
        names = {gid: name for name, gid in self._groups.items()}
        with self._lock:
            if self._connection_ids is None:
                self._connection_ids = {
                    (names.get(c.group_id, ""), c.schema): c.id
                    for c in self.client.list_connections()
                }
            return self._connection_ids

    def _load_principals(self) -> None:
        """Live users and teams by email and name, read once (those created here are known)."""
        with self._lock:
            if not self._principals_loaded:
                self._read_principals()

    def _read_principals(self) -> None:
        for user in self.client.list_users():
            self.users.setdefault(user.email.lower(), user.id)
        for team in self.client.list_teams():
            self.teams.setdefault(team.name, team.id)
        self._principals_loaded = True

    def _id(self, table: dict, key: Any, what: str) -> str:
        found = table.get(key)
        if found is None:
            raise ApplyError(f"{what} does not exist in Fivetran (was it created?)")
        return found

    def group_id(self, group: str) -> str:
        return self.ids.get(f"group:{group}") or self._id(self._groups, group, f"group '{group}'")

    def owner(self, target: AccessTarget) -> tuple[str, str]:
        """('connection', id) or ('destination', group id) of a member or approval target."""
        if target.connection:
            key = (target.group, target.connection)
            known = self.ids.get(f"connection:{target.group}/{target.connection}")
            what = f"connection '{'/'.join(key)}'"
            return "connection", known or self._id(self._connections, key, what)
        return "destination", self.group_id(target.group)

    def principal(self, member: Any) -> tuple[str, str]:
        self._load_principals()
        kind, name = member.principal
        if kind == "user":
            return kind, self._id(self.users, name.lower(), f"user '{name}'")
        return kind, self._id(self.teams, name, f"team '{name}'")

    # --------------------------------------------------------------------------- changes

    def apply(self, change: Change) -> None:
        handler: Callable[[Change], None] = getattr(self, f"_{change.kind.value}")
        if change.removes:
            self._delete(change)
        else:
            handler(change)

    def _user(self, change: Change) -> None:
        spec = change.desired.spec
        fields = {
            "given_name": spec.given_name,
            "family_name": spec.family_name,
            "role": spec.role,
            "phone": spec.phone,
        }
        if change.live_id is None:
            try:
                user = self.client.invite_user(spec.email, **fields)
            except ConflictError:  # invited meanwhile (an earlier apply that timed out)
                self._load_principals()
                user = self.client.update_user(
                    self._id(self.users, spec.email.lower(), "user"), **fields
                )
            self.users[spec.email.lower()] = user.id
            return
        changed = {f.path: f.new for f in change.fields}
        self.client.update_user(change.live_id, **changed)

    def _team(self, change: Change) -> None:
        spec = change.desired.spec
        if change.live_id is None:
            team = self.client.create_team(spec.name, description=spec.description, role=spec.role)
            self.teams[spec.name] = team.id
            return
        changed = {f.path: f.new for f in change.fields}
        self.client.update_team(change.live_id, **changed)

    def _team_member(self, change: Change) -> None:
        target: AccessTarget = change.desired
        self._load_principals()
        team_id = self._id(self.teams, target.team, f"team '{target.team}'")
        user_id = self._id(self.users, target.spec.email.lower(), f"user '{target.spec.email}'")
        if change.live_id is None:
            self.client.add_team_user(team_id, user_id, target.spec.role)
        else:
            self.client.update_team_user(team_id, user_id, target.spec.role)

    def _member(self, change: Change) -> None:
        target: AccessTarget = change.desired
        principal, pid = self.principal(target.spec)
        owner, owner_id = self.owner(target)
        kind = "group" if owner == "destination" else "connection"
        if change.live_id is None:
            self.client.add_membership(principal, pid, kind, owner_id, target.spec.role)  # type: ignore[arg-type]
        else:
            self.client.update_membership(principal, pid, kind, owner_id, target.spec.role)  # type: ignore[arg-type]

    _group_member = _member
    _connection_member = _member

    def _log_service(self, change: Change) -> None:
        target: AccessTarget = change.desired
        spec = target.spec
        group_id = self.group_id(target.group)
        plain, references = split_secrets(spec.config)
        paths = (
            None
            if change.existing is None or change.replace
            else {
                f.path.removeprefix("config.")
                for f in change.fields
                if f.path.startswith("config.")
            }
        )
        secrets = resolve_secrets(
            {p: r for p, r in references.items() if paths is None or p in paths},
            self.environment,
            where=f"{target.where}.config",
        )
        if paths is None:
            if change.replace:
                with contextlib.suppress(NotFoundError):
                    self.client.delete_log_service(group_id)
            config = unflatten({**plain, **secrets})
            self.client.create_log_service(
                group_id, spec.service, config=config, enabled=spec.enabled
            )
        else:
            changed = {p: v for p, v in plain.items() if p in paths}
            enabled = next((f.new for f in change.fields if f.path == "enabled"), None)
            config = unflatten({**changed, **secrets}) or None
            self.client.update_log_service(group_id, config=config, enabled=enabled)
        self.fingerprints.record(log_fingerprint_id(group_id), secrets)

    def _certificate(self, change: Change) -> None:
        target: AccessTarget = change.desired
        owner, owner_id = self.owner(target)
        self.client.approve_certificate(owner, owner_id, target.spec.hash, target.spec.encoded_cert)  # type: ignore[arg-type]

    def _fingerprint(self, change: Change) -> None:
        target: AccessTarget = change.desired
        owner, owner_id = self.owner(target)
        self.client.approve_fingerprint(owner, owner_id, target.spec.hash, target.spec.public_key)  # type: ignore[arg-type]

    def _delete(self, change: Change) -> None:
        assert change.live_id is not None
        with contextlib.suppress(NotFoundError):
            if change.kind is Kind.USER:
                self.client.delete_user(change.live_id)
            elif change.kind is Kind.TEAM:
                self.client.delete_team(change.live_id)
            elif change.kind is Kind.TEAM_MEMBER:
                self._load_principals()
                team = change.existing.team
                team_id = self._id(self.teams, team, f"team '{team}'")
                self.client.remove_team_user(team_id, change.live_id)
            elif change.kind in (Kind.GROUP_MEMBER, Kind.CONNECTION_MEMBER):
                principal, pid, membership = change.existing
                kind = "group" if change.kind is Kind.GROUP_MEMBER else "connection"
                self.client.delete_membership(principal, pid, kind, membership.id)
            elif change.kind in (Kind.CERTIFICATE, Kind.FINGERPRINT):
                owner, owner_id = self.owner(change.existing)
                self.client.revoke_approved(owner, owner_id, change.kind.value, change.live_id)  # type: ignore[arg-type]
            elif change.kind is Kind.LOG_SERVICE:
                self.client.delete_log_service(change.live_id)


def _phase(change: Change) -> int:
    deleting = change.removes
    if change.kind in ACCOUNT_KINDS:
        return 3 if deleting else 0
    return 2 if deleting else 1


def apply_access(
    changes: list[Change],
    client: FivetranClient,
    *,
    environment: Environment,
    fingerprints: FingerprintStore,
    workers: int,
    on_result: Callable[[TaskResult], None],
    ids: Mapping[str, str] | None = None,
) -> None:
    """Make the access and governance ``changes`` in four phases (see the module docstring)."""
    if not changes:
        return
    ops = AccessOperations(client, environment, fingerprints, ids or {})
    for phase in range(4):
        tasks = [
            Task(
                f"{c.action.value} {c.kind.value}:{c.label}#{c.live_id}",
                (lambda c=c: ops.apply(c)),
                label=f"{'replace' if c.replace else c.action.value} {c.kind.value} {c.label}",
            )
            for c in changes
            if _phase(c) == phase
        ]
        if tasks:
            run_tasks(tasks, max_workers=workers, on_result=on_result)


def access_apply_calls(changes: list[Change], known: Collection[str]) -> int:
    """The calls `apply_access` makes: one per change, and the id listings it needs once: users
    and teams, and groups and connections whose ids are not ``known`` after the estate's apply."""
    members = (Kind.GROUP_MEMBER, Kind.CONNECTION_MEMBER)
    approvals = (Kind.CERTIFICATE, Kind.FINGERPRINT)
    groups = connections = principals = False
    for change in changes:
        forward = not change.removes
        target = change.desired if forward else change.existing
        if isinstance(target, AccessTarget) and (
            change.kind in approvals or (forward and change.kind in (*members, Kind.LOG_SERVICE))
        ):
            if target.connection:
                connections |= f"connection:{target.group}/{target.connection}" not in known
            groups |= f"group:{target.group}" not in known
        principals |= change.kind is Kind.TEAM_MEMBER or (forward and change.kind in members)
    return len(changes) + groups + connections + 2 * principals
