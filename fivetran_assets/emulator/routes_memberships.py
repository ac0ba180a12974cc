"""Memberships of users and teams in groups and connections, one route factory for all four.

``/v1/users/{user_id}/groups``, ``/v1/users/{user_id}/connections``, ``/v1/teams/{team_id}/groups``
and ``/v1/teams/{team_id}/connections`` (list, add, get, update the role, delete) differ only in
who the member is and in which answers the definition gives a ``data`` object.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fivetran_assets.emulator.access import (
    membership_or_404,
    new_membership,
    render_membership,
    role_of,
    target_or_404,
)
from fivetran_assets.emulator.context import Emulator
from fivetran_assets.emulator.http import conflict, json_body, ok, paginate, require, string
from fivetran_assets.emulator.routes_groups import emu_of

SCOPES = {"group": "DESTINATION", "connection": "CONNECTOR"}
PARAMS = {"group": "group_id", "connection": "connection_id"}


def membership_routes(
    principal: str,
    principal_or_404: Callable[[Emulator, str], dict[str, Any]],
    target: str,
    *,
    update_data: bool,
    delete_data: bool,
) -> list[Route]:
    """Routes for ``/v1/{principal}s/{id}/{target}s[/{target id}]``."""
    scope, param, key = SCOPES[target], PARAMS[target], f"{principal}_id"
    title = target.capitalize()

    def member(request: Request) -> tuple[Emulator, str]:
        emu = emu_of(request)
        return emu, principal_or_404(emu, request.path_params[key])["id"]

    async def listing(request: Request) -> Response:
        emu, pid = member(request)

        def keep(m: dict[str, Any]) -> bool:
            return (m["principal"], m["principal_id"], m["target"]) == (principal, pid, target)

        return paginate(request, emu.store, "membership", render_membership, keep)

    async def add(request: Request) -> Response:
        emu, pid = member(request)
        body = await json_body(request)
        target_id = string(require(body, "id"), "id")
        role = role_of(require(body, "role"), "role", scope)
        with emu.store.lock:
            target_or_404(emu, target, target_id)
            membership = new_membership(emu, principal, pid, target, target_id, role)
            if emu.store.get("membership", membership["id"]) is not None:
                raise conflict(
                    f"{principal.capitalize()} '{pid}' already has a membership in {target} "
                    f"'{target_id}'"
                )
            emu.store.put("membership", membership)
        return ok(render_membership(membership), f"{title} membership has been created", status=201)

    async def get(request: Request) -> Response:
        emu, pid = member(request)
        found = membership_or_404(emu, principal, pid, target, request.path_params[param])
        return ok(render_membership(found), f"{title} membership retrieved")

    async def update(request: Request) -> Response:
        emu, pid = member(request)
        body = await json_body(request)
        role = role_of(require(body, "role"), "role", scope)
        with emu.store.lock:
            found = membership_or_404(emu, principal, pid, target, request.path_params[param])
            membership = {**found, "role": role}
            emu.store.put("membership", membership)
        data = render_membership(membership) if update_data else None
        return ok(data, f"{title} membership has been updated")

    async def delete(request: Request) -> Response:
        emu, pid = member(request)
        with emu.store.lock:
            found = membership_or_404(emu, principal, pid, target, request.path_params[param])
            emu.store.delete("membership", found["id"])
        data = render_membership(found) if delete_data else None
        return ok(data, f"{title} membership has been deleted")

    base = f"/v1/{principal}s/{{{key}}}/{target}s"
    one = f"{base}/{{{param}}}"
    return [
        Route(base, listing, methods=["GET"]),
        Route(base, add, methods=["POST"]),
        Route(one, get, methods=["GET"]),
        Route(one, update, methods=["PATCH"]),
        Route(one, delete, methods=["DELETE"]),
    ]
