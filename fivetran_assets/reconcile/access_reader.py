"""Read the live access and governance state the config manages, and nothing more.

An estate that declares no users, teams, members, log services, certificates or fingerprints
costs no call here. Otherwise: roles (1), users and teams (a page each), each team's users,
each user's and team's memberships in groups and/or connections (only the kinds declared
somewhere), the log services, and the approvals of each connection or destination that
declares some. Calls run concurrently on the client's shared rate limiter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from fivetran_assets.estate.estate import Estate
from fivetran_assets.fivetran.access import Certificate, LogService, Membership, Role, Team, User
from fivetran_assets.fivetran.client import FivetranClient
from fivetran_assets.fivetran.resources.access import Principal, Target

# (principal kind, principal id, target kind) -> memberships
MembershipKey = tuple[str, str, str]
# (owner kind, owner id, approval kind) -> approved certificates or fingerprints
ApprovalKey = tuple[str, str, str]


@dataclass(frozen=True)
class Declared:
    """What the estate declares, so the reader fetches only that."""

    roles: bool = False
    users: bool = False
    teams: bool = False
    member_targets: frozenset[Target] = frozenset()
    log_services: bool = False

    @property
    def anything(self) -> bool:
        return self.roles or self.users or self.teams or self.log_services

    @classmethod
    def of(cls, estate: Estate) -> Declared:
        account = estate.account
        group_members = any(g.members is not None for g in estate.groups)
        connection_members = any(c.members is not None for c in estate.connections())
        members = [m for g in estate.groups for m in g.members or ()] + [
            m for c in estate.connections() for m in c.members or ()
        ]
        teams_declared = account.teams is not None or any(m.team for m in members)
        users_declared = (
            account.users is not None or teams_declared or group_members or connection_members
        )
        targets: set[Target] = {"group"} if group_members else set()
        if connection_members:
            targets.add("connection")
        return cls(
            roles=users_declared or teams_declared,
            users=users_declared,
            teams=teams_declared or bool(targets),
            member_targets=frozenset(targets),
            log_services=bool(account.log_services) or any(g.log_service for g in estate.groups),
        )


@dataclass(frozen=True)
class LiveAccess:
    owner_id: str | None = None
    roles: tuple[Role, ...] = ()
    users: tuple[User, ...] = ()
    teams: tuple[Team, ...] = ()
    team_members: Mapping[str, tuple[Membership, ...]] = field(default_factory=dict)
    memberships: Mapping[MembershipKey, tuple[Membership, ...]] = field(default_factory=dict)
    log_services: Mapping[str, LogService] = field(default_factory=dict)
    approvals: Mapping[ApprovalKey, tuple[Certificate, ...]] = field(default_factory=dict)

    def count(self) -> int:
        """Live resources this config manages (the base of the safety threshold)."""
        return (
            len(self.users)
            + len(self.teams)
            + sum(len(m) for m in self.team_members.values())
            + sum(len(m) for m in self.memberships.values())
            + len(self.log_services)
            + sum(len(a) for a in self.approvals.values())
        )


def read_access(
    client: FivetranClient,
    declared: Declared,
    approval_owners: list[tuple[str, str]],
    managed_log_ids: list[str],
    *,
    workers: int = 8,
) -> LiveAccess:
    """Read what `declared` says is managed; `approval_owners` are the (connection|destination,
    id) pairs that declare certificates or fingerprints, `managed_log_ids` the group ids whose
    log service is declared."""
    if not declared.anything and not approval_owners:
        return LiveAccess()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:

        def later(fn: Callable[[], Any], wanted: bool) -> Any:
            return pool.submit(fn) if wanted else None

        info_f = later(client.get_account_info, declared.users)
        roles_f = later(lambda: tuple(client.list_roles()), declared.roles)
        users_f = later(lambda: tuple(client.list_users()), declared.users)
        teams_f = later(lambda: tuple(client.list_teams()), declared.teams)
        logs_f = later(lambda: list(client.list_log_services()), declared.log_services)
        approvals_f = {
            (owner, oid, kind): pool.submit(
                lambda o=owner, i=oid, k=kind: tuple(
                    client.list_approved(o, i, k)  # type: ignore[arg-type]
                )
            )
            for owner, oid in approval_owners
            for kind in ("certificate", "fingerprint")
        }
        users = users_f.result() if users_f else ()
        teams = teams_f.result() if teams_f else ()
        team_members_f = {
            t.id: pool.submit(lambda t=t: tuple(client.list_team_users(t.id))) for t in teams
        }

        def memberships(principal: Principal, pid: str, target: Target) -> tuple[Membership, ...]:
            return tuple(client.list_memberships(principal, pid, target))

        principals: tuple[tuple[Principal, list[str]], ...] = (
            ("user", [u.id for u in users]),
            ("team", [t.id for t in teams]),
        )
        memberships_f = {
            (principal, pid, target): pool.submit(memberships, principal, pid, target)
            for principal, ids in principals
            for pid in ids
            for target in sorted(declared.member_targets)
        }
        logs = logs_f.result() if logs_f else []
        detail_f = {
            log.id: pool.submit(client.get_log_service, log.id)
            for log in logs
            if log.id in managed_log_ids
        }
        return LiveAccess(
            owner_id=info_f.result().user_id if info_f else None,
            roles=roles_f.result() if roles_f else (),
            users=users,
            teams=teams,
            team_members={k: f.result() for k, f in team_members_f.items()},
            memberships={k: f.result() for k, f in memberships_f.items()},
            log_services={k: f.result() for k, f in detail_f.items()},
            approvals={k: f.result() for k, f in approvals_f.items()},
        )


def read_calls(estate: Estate) -> int:
    """About the calls `read_access` makes for `estate` once it exists (one page per listing;
    the account's users are the declared ones and the API key's)."""
    declared = Declared.of(estate)
    users = len(estate.account.users or ()) + 1 if declared.users else 0
    teams = len(estate.account.teams or ()) if declared.teams else 0
    approvals = sum(
        2
        for owner in (
            *(g.destination for g in estate.groups),
            *estate.connections(),
        )
        if owner.certificates is not None or owner.fingerprints is not None
    )
    logs = sum(g.log_service is not None for g in estate.groups)
    return (
        2 * declared.users  # account info, users
        + declared.roles
        + declared.teams
        + teams  # each team's users
        + (users + teams) * len(declared.member_targets)
        + (declared.log_services + logs if declared.log_services else 0)
        + approvals
    )
