"""Users and roles (`/v1/users...`, `/v1/roles`), and a group's users (`/v1/groups/{id}/users`).

Inviting a user (`POST /v1/users`) creates it invited and unverified; an email is unique per
account (409). A user's memberships in groups and connections are stored, listed and dropped
with the user, the group or the connection.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fivetran_assets.emulator.access import (
    ROLES,
    ensure_owner,
    forget_dependents,
    group_public_key,
    membership_or_404,
    new_membership,
    new_user,
    render_role,
    role_of,
    target_or_404,
    user_or_404,
)
from fivetran_assets.emulator.http import (
    boolean,
    conflict,
    invalid,
    json_body,
    not_found,
    ok,
    paginate,
    paginate_list,
    public,
    require,
    string,
)
from fivetran_assets.emulator.routes_groups import emu_of
from fivetran_assets.emulator.routes_memberships import membership_routes

USER_FIELDS = ("given_name", "family_name", "phone", "picture")


def render_user(user: dict[str, Any]) -> dict[str, Any]:
    return public(user)


def active_filter(request: Request) -> bool | None:
    raw = request.query_params.get("active")
    return None if raw is None else boolean(raw, "active")


def _email(value: Any) -> str:
    email = string(value, "email").strip()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email:
        raise invalid(f"Field 'email' must be an email address, got {email!r}")
    return email


async def list_roles(request: Request) -> Response:
    roles = [render_role(r) for r in ROLES]
    return paginate_list(request, roles, "Roles list retrieved successfully")


async def list_users(request: Request) -> Response:
    emu = emu_of(request)
    ensure_owner(emu)
    active = active_filter(request)
    keep = None if active is None else (lambda u: u["active"] is active)
    return paginate(request, emu.store, "user", render_user, keep)


async def create_user(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    email = _email(require(body, "email"))
    fields = {k: string(body[k], k, allow_empty=True) for k in USER_FIELDS if body.get(k)}
    for name in ("given_name", "family_name"):
        fields[name] = string(require(body, name), name)
    fields["role"] = role_of(body.get("role"), "role", "ACCOUNT", optional=True)
    ensure_owner(emu)
    with emu.store.lock:
        if emu.store.find("user", (email.lower(),)) is not None:
            raise conflict(f"User with email '{email}' already exists")
        user = new_user(emu, emu.store.new_id(), email=email, **fields)
        emu.store.put("user", user)
    return ok(render_user(user), "User has been invited to the account", status=201)


async def get_user(request: Request) -> Response:
    user = user_or_404(emu_of(request), request.path_params["user_id"])
    return ok(render_user(user), "User details retrieved successfully")


async def patch_user(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    changes: dict[str, Any] = {}
    for key, value in body.items():
        if key in USER_FIELDS:
            changes[key] = None if value is None else string(value, key, allow_empty=True)
        elif key == "role":
            changes["role"] = role_of(value, "role", "ACCOUNT", optional=True)
        elif key in ("email", "id"):
            raise invalid(f"Field '{key}' cannot be changed")
        else:
            raise invalid(f"Unknown field '{key}'")
    with emu.store.lock:
        user = {**user_or_404(emu, request.path_params["user_id"]), **changes}
        emu.store.put("user", user)
    return ok(render_user(user), "User has been updated")


async def delete_user(request: Request) -> Response:
    emu = emu_of(request)
    user_id = request.path_params["id"]
    with emu.store.lock:
        user_or_404(emu, user_id)
        if user_id == emu.user_id:
            raise invalid("The user behind this API key cannot be deleted")
        forget_dependents(emu, "user", user_id)
        emu.store.delete("user", user_id)
    return ok(message=f"User with id '{user_id}' has been deleted")


async def delete_user_role(request: Request) -> Response:
    emu = emu_of(request)
    with emu.store.lock:
        user = {**user_or_404(emu, request.path_params["user_id"]), "role": None}
        emu.store.put("user", user)
    return ok(message="User role in account has been removed")


async def list_group_users(request: Request) -> Response:
    emu = emu_of(request)
    group = target_or_404(emu, "group", request.path_params["group_id"])
    ensure_owner(emu)
    active = active_filter(request)

    def keep(user: dict[str, Any]) -> bool:
        member = emu.store.get("membership", f"user:{user['id']}:group:{group['id']}")
        return member is not None and (active is None or user["active"] is active)

    return paginate(request, emu.store, "user", render_user, keep)


async def add_group_user(request: Request) -> Response:
    emu = emu_of(request)
    body = await json_body(request)
    email = _email(require(body, "email"))
    role = role_of(require(body, "role"), "role", "DESTINATION")
    ensure_owner(emu)
    with emu.store.lock:
        group = target_or_404(emu, "group", request.path_params["group_id"])
        user = emu.store.find("user", (email.lower(),))
        if user is None:
            raise not_found("User", email)
        membership = new_membership(emu, "user", user["id"], "group", group["id"], role)
        if emu.store.get("membership", membership["id"]) is not None:
            raise conflict(f"User '{email}' is already a member of group '{group['id']}'")
        emu.store.put("membership", membership)
    return ok(message=f"User with id '{user['id']}' has been added to the group")


async def remove_group_user(request: Request) -> Response:
    emu, p = emu_of(request), request.path_params
    target_or_404(emu, "group", p["group_id"])
    user_or_404(emu, p["user_id"])
    with emu.store.lock:
        membership = membership_or_404(emu, "user", p["user_id"], "group", p["group_id"])
        emu.store.delete("membership", membership["id"])
    return ok(message=f"User with id '{p['user_id']}' has been removed from the group")


async def group_public_key_route(request: Request) -> Response:
    emu = emu_of(request)
    group = target_or_404(emu, "group", request.path_params["group_id"])
    return ok({"public_key": group_public_key(emu, group["id"])}, "Group public key retrieved")


async def group_service_account(request: Request) -> Response:
    emu = emu_of(request)
    group = target_or_404(emu, "group", request.path_params["group_id"])
    account = f"g-{group['id'].replace('_', '-')}@fivetran-local.iam.gserviceaccount.com"
    return ok({"service_account": account}, "Group service account retrieved")


ROUTES = [
    Route("/v1/roles", list_roles, methods=["GET"]),
    Route("/v1/users", list_users, methods=["GET"]),
    Route("/v1/users", create_user, methods=["POST"]),
    Route("/v1/users/{user_id}", get_user, methods=["GET"]),
    Route("/v1/users/{user_id}", patch_user, methods=["PATCH"]),
    Route("/v1/users/{id}", delete_user, methods=["DELETE"]),
    Route("/v1/users/{user_id}/role", delete_user_role, methods=["DELETE"]),
    # the definition answers a user's group membership update and deletion without data, and a
    # connection membership's deletion with the membership it removed
    *membership_routes("user", user_or_404, "group", update_data=False, delete_data=False),
    *membership_routes("user", user_or_404, "connection", update_data=True, delete_data=True),
    Route("/v1/groups/{group_id}/users", list_group_users, methods=["GET"]),
    Route("/v1/groups/{group_id}/users", add_group_user, methods=["POST"]),
    Route("/v1/groups/{group_id}/users/{user_id}", remove_group_user, methods=["DELETE"]),
    Route("/v1/groups/{group_id}/public-key", group_public_key_route, methods=["GET"]),
    Route("/v1/groups/{group_id}/service-account", group_service_account, methods=["GET"]),
]
