"""Cross-checks of access and governance settings, with key paths: duplicates, and members,
team members and log services that name something the config does not declare.

A member's user must be in `account.users` and its team in `account.teams` when those lists are
written; when they are not, the names refer to what Fivetran has, checked when planning.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fivetran_assets.estate.access import Member
from fivetran_assets.estate.errors import Location, Problem, did_you_mean
from fivetran_assets.estate.estate import Group
from fivetran_assets.estate.models import Account
from fivetran_assets.estate.source import Document, KeyPath
from fivetran_assets.estate.validation import display_path


class _Checker:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.problems: list[Problem] = []

    def at(self, path: KeyPath, message: str, **extra: Any) -> None:
        self.problems.append(
            Problem(
                message,
                path=display_path(path, self.doc.data),
                location=self.doc.source.locate(path),
                **extra,
            )
        )

    def near(self, where: str, location: Location | None, message: str, **extra: Any) -> None:
        self.problems.append(Problem(message, path=where, location=location, **extra))

    def unique(self, items: Iterable[tuple[KeyPath, str]], what: str) -> None:
        seen: set[str] = set()
        for path, key in items:
            if key in seen:
                self.at(path, f"duplicate {what} '{key}'")
            seen.add(key)


def _known(name: str, known: Sequence[str] | None, what: str, where: str) -> str | None:
    """Why ``name`` is not among ``known`` (None when it is, or when nothing is declared)."""
    if known is None or name in known:
        return None
    return f"{what} '{name}' is not in {where}{did_you_mean(name, list(known))}"


def access_problems(doc: Document, account: Account, groups: Sequence[Group]) -> list[Problem]:
    check = _Checker(doc)
    users = [u.email.lower() for u in account.users] if account.users is not None else None
    teams = [t.name for t in account.teams] if account.teams is not None else None
    check.unique(
        (
            (("account", "users", i, "email"), u.email.lower())
            for i, u in enumerate(account.users or [])
        ),
        "user email",
    )
    check.unique(
        ((("account", "teams", i, "name"), t.name) for i, t in enumerate(account.teams or [])),
        "team name",
    )
    check.unique(
        (
            (("account", "log_services", i, "name"), s.name)
            for i, s in enumerate(account.log_services)
        ),
        "log service name",
    )
    for t_index, team in enumerate(account.teams or []):
        check.unique(
            (
                (("account", "teams", t_index, "members", i, "email"), m.email.lower())
                for i, m in enumerate(team.members)
            ),
            "team member",
        )
        for i, member in enumerate(team.members):
            reason = _known(member.email.lower(), users, "user", "account.users")
            if reason:
                check.at(("account", "teams", t_index, "members", i, "email"), reason)
    services = [s.name for s in account.log_services]
    raw_groups = doc.data.get("groups") or []
    names = [g.get("name") if isinstance(g, dict) else None for g in raw_groups]
    for group in groups:
        index = names.index(group.name) if group.name in names else None
        if index is None:
            continue
        if group.log_service is not None:
            reason = _known(group.log_service, services, "log service", "account.log_services")
            if reason:
                check.at(("groups", index, "log_service"), reason)
        _members(check, group.members, users, teams, ("groups", index, "members"))
        _hashes(check, group.destination, ("groups", index, "destination"))
        for connection in group.connections:
            where = f"{connection.path}.members"
            for problem in _member_reasons(connection.members, users, teams):
                check.near(where, connection.location, problem)
            for kind in ("certificates", "fingerprints"):
                hashes = [c.hash for c in getattr(connection, kind) or ()]
                for duplicate in sorted({h for h in hashes if hashes.count(h) > 1}):
                    check.near(
                        f"{connection.path}.{kind}",
                        connection.location,
                        f"duplicate hash '{duplicate}'",
                    )
    return check.problems


def _member_reasons(
    members: Sequence[Member] | None, users: list[str] | None, teams: list[str] | None
) -> list[str]:
    reasons = []
    seen: set[tuple[str, str]] = set()
    for member in members or ():
        kind, name = member.principal
        key = (kind, name.lower() if kind == "user" else name)
        if key in seen:
            reasons.append(f"{kind} '{name}' is listed twice")
        seen.add(key)
        if kind == "user":
            reason = _known(name.lower(), users, "user", "account.users")
        else:
            reason = _known(name, teams, "team", "account.teams")
        if reason:
            reasons.append(reason)
    return reasons


def _members(
    check: _Checker,
    members: Sequence[Member] | None,
    users: list[str] | None,
    teams: list[str] | None,
    path: KeyPath,
) -> None:
    for index, member in enumerate(members or ()):
        for reason in _member_reasons([member], users, teams):
            check.at((*path, index), reason)
    names = [m.principal for m in members or ()]
    for index, principal in enumerate(names):
        if principal in names[:index]:
            check.at((*path, index), f"{principal[0]} '{principal[1]}' is listed twice")


def _hashes(check: _Checker, destination: Any, path: KeyPath) -> None:
    for kind in ("certificates", "fingerprints"):
        items = getattr(destination, kind, None) or []
        check.unique((((*path, kind, i, "hash"), c.hash) for i, c in enumerate(items)), "hash")
