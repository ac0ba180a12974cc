"""Users, roles, teams and memberships of the local Fivetran, over plain HTTP.

Every answer is validated against Fivetran's OpenAPI definition by `Api`.
"""

from __future__ import annotations

from pathlib import Path

from fivetran_assets_tests.emulator.support import Api, make_connection

ANA = {"email": "ana@example.com", "given_name": "Ana", "family_name": "Lima"}


def test_roles_are_listed_with_their_scope(api: Api) -> None:
    roles = api.get("/v1/roles", expect=200)["data"]["items"]
    scopes = {r["name"]: r["scope"] for r in roles}
    assert scopes["Account Administrator"] == ["ACCOUNT"]
    assert scopes["Destination Analyst"] == ["DESTINATION"]
    assert scopes["Connector Reviewer"] == ["CONNECTOR"]
    assert scopes["Team Member"] == ["TEAM"]
    first = api.get("/v1/roles?limit=2", expect=200)["data"]
    rest = api.get(f"/v1/roles?cursor={first['next_cursor']}&limit=100", expect=200)["data"]
    assert [r["name"] for r in first["items"] + rest["items"]] == [r["name"] for r in roles]


def test_user_lifecycle(api: Api, emulator) -> None:
    owner = api.get("/v1/users", expect=200)["data"]["items"]
    assert len(owner) == 1 and owner[0]["role"] == "Account Administrator"
    assert owner[0]["id"] == api.get("/v1/account/info")["data"]["user_id"]

    user = api.post("/v1/users", {**ANA, "role": "Account Reviewer"}, expect=201)["data"]
    assert user["invited"] is True and user["verified"] is False and user["active"] is True
    assert api.post("/v1/users", {**ANA, "email": "ANA@example.com"}, expect=409)["code"] == (
        "Conflict"
    )
    missing = api.post("/v1/users", {"email": "x@example.com"}, expect=400)
    assert "given_name" in missing["message"]
    bad_role = api.post("/v1/users", {**ANA, "email": "b@example.com", "role": "Boss"})
    assert api.last.status_code == 400
    assert "Account Administrator" in bad_role["message"]  # names the known roles
    scoped = api.post("/v1/users", {**ANA, "email": "c@example.com", "role": "Team Member"})
    assert api.last.status_code == 400 and "not a ACCOUNT role" in scoped["message"]

    path = f"/v1/users/{user['id']}"
    changed = api.patch(path, {"phone": "+351 21 000 0000", "role": "Account Analyst"})["data"]
    assert changed["phone"] == "+351 21 000 0000" and changed["role"] == "Account Analyst"
    assert api.patch(path, {"email": "new@example.com"}, expect=400)["code"] == "InvalidInput"
    api.delete(f"{path}/role", expect=200)
    assert api.get(path, expect=200)["data"]["role"] is None
    assert api.delete(f"/v1/users/{owner[0]['id']}", expect=400)["code"] == "InvalidInput"
    api.delete(path, expect=200)
    assert api.get(path, expect=404)["code"] == "NotFound_User"
    assert api.get("/v1/users?active=true", expect=200)["data"]["items"] == owner


