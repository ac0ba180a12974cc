"""Users, teams, roles and memberships as the local Fivetran stores them.

Fivetran's standard roles are listed by ``GET /v1/roles``; every role a request assigns must be
one of them, with the scope of what it is assigned on (an account role on a user or team, a
destination role on a group membership, a connector role on a connection membership, a team
role on a team membership). Memberships are stored and listed, and enforced by nothing: the
local Fivetran is a test double, every API key may do everything.

A membership is one record of kind ``membership`` whose id names both ends
(``user:<id>:group:<id>``), so a lookup is one dict access and deleting either end can find it.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from fivetran_assets.emulator.clock import iso
from fivetran_assets.emulator.context import Emulator
from fivetran_assets.emulator.http import ApiError, invalid, not_found, string


@dataclass(frozen=True)
class Role:
    name: str
    scope: str  # ACCOUNT | DESTINATION | CONNECTOR | TEAM
    description: str


ROLES = (
    Role(
        "Account Administrator",
        "ACCOUNT",
        "Manages the account: billing, users, roles, API "
        "access and security; creates and manages destinations, connections and transformations.",
    ),
    Role("Account Billing", "ACCOUNT", "Views and manages billing information only."),
    Role(
        "Account Analyst",
        "ACCOUNT",
        "Views every destination and connection and their usage; changes nothing.",
    ),
    Role(
        "Account Reviewer",
        "ACCOUNT",
        "Views account information, destinations and connections; changes nothing.",
    ),
    Role(
        "Destination Creator",
        "ACCOUNT",
        "Creates destinations and becomes their administrator; sees no other destination.",
    ),
    Role(
        "Destination Administrator",
        "DESTINATION",
        "Manages a destination, its connections, transformations and members.",
    ),
    Role(
        "Destination Analyst",
        "DESTINATION",
        "Views a destination and its connections and may sync them.",
    ),
    Role("Destination Reviewer", "DESTINATION", "Views a destination and its connections."),
    Role("Connector Administrator", "CONNECTOR", "Manages a connection and its members."),
    Role("Connector Collaborator", "CONNECTOR", "Edits and syncs a connection."),
    Role("Connector Reviewer", "CONNECTOR", "Views a connection."),
    Role("Team Manager", "TEAM", "Manages a team's members and memberships."),
    Role("Team Member", "TEAM", "Holds the roles given to the team."),
)
ROLE_BY_NAME = {role.name: role for role in ROLES}
SCOPE_OF_TARGET = {"account": "ACCOUNT", "group": "DESTINATION", "connection": "CONNECTOR"}
OWNER_EMAIL = "owner@local-fivetran.invalid"


def render_role(role: Role) -> dict[str, Any]:
    return {
        "name": role.name,
        "description": role.description,
        "scope": [role.scope],
        "is_custom": False,
        "is_deprecated": False,
        "replacement_role_name": "",  # required by the definition, also when not deprecated
    }


def role_of(value: Any, field: str, scope: str, *, optional: bool = False) -> str | None:
    """A role name of ``scope``; 400 naming the known roles of that scope otherwise."""
    if value is None and optional:
        return None
    name = string(value, field)
    role = ROLE_BY_NAME.get(name)
    if role is None or role.scope != scope:
        known = ", ".join(r.name for r in ROLES if r.scope == scope)
        raise invalid(f"Field '{field}': '{name}' is not a {scope} role; known: {known}")
    return name


def ensure_owner(emu: Emulator) -> None:
    """The user behind the API key exists (an account always has at least its owner)."""
    if emu.store.get("user", emu.user_id) is not None:
        return
    with emu.store.lock:
        if emu.store.get("user", emu.user_id) is None:
            emu.store.put(
                "user",
                new_user(
                    emu,
                    emu.user_id,
                    email=OWNER_EMAIL,
                    given_name="Local",
                    family_name="Owner",
                    role="Account Administrator",
                    invited=False,
                ),
            )


def new_user(emu: Emulator, user_id: str, *, email: str, invited: bool = True, **fields: Any):
    return {
        "id": user_id,
        "email": email,
        "given_name": fields.get("given_name"),
        "family_name": fields.get("family_name"),
        "phone": fields.get("phone"),
        "picture": fields.get("picture"),
        "role": fields.get("role"),
        "verified": not invited,
        "invited": invited,
        "active": True,
        "logged_in_at": None if invited else iso(emu.clock.now()),
        "created_at": iso(emu.clock.now()),
        "_email": email.lower(),
    }


def user_or_404(emu: Emulator, user_id: str) -> dict[str, Any]:
    ensure_owner(emu)
    user = emu.store.get("user", user_id)
    if user is None:
        raise not_found("User", user_id)
    return user


def team_or_404(emu: Emulator, team_id: str) -> dict[str, Any]:
    team = emu.store.get("team", team_id)
    if team is None:
        raise not_found("Team", team_id)
    return team


def target_or_404(emu: Emulator, target: str, target_id: str) -> dict[str, Any]:
    """The group, connection or team a membership points at."""
    kinds = {"group": "Group", "connection": "Connection", "team": "Team"}
    found = emu.store.get(target, target_id)
    if found is None:
        raise not_found(kinds[target], target_id)
    return found


def membership_id(principal: str, principal_id: str, target: str, target_id: str) -> str:
    return f"{principal}:{principal_id}:{target}:{target_id}"


def membership_or_404(
    emu: Emulator, principal: str, principal_id: str, target: str, target_id: str
) -> dict[str, Any]:
    found = emu.store.get("membership", membership_id(principal, principal_id, target, target_id))
    if found is None:
        raise ApiError(
            404,
            "NotFound_Membership",
            f"{principal.capitalize()} '{principal_id}' has no membership in {target} "
            f"'{target_id}'",
        )
    return found


def new_membership(
    emu: Emulator, principal: str, principal_id: str, target: str, target_id: str, role: str
) -> dict[str, Any]:
    return {
        "id": membership_id(principal, principal_id, target, target_id),
        "principal": principal,
        "principal_id": principal_id,
        "target": target,
        "target_id": target_id,
        "role": role,
        "created_at": iso(emu.clock.now()),
    }


def render_membership(membership: dict[str, Any]) -> dict[str, Any]:
    """`MembershipResponse`: the id is the group's or connection's."""
    return {
        "id": membership["target_id"],
        "role": membership["role"],
        "created_at": membership["created_at"],
    }


def render_team_member(membership: dict[str, Any]) -> dict[str, Any]:
    """`TeamMembershipResponse`: a user's membership in a team."""
    return {
        "user_id": membership["principal_id"],
        "role": membership["role"],
        "created_at": membership["created_at"],
    }


