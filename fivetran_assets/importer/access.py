"""Access and governance in the config's vocabulary: users, teams, members, logs, approvals.

Users and teams go under `account:`, each imported group's log service becomes a named entry
in `account.log_services` that the group names, and members and approved certificates and
fingerprints go where the config declares them (group, connection, destination). A list is
written only when it could be read in full: the config treats a written list as the whole
truth, so a partial one would make `apply --prune` remove what was not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fivetran_assets.importer.access_read import LiveAccess
from fivetran_assets.importer.records import Skipped, escaped, secret_leaves, with_references
from fivetran_assets.importer.secrets import Secrets, name_part
from fivetran_assets.importer.templates import config_name


@dataclass
class AccessDoc:
    """What the import writes about access, by where it goes in the config."""

    users: list[dict[str, Any]] | None = None
    teams: list[dict[str, Any]] | None = None
    log_services: list[dict[str, Any]] = field(default_factory=list)
    group_log_service: dict[str, str] = field(default_factory=dict)  # group id -> entry name
    members: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    approvals: dict[tuple[str, str], dict[str, list[dict[str, str]]]] = field(default_factory=dict)
    review: list[str] = field(default_factory=list)  # what to check before relying on it

    def counts(self) -> dict[str, int]:
        team_members = sum(len(t.get("members", [])) for t in self.teams or [])
        return {
            "users": len(self.users or []),
            "teams": len(self.teams or []),
            "members": team_members + sum(len(m) for m in self.members.values()),
            "log services": len(self.log_services),
            "approvals": sum(len(v) for a in self.approvals.values() for v in a.values()),
        }


def _users(access: LiveAccess, skipped: Skipped) -> tuple[list[dict[str, Any]], dict[str, str]]:
    written, emails = [], {}
    for user in sorted(access.users, key=lambda u: u.email.lower()):
        missing = [k for k in ("given_name", "family_name", "role") if not getattr(user, k)]
        if missing:
            skipped.add(f"user {user.email}", f"no {' or '.join(missing)}")
            continue
        entry = {
            "email": user.email,
            "given_name": escaped(user.given_name),
            "family_name": escaped(user.family_name),
            "role": user.role,
        }
        if user.phone:
            entry["phone"] = user.phone
        written.append(entry)
        emails[user.id] = user.email
    return written, emails


def _teams(
    access: LiveAccess, emails: Mapping[str, str], skipped: Skipped
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    written, names = [], {}
    for team in sorted(access.teams, key=lambda t: t.name):
        if not team.name:
            continue
        entry: dict[str, Any] = {"name": escaped(team.name)}
        if team.description:
            entry["description"] = escaped(team.description)
        if team.role:
            entry["role"] = team.role
        members = []
        for member in access.team_members.get(team.id, ()):
            if member.id in emails:
                members.append({"email": emails[member.id], "role": member.role})
            else:
                skipped.add(f"team {team.name} member {member.id}", "the user is not written")
        if members:
            entry["members"] = sorted(members, key=lambda m: m["email"].lower())
        written.append(entry)
        names[team.id] = team.name
    return written, names


def _principal(
    kind: str, pid: str, emails: Mapping[str, str], teams: Mapping[str, str]
) -> dict[str, str] | None:
    if kind == "user":
        return {"email": emails[pid]} if pid in emails else None
    return {"team": teams[pid]} if pid in teams else None


def written_access(
    access: LiveAccess,
    *,
    groups: Mapping[str, str],
    connections: Mapping[str, tuple[str, str]],
    secrets: Secrets,
    skipped: Skipped,
) -> AccessDoc:
    """`groups` maps imported group ids to names, `connections` connection ids to (group, name)."""
    unreadable = {what for what, _ in access.unreadable}
    doc = AccessDoc()
    emails: dict[str, str] = {}
    team_names: dict[str, str] = {}
    if "users" not in unreadable:
        doc.users, emails = _users(access, skipped)
    if not unreadable & {"teams", "team members"} and doc.users is not None:
        doc.teams, team_names = _teams(access, emails, skipped)
    if not unreadable & {"users", "teams", "memberships"}:
        for target, names in (("group", groups), ("connection", connections)):
            for target_id, name in names.items():
                members = []
                for kind, pid, role in access.members_of(target, target_id):
                    who = _principal(kind, pid, emails, team_names)
                    if who is None:
                        skipped.add(f"{target} {name} member {pid}", "the user is not written")
                        continue
                    members.append({**who, "role": role})
                if members:
                    doc.members[(target, target_id)] = members
    for group_id, log in sorted(access.log_services.items(), key=lambda i: groups.get(i[0], "")):
        group = groups.get(group_id)
        if group is None:
            continue
        entry: dict[str, Any] = {"name": config_name(f"{group}_logs"), "service": log.service}
        leaves = secret_leaves(log.config)
        if leaves:
            where = f"group {group} log service"
            entry["config"] = with_references(leaves, secrets, f"{name_part(group)}_LOGS", where)
        if not log.enabled:
            entry["enabled"] = False
        doc.log_services.append(entry)
        doc.group_log_service[group_id] = entry["name"]
    if "certificates" not in unreadable:
        for (owner, owner_id, kind), found in access.approvals.items():
            written = [{"hash": c.hash, "public_key": c.public_key} for c in found if c.public_key]
            if len(written) < len(found):  # a partial list would be taken as the whole truth
                skipped.add(f"{owner} {owner_id} {kind}s", "an approval without its public key")
            elif written:
                doc.approvals.setdefault((owner, owner_id), {})[f"{kind}s"] = sorted(
                    written, key=lambda c: c["hash"]
                )
    if any("certificates" in kinds for kinds in doc.approvals.values()):
        doc.review.append(
            "certificates are written with the public key Fivetran returns, not the certificate: "
            "approving one again (on a new connection, as a warehouse switch does) needs its "
            "encoded_cert"
        )
    return doc