def test_user_memberships_in_groups_and_connections(api: Api, group_id: str, source: Path) -> None:
    user = api.post("/v1/users", ANA, expect=201)["data"]
    conn = make_connection(api, group_id, source, "sales", schedule_type="manual")
    base = f"/v1/users/{user['id']}"
    member = api.post(
        f"{base}/groups", {"id": group_id, "role": "Destination Analyst"}, expect=201
    )["data"]
    assert member["id"] == group_id and member["role"] == "Destination Analyst"
    again = api.post(f"{base}/groups", {"id": group_id, "role": "Destination Analyst"})
    assert api.last.status_code == 409 and again["code"] == "Conflict"
    wrong_scope = api.post(f"{base}/groups", {"id": group_id, "role": "Connector Reviewer"})
    assert api.last.status_code == 400 and "not a DESTINATION role" in wrong_scope["message"]
    assert api.post(f"{base}/groups", {"id": "nope", "role": "Destination Analyst"}, expect=404)
    api.patch(f"{base}/groups/{group_id}", {"role": "Destination Reviewer"}, expect=200)
    assert api.get(f"{base}/groups/{group_id}", expect=200)["data"]["role"] == (
        "Destination Reviewer"
    )
    api.post(f"{base}/connections", {"id": conn["id"], "role": "Connector Reviewer"}, expect=201)
    listed = api.get(f"{base}/connections", expect=200)["data"]["items"]
    assert [m["id"] for m in listed] == [conn["id"]]
    # the group's users, and adding one by email
    group_users = api.get(f"/v1/groups/{group_id}/users", expect=200)["data"]["items"]
    assert [u["email"] for u in group_users] == [ANA["email"]]
    owner_email = api.get("/v1/users")["data"]["items"][0]["email"]
    api.post(
        f"/v1/groups/{group_id}/users",
        {"email": owner_email, "role": "Destination Administrator"},
        expect=200,
    )
    assert len(api.get(f"/v1/groups/{group_id}/users")["data"]["items"]) == 2
    unknown = {"email": "ghost@example.com", "role": "Destination Analyst"}
    assert api.post(f"/v1/groups/{group_id}/users", unknown, expect=404)["code"] == (
        "NotFound_User"
    )
    # deleting the connection drops its memberships; deleting the user drops the rest
    deleted = api.delete(f"{base}/connections/{conn['id']}", expect=200)["data"]
    assert deleted["role"] == "Connector Reviewer"
    assert api.get(f"{base}/connections/{conn['id']}", expect=404)["code"] == (
        "NotFound_Membership"
    )
    api.delete(f"/v1/users/{user['id']}", expect=200)
    remaining = api.get(f"/v1/groups/{group_id}/users")["data"]["items"]
    assert [u["email"] for u in remaining] == [owner_email]


def test_team_lifecycle_and_memberships(api: Api, group_id: str, source: Path) -> None:
    user = api.post("/v1/users", ANA, expect=201)["data"]
    conn = make_connection(api, group_id, source, "hr", schedule_type="manual")
    team = api.post(
        "/v1/teams",
        {"name": "analysts", "description": "BI", "role": "Account Reviewer"},
        expect=201,
    )["data"]
    assert team["name"] == "analysts" and team["role"] == "Account Reviewer"
    assert api.post("/v1/teams", {"name": "analysts"}, expect=409)["code"] == "Conflict"
    assert api.post("/v1/teams", {"description": "no name"}, expect=400)["code"] == "InvalidInput"
    base = f"/v1/teams/{team['id']}"
    renamed = api.patch(base, {"name": "bi", "description": "Business intelligence"})["data"]
    assert renamed["name"] == "bi"
    api.delete(f"{base}/role", expect=200)
    assert api.get(base, expect=200)["data"]["role"] is None

    member = api.post(f"{base}/users", {"user_id": user["id"], "role": "Team Manager"}, expect=201)
    assert member["data"] == {**member["data"], "user_id": user["id"], "role": "Team Manager"}
    assert api.post(f"{base}/users", {"user_id": "nobody"}, expect=404)["code"] == "NotFound_User"
    api.patch(f"{base}/users/{user['id']}", {"role": "Team Member"}, expect=200)
    assert api.get(f"{base}/users/{user['id']}")["data"]["role"] == "Team Member"
    assert [m["user_id"] for m in api.get(f"{base}/users")["data"]["items"]] == [user["id"]]

    api.post(f"{base}/groups", {"id": group_id, "role": "Destination Reviewer"}, expect=201)
    changed = api.patch(f"{base}/groups/{group_id}", {"role": "Destination Analyst"}, expect=200)
    assert changed["data"]["role"] == "Destination Analyst"
    api.post(
        f"{base}/connections", {"id": conn["id"], "role": "Connector Collaborator"}, expect=201
    )
    assert api.get(f"{base}/connections/{conn['id']}")["data"]["role"] == "Connector Collaborator"
    api.delete(f"{base}/connections/{conn['id']}", expect=200)
    assert api.get(f"{base}/connections", expect=200)["data"]["items"] == []

    api.delete(f"{base}/users/{user['id']}", expect=200)
    api.delete(base, expect=200)
    assert api.get(base, expect=404)["code"] == "NotFound_Team"
    assert api.get(f"/v1/users/{user['id']}/groups")["data"]["items"] == []