def forget_memberships(emu: Emulator, kind: str, oid: str) -> None:
    """Drop every membership from or to the object ``kind``/``oid`` (call under the lock)."""
    for membership in emu.store.values("membership"):
        if (membership["principal"], membership["principal_id"]) == (kind, oid) or (
            membership["target"],
            membership["target_id"],
        ) == (kind, oid):
            emu.store.delete("membership", membership["id"])


def group_public_key(emu: Emulator, group_id: str) -> str:
    """A well-formed ``ssh-ed25519`` key, stable per account and group (the key Fivetran's SSH
    tunnels present; the local Fivetran opens no tunnel, so no private half exists)."""
    blob = hashlib.sha256(f"{emu.account_id}:{group_id}".encode()).digest()
    kind = b"ssh-ed25519"
    wire = len(kind).to_bytes(4, "big") + kind + len(blob).to_bytes(4, "big") + blob
    return f"ssh-ed25519 {base64.b64encode(wire).decode()} fivetran user key"


def forget_dependents(emu: Emulator, kind: str, oid: str) -> None:
    """Drop what belongs to a deleted group, destination, connection, user or team: its
    memberships, log service, certificates and fingerprints (call under the store's lock)."""
    forget_memberships(emu, kind, oid)
    if kind == "group":
        emu.store.delete("log_service", oid)
    owner = "destination" if kind == "group" else kind
    for store_kind in ("certificate", "fingerprint"):
        for item in emu.store.values(store_kind):
            if (item["owner"], item["owner_id"]) == (owner, oid):
                emu.store.delete(store_kind, item["id"])
