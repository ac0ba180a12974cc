"""Teams (`/v1/teams...`): the team, its users, and its memberships in groups and connections.

A team name is unique per account (409). A team's account role is optional; its users hold a
team role (``Team Manager``/``Team Member``); its group and connection memberships hold
destination and connector roles, as users' do.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fivetran_assets.emulator.access import (
    forget_dependents,
    membership_or_404,
    new_membership,
    render_team_member,
    role_of,
    team_or_404,
    user_or_404,
)
from fivetran_assets.emulator.context import Emulator
from fivetran_assets.emulator.http import (
    conflict,
    invalid,
    json_body,
    ok,
    paginate,
    public,
    require,
    string,
)
from fivetran_assets.emulator.routes_groups import emu_of
from fivetran_assets.emulator.routes_memberships import membership_routes
from fivetran_assets.emulator.routes_users import active_filter


def _check_name(emu: Emulator, name: Any, *, exclude: str = "") -> str:
    name = string(name, "name")
    for team in emu.store.values("team"):
        if team["name"] == name and team["id"] != exclude:
            raise conflict(f"Team with name '{name}' already exists")
    return name


async def list_teams(request: Request) -> Response:
    return paginate(request, emu_of(request).store, "team", public)


async def create_team(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    description = body.get("description")
    if description is not None:
        description = string(description, "description", allow_empty=True)
    team = {
        "id": "",
        "name": "",
        "description": description,
        "role": role_of(body.get("role"), "role", "ACCOUNT", optional=True),
    }
    for key in body:
        if key not in ("name", "description", "role"):
            raise invalid(f"Unknown field '{key}'")
    with emu.store.lock:
        team["name"] = _check_name(emu, require(body, "name"))
        team["id"] = emu.store.new_id()
        emu.store.put("team", team)
    return ok(public(team), "Team has been created", status=201)


async def get_team(request: Request) -> Response:
    team = team_or_404(emu_of(request), request.path_params["team_id"])
    return ok(public(team), "Team details retrieved")


async def patch_team(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    team_id = request.path_params["team_id"]
    with emu.store.lock:
        team = dict(team_or_404(emu, team_id))
        for key, value in body.items():
            if key == "name":
                team["name"] = _check_name(emu, value, exclude=team_id)
            elif key == "description":
                team["description"] = (
                    None if value is None else string(value, "description", allow_empty=True)
                )
            elif key == "role":
                team["role"] = role_of(value, "role", "ACCOUNT", optional=True)
            else:
                raise invalid(f"Unknown field '{key}'")
        emu.store.put("team", team)
    return ok(public(team), "Team has been updated")


async def delete_team(request: Request) -> Response:
    emu = emu_of(request)
    team_id = request.path_params["team_id"]
    with emu.store.lock:
        team_or_404(emu, team_id)
        forget_dependents(emu, "team", team_id)
        emu.store.delete("team", team_id)
    return ok(message=f"Team with id '{team_id}' has been deleted")


async def delete_team_role(request: Request) -> Response:
    emu = emu_of(request)
    with emu.store.lock:
        team = {**team_or_404(emu, request.path_params["team_id"]), "role": None}
        emu.store.put("team", team)
    return ok(message="Team role in account has been removed")


# --------------------------------------------------------------------------- team users


async def list_team_users(request: Request) -> Response:
    emu = emu_of(request)
    team = team_or_404(emu, request.path_params["team_id"])
    active = active_filter(request)

    def keep(m: dict[str, Any]) -> bool:
        if (m["target"], m["target_id"], m["principal"]) != ("team", team["id"], "user"):
            return False
        user = emu.store.get("user", m["principal_id"])
        return active is None or (user is not None and user["active"] is active)

    return paginate(request, emu.store, "membership", render_team_member, keep)


async def add_team_user(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    user_id = string(require(body, "user_id"), "user_id")
    role = role_of(body.get("role", "Team Member"), "role", "TEAM")
    with emu.store.lock:
        team = team_or_404(emu, request.path_params["team_id"])
        user_or_404(emu, user_id)
        membership = new_membership(emu, "user", user_id, "team", team["id"], role)
        if emu.store.get("membership", membership["id"]) is not None:
            raise conflict(f"User '{user_id}' is already a member of team '{team['id']}'")
        emu.store.put("membership", membership)
    return ok(render_team_member(membership), "User has been added to the team", status=201)


async def get_team_user(request: Request) -> Response:
    emu, p = emu_of(request), request.path_params
    team_or_404(emu, p["team_id"])
    membership = membership_or_404(emu, "user", p["user_id"], "team", p["team_id"])
    return ok(render_team_member(membership), "User membership in team retrieved")


async def patch_team_user(request: Request) -> Response:
    emu, p = emu_of(request), request.path_params
    body = await json_body(request)
    role = role_of(require(body, "role"), "role", "TEAM")
    with emu.store.lock:
        team_or_404(emu, p["team_id"])
        membership = {**membership_or_404(emu, "user", p["user_id"], "team", p["team_id"])}
        membership["role"] = role
        emu.store.put("membership", membership)
    return ok(render_team_member(membership), "User membership has been updated")


async def delete_team_user(request: Request) -> Response:
    emu, p = emu_of(request), request.path_params
    with emu.store.lock:
        team_or_404(emu, p["team_id"])
        membership = membership_or_404(emu, "user", p["user_id"], "team", p["team_id"])
        emu.store.delete("membership", membership["id"])
    return ok(message=f"User with id '{p['user_id']}' has been removed from the team")


ROUTES = [
    Route("/v1/teams", list_teams, methods=["GET"]),
    Route("/v1/teams", create_team, methods=["POST"]),
    Route("/v1/teams/{team_id}", get_team, methods=["GET"]),
    Route("/v1/teams/{team_id}", patch_team, methods=["PATCH"]),
    Route("/v1/teams/{team_id}", delete_team, methods=["DELETE"]),
    Route("/v1/teams/{team_id}/role", delete_team_role, methods=["DELETE"]),
    Route("/v1/teams/{team_id}/users", list_team_users, methods=["GET"]),
    Route("/v1/teams/{team_id}/users", add_team_user, methods=["POST"]),
    Route("/v1/teams/{team_id}/users/{user_id}", get_team_user, methods=["GET"]),
    Route("/v1/teams/{team_id}/users/{user_id}", patch_team_user, methods=["PATCH"]),
    Route("/v1/teams/{team_id}/users/{user_id}", delete_team_user, methods=["DELETE"]),
    *membership_routes("team", team_or_404, "group", update_data=True, delete_data=False),
    *membership_routes("team", team_or_404, "connection", update_data=True, delete_data=False),
]
