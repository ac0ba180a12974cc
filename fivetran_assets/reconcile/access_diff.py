"""Diff access and governance: users, teams, members, log services, certificates, fingerprints.

Identity is by name: a user by email (case-insensitive), a team by name, a membership by
(group or connection, user email or team name), a team member by (team, email), a group's log
service by its group, an approval by its hash. Account users the config does not list are
unmanaged, and deleted only when pruning; the user behind the API key is never touched. Every
role the config names must be one of `GET /v1/roles` with the right scope: an unknown one is an
`EstateError` naming where it is written and the roles Fivetran knows.

Each change carries in `desired` what the applier needs (`AccessTarget`); group and connection
ids are looked up when applying, since the group may be created by the same apply.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fivetran_assets.estate.access import Member
from fivetran_assets.estate.errors import EstateError, Problem
from fivetran_assets.estate.estate import Estate
from fivetran_assets.reconcile.access_reader import LiveAccess
from fivetran_assets.reconcile.diff_context import DiffContext, field_diff, plain_diffs
from fivetran_assets.reconcile.plan import Create, FieldDiff, Kind, Update
from fivetran_assets.reconcile.reader import LiveEstate
from fivetran_assets.reconcile.values import split_secrets


@dataclass(frozen=True)
class AccessTarget:
    """What a change applies to: ``spec`` is the config's model (user, team, member, log
    service, certificate or fingerprint), ``owner`` the team name (team members), or the
    group and connection names (members and approvals; connection "" for the destination)."""

    spec: Any
    group: str = ""
    connection: str = ""
    team: str = ""
    where: str = ""


def log_fingerprint_id(group_id: str) -> str:
    """The fingerprint-store key of a group's log service (its id is the group's id)."""
    return f"log_service:{group_id}"


def check_roles(estate: Estate, live: LiveAccess) -> None:
    """EstateError for each declared role Fivetran does not know with the scope it needs."""
    known: dict[str, set[str]] = {}
    for role in live.roles:
        for scope in role.scope:
            known.setdefault(scope, set()).add(role.name)
    problems = []
    for role, scope, where in _declared_roles(estate):
        if role not in known.get(scope, set()):
            names = ", ".join(sorted(known.get(scope, ()))) or "(none)"
            problems.append(
                Problem(
                    f"unknown {scope} role '{role}'",
                    path=where,
                    expected=f"one of the {scope} roles Fivetran knows: {names}",
                )
            )
    if problems:
        raise EstateError(problems)


def _declared_roles(estate: Estate) -> Iterator[tuple[str, str, str]]:
    account = estate.account
    for i, user in enumerate(account.users or ()):
        yield user.role, "ACCOUNT", f"account.users[{i}].role"
    for i, team in enumerate(account.teams or ()):
        if team.role is not None:
            yield team.role, "ACCOUNT", f"account.teams[{i}].role"
        for j, member in enumerate(team.members):
            yield member.role, "TEAM", f"account.teams[{i}].members[{j}].role"
    for group in estate.groups:
        for i, member in enumerate(group.members or ()):
            yield member.role, "DESTINATION", f"{group.path}.members[{i}].role"
        for connection in group.connections:
            for i, member in enumerate(connection.members or ()):
                yield member.role, "CONNECTOR", f"{connection.path}.members[{i}].role"


def diff_access(
    ctx: DiffContext,
    estate: Estate,
    live: LiveAccess,
    estate_live: LiveEstate,
    *,
    recreated: frozenset[str] = frozenset(),
) -> None:
    """Append the access and governance changes of ``estate`` against ``live`` to ``ctx``.

    Groups in ``recreated`` (moved to another warehouse by this plan) get new ids: what hangs on
    them is planned afresh, since the old group takes its members and approvals with it."""
    users = {u.email.lower(): u for u in live.users}
    user_emails = {u.id: u.email.lower() for u in live.users}
    teams = {t.name: t for t in live.teams}
    _users(ctx, estate, live, users)
    _teams(ctx, estate, live, teams, user_emails)
    names = {
        ("user", u.id): f"user:{email}" for u, email in ((u, u.email.lower()) for u in live.users)
    }
    names.update({("team", t.id): f"team:{t.name}" for t in live.teams})
    for group in estate.groups:
        live_group = None if group.name in recreated else estate_live.groups.get(group.name)
        group_id = live_group.group.id if live_group else None
        if group.members is not None:
            _members(
                ctx,
                live,
                names,
                Kind.GROUP_MEMBER,
                group.name,
                "",
                group_id,
                group.members,
                f"{group.path}.members",
            )
        if group.log_service is not None:
            _log_service(ctx, estate, live, group.name, group.log_service, group_id)
        _approvals(
            ctx,
            live,
            group.name,
            "",
            "destination",
            group_id,
            group.destination.certificates,
            group.destination.fingerprints,
            f"{group.path}.destination",
        )
        for connection in group.connections:
            live_conn = live_group.connection(connection.name) if live_group else None
            conn_id = live_conn.id if live_conn else None
            if connection.members is not None:
                _members(
                    ctx,
                    live,
                    names,
                    Kind.CONNECTION_MEMBER,
                    group.name,
                    connection.name,
                    conn_id,
                    connection.members,
                    f"{connection.path}.members",
                )
            _approvals(
                ctx,
                live,
                group.name,
                connection.name,
                "connection",
                conn_id,
                connection.certificates,
                connection.fingerprints,
                connection.path,
            )


def _users(ctx: DiffContext, estate: Estate, live: LiveAccess, users: dict[str, Any]) -> None:
    declared = estate.account.users
    if declared is None:
        return
    wanted = {u.email.lower() for u in declared}
    for index, spec in enumerate(declared):
        target = AccessTarget(spec, where=f"account.users[{index}]")
        existing = users.get(spec.email.lower())
        if existing is None:
            fields = (FieldDiff("role", None, spec.role),)
            ctx.changes.append(Create(Kind.USER, "", spec.email, fields, desired=target))
            continue
        fields = []
        for name in ("given_name", "family_name", "role", "phone"):
            fields += field_diff(name, getattr(existing, name), getattr(spec, name))
        if fields:
            ctx.changes.append(
                Update(
                    Kind.USER,
                    "",
                    spec.email,
                    tuple(fields),
                    existing.id,
                    desired=target,
                    existing=existing,
                )
            )
    for email, user in sorted(users.items()):
        if email not in wanted and user.id != live.owner_id:
            ctx.leftover(Kind.USER, "", user.email, user.id, user)


def _teams(
    ctx: DiffContext, estate: Estate, live: LiveAccess, teams: dict[str, Any], emails: dict
) -> None:
    declared = estate.account.teams
    if declared is None:
        return
    for index, spec in enumerate(declared):
        where = f"account.teams[{index}]"
        existing = teams.get(spec.name)
        if existing is None:
            fields = tuple(field_diff("role", None, spec.role))
            target = AccessTarget(spec, where=where)
            ctx.changes.append(Create(Kind.TEAM, "", spec.name, fields, desired=target))
        else:
            fields = field_diff("description", existing.description, spec.description)
            fields += field_diff("role", existing.role, spec.role)
            if fields:
                ctx.changes.append(
                    Update(
                        Kind.TEAM,
                        "",
                        spec.name,
                        tuple(fields),
                        existing.id,
                        desired=AccessTarget(spec, where=where),
                        existing=existing,
                    )
                )
        members = {}
        for m in live.team_members.get(existing.id, ()) if existing else ():
            members[emails.get(m.id, m.id)] = m
        for j, member in enumerate(spec.members):
            name = f"{spec.name}/{member.email.lower()}"
            target = AccessTarget(member, team=spec.name, where=f"{where}.members[{j}]")
            current = members.pop(member.email.lower(), None)
            if current is None:
                fields = (FieldDiff("role", None, member.role),)
                ctx.changes.append(Create(Kind.TEAM_MEMBER, "", name, fields, desired=target))
            elif current.role != member.role:
                ctx.changes.append(
                    Update(
                        Kind.TEAM_MEMBER,
                        "",
                        name,
                        (FieldDiff("role", current.role, member.role),),
                        current.id,
                        desired=target,
                        existing=current,
                    )
                )
        for email, extra in sorted(members.items()):
            ctx.leftover(
                Kind.TEAM_MEMBER,
                "",
                f"{spec.name}/{email}",
                extra.id,
                AccessTarget(None, team=spec.name),
            )


def _members(
    ctx: DiffContext,
    live: LiveAccess,
    names: dict[tuple[str, str], str],
    kind: Kind,
    group: str,
    connection: str,
    target_id: str | None,
    members: tuple[Member, ...],
    where: str,
) -> None:
    target = "group" if kind is Kind.GROUP_MEMBER else "connection"
    current: dict[str, Any] = {}
    if target_id is not None:
        for (principal, pid, kind_of), memberships in live.memberships.items():
            for m in memberships:
                if kind_of == target and m.id == target_id and (principal, pid) in names:
                    current[names[(principal, pid)]] = (principal, pid, m)
    prefix = f"{connection}/" if connection else ""
    for index, member in enumerate(members):
        principal, who = member.principal
        key = f"{principal}:{who.lower() if principal == 'user' else who}"
        spec = AccessTarget(member, group=group, connection=connection, where=f"{where}[{index}]")
        found = current.pop(key, None)
        if found is None:
            fields = (FieldDiff("role", None, member.role),)
            ctx.changes.append(Create(kind, group, prefix + key, fields, desired=spec))
        elif found[2].role != member.role:
            fields = (FieldDiff("role", found[2].role, member.role),)
            ctx.changes.append(
                Update(kind, group, prefix + key, fields, found[1], desired=spec, existing=found)
            )
    for key, found in sorted(current.items()):
        ctx.leftover(kind, group, prefix + key, found[1], found)


def _log_service(
    ctx: DiffContext, estate: Estate, live: LiveAccess, group: str, name: str, group_id: str | None
) -> None:
    index, spec = next((i, s) for i, s in enumerate(estate.account.log_services) if s.name == name)
    where = f"account.log_services[{index}]"
    target = AccessTarget(spec, group=group, where=where)
    plain, secrets = split_secrets(spec.config)
    existing = live.log_services.get(group_id) if group_id else None
    fingerprint_id = log_fingerprint_id(group_id) if existing and group_id else None
    if existing is None or existing.service != spec.service:
        fields = [FieldDiff("service", existing.service if existing else None, spec.service)]
        fields += [FieldDiff(f"config.{p}", None, v) for p, v in sorted(plain.items())]
        fields += ctx.secret_diffs(
            Kind.LOG_SERVICE, group, name, None, secrets, where, prefix="config."
        )
        change = Create if existing is None else Update
        ctx.changes.append(
            change(
                Kind.LOG_SERVICE,
                group,
                name,
                tuple(fields),
                existing and existing.id,
                replace=existing is not None,
                desired=target,
                existing=existing,
            )
        )
        return
    fields = field_diff("enabled", existing.enabled, spec.enabled)
    fields += plain_diffs(plain, existing.config, "config.")
    fields += ctx.secret_diffs(
        Kind.LOG_SERVICE, group, name, fingerprint_id, secrets, where, prefix="config."
    )
    if fields:
        ctx.changes.append(
            Update(
                Kind.LOG_SERVICE,
                group,
                name,
                tuple(fields),
                existing.id,
                desired=target,
                existing=existing,
            )
        )


def _approvals(
    ctx: DiffContext,
    live: LiveAccess,
    group: str,
    connection: str,
    owner: str,
    owner_id: str | None,
    certificates: Any,
    fingerprints: Any,
    where: str,
) -> None:
    label = connection or "destination"
    for kind, declared, value in (
        (Kind.CERTIFICATE, certificates, "encoded_cert"),
        (Kind.FINGERPRINT, fingerprints, "public_key"),
    ):
        if declared is None:
            continue
        current = {c.hash: c for c in live.approvals.get((owner, owner_id or "", kind.value), ())}
        for index, spec in enumerate(declared):
            name = f"{label}/{spec.hash}"
            target = AccessTarget(
                spec, group=group, connection=connection, where=f"{where}.{kind.value}s[{index}]"
            )
            found = current.pop(spec.hash, None)
            if found is None:
                ctx.changes.append(
                    Create(kind, group, name, (FieldDiff("hash", None, spec.hash),), desired=target)
                )
            elif kind is Kind.FINGERPRINT and found.public_key != getattr(spec, value):
                fields = (FieldDiff("public_key", found.public_key, spec.public_key),)
                ctx.changes.append(
                    Update(kind, group, name, fields, spec.hash, desired=target, existing=found)
                )
        for hash_, found in sorted(current.items()):
            ctx.leftover(
                kind,
                group,
                f"{label}/{hash_}",
                hash_,
                AccessTarget(found, group=group, connection=connection),
            )
