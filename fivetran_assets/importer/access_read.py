"""Read who may do what for an import: users, teams, memberships, log services, approvals.

Only GETs, on the import's pool: the users and teams (a page each), each team's users, each
user's and team's memberships in groups and in connections, the log services (with the config
of each imported group's), and the approved certificates and fingerprints of each imported
connection and destination. An API key that may not read users, teams or log services (403)
gets that part reported, and the rest imported.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from fivetran_assets.fivetran.access import Certificate, LogService, Membership, Team, User
from fivetran_assets.fivetran.client import FivetranClient
from fivetran_assets.fivetran.errors import AuthError, NotFoundError

# (principal kind, principal id, target kind) -> that principal's memberships
MembershipKey = tuple[str, str, str]
# (owner kind, owner id, approval kind) -> what is approved there
ApprovalKey = tuple[str, str, str]
TARGETS = ("group", "connection")
APPROVALS = ("certificate", "fingerprint")


@dataclass(frozen=True)
class LiveAccess:
    """Access and governance as read; `unreadable` names what the API key may not read."""

    users: tuple[User, ...] = ()
    teams: tuple[Team, ...] = ()
    team_members: Mapping[str, tuple[Membership, ...]] = field(default_factory=dict)
    memberships: Mapping[MembershipKey, tuple[Membership, ...]] = field(default_factory=dict)
    log_services: Mapping[str, LogService] = field(default_factory=dict)  # by group id
    approvals: Mapping[ApprovalKey, tuple[Certificate, ...]] = field(default_factory=dict)
    unreadable: tuple[tuple[str, str], ...] = ()  # (what, why)

    def members_of(self, target: str, target_id: str) -> list[tuple[str, str, str]]:
        """(principal kind, principal id, role) of everyone with a role on one group or
        connection."""
        return sorted(
            (principal, pid, m.role)
            for (principal, pid, kind), memberships in self.memberships.items()
            if kind == target
            for m in memberships
            if m.id == target_id
        )


class _Reads:
    """Futures whose 403 is noted (what could not be read) instead of failing the import."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool
        self.unreadable: dict[str, str] = {}

    def start(self, call: Callable[[], Any]) -> Future[Any]:
        return self.pool.submit(call)

    def get(self, future: Future[Any], what: str, default: Any = ()) -> Any:
        try:
            return future.result()
        except AuthError as exc:
            self.unreadable.setdefault(what, f"{exc.status or 403} {exc.message}")
            return default
        except NotFoundError:
            return default


def read_access(
    client: FivetranClient,
    pool: ThreadPoolExecutor,
    *,
    group_ids: Collection[str],
    connection_ids: Collection[str],
) -> LiveAccess:
    """Everything access and governance the config can declare about these groups."""
    reads = _Reads(pool)
    users_f = reads.start(lambda: tuple(client.list_users()))
    teams_f = reads.start(lambda: tuple(client.list_teams()))
    logs_f = reads.start(lambda: tuple(client.list_log_services()))
    owners = [("destination", g) for g in group_ids] + [("connection", c) for c in connection_ids]
    approvals_f = {
        (owner, oid, kind): reads.start(
            lambda o=owner, i=oid, k=kind: tuple(client.list_approved(o, i, k))
        )
        for owner, oid in owners
        for kind in APPROVALS
    }
    users = reads.get(users_f, "users")
    teams = reads.get(teams_f, "teams")
    team_members_f = {
        t.id: reads.start(lambda t=t: tuple(client.list_team_users(t.id))) for t in teams
    }
    principals = [("user", u.id) for u in users] + [("team", t.id) for t in teams]
    memberships_f = {
        (principal, pid, target): reads.start(
            lambda p=principal, i=pid, g=target: tuple(client.list_memberships(p, i, g))
        )
        for principal, pid in principals
        for target in TARGETS
    }
    logs = [log for log in reads.get(logs_f, "log services") if log.id in set(group_ids)]
    detail_f = {log.id: reads.start(lambda i=log.id: client.get_log_service(i)) for log in logs}
    log_services = {gid: reads.get(f, "log services", None) for gid, f in detail_f.items()}
    return LiveAccess(
        users=users,
        teams=teams,
        team_members={tid: reads.get(f, "team members") for tid, f in team_members_f.items()},
        memberships={key: reads.get(f, "memberships") for key, f in memberships_f.items()},
        log_services={gid: log for gid, log in log_services.items() if log is not None},
        approvals={key: reads.get(f, "certificates") for key, f in approvals_f.items()},
        unreadable=tuple(sorted(reads.unreadable.items())),
    )
