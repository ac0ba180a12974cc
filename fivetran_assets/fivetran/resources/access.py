"""Users, roles, teams and memberships (`/v1/users`, `/v1/roles`, `/v1/teams`).

Memberships have one shape whoever holds them: a user or team (`principal`) has a role in a
group or connection (`target`), so one set of methods serves the eight membership routes; a
user's role in a team has its own (`.../teams/{id}/users`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from fivetran_assets.fivetran.access import Membership, Role, Team, User
from fivetran_assets.fivetran.resources.base import ResourceBase, body_of, seg

Principal = Literal["user", "team"]
Target = Literal["group", "connection"]


class AccessMixin(ResourceBase):
    # ------------------------------------------------------------------------------ roles

    def list_roles(self) -> Iterator[Role]:
        """`GET /v1/roles`, every page: standard and custom roles with their scope."""
        return (Role.from_api(item) for item in self._http.paginate("/v1/roles"))

    # ------------------------------------------------------------------------------ users

    def list_users(self, *, active: bool | None = None) -> Iterator[User]:
        """`GET /v1/users`, every page (`active` filters enabled or suspended users)."""
        params = {"active": None if active is None else str(active).lower()}
        return (User.from_api(i) for i in self._http.paginate("/v1/users", params=params))

    def invite_user(
        self,
        email: str,
        *,
        given_name: str,
        family_name: str,
        role: str | None = None,
        phone: str | None = None,
    ) -> User:
        """`POST /v1/users`: invite a user to the account (409 when the email exists)."""
        body = body_of(
            None,
            email=email,
            given_name=given_name,
            family_name=family_name,
            role=role,
            phone=phone,
        )
        return User.from_api(self._http.data("POST", "/v1/users", body=body))

    def get_user(self, user_id: str) -> User:
        """`GET /v1/users/{userId}`."""
        return User.from_api(self._http.data("GET", f"/v1/users/{seg(user_id)}"))

    def update_user(
        self,
        user_id: str,
        *,
        given_name: str | None = None,
        family_name: str | None = None,
        role: str | None = None,
        phone: str | None = None,
    ) -> User:
        """`PATCH /v1/users/{userId}`; only the given fields change."""
        body = body_of(None, given_name=given_name, family_name=family_name, role=role, phone=phone)
        if not body:
            raise ValueError("update_user needs at least one field to change")
        return User.from_api(self._http.data("PATCH", f"/v1/users/{seg(user_id)}", body=body))

    def delete_user(self, user_id: str) -> None:
        """`DELETE /v1/users/{id}`: remove the user from the account."""
        self._http.request("DELETE", f"/v1/users/{seg(user_id)}")

    def remove_user_role(self, user_id: str) -> None:
        """`DELETE /v1/users/{userId}/role`: the user keeps no account role."""
        self._http.request("DELETE", f"/v1/users/{seg(user_id)}/role")

    # ------------------------------------------------------------------------------ teams

    def list_teams(self) -> Iterator[Team]:
        """`GET /v1/teams`, every page."""
        return (Team.from_api(item) for item in self._http.paginate("/v1/teams"))

    def create_team(
        self, name: str, *, description: str | None = None, role: str | None = None
    ) -> Team:
        """`POST /v1/teams` (409 when the name exists)."""
        body = body_of(None, name=name, description=description, role=role)
        return Team.from_api(self._http.data("POST", "/v1/teams", body=body))

    def get_team(self, team_id: str) -> Team:
        """`GET /v1/teams/{teamId}`."""
        return Team.from_api(self._http.data("GET", f"/v1/teams/{seg(team_id)}"))

    def update_team(
        self,
        team_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        role: str | None = None,
    ) -> Team:
        """`PATCH /v1/teams/{teamId}`; only the given fields change."""
        body = body_of(None, name=name, description=description, role=role)
        if not body:
            raise ValueError("update_team needs at least one field to change")
        return Team.from_api(self._http.data("PATCH", f"/v1/teams/{seg(team_id)}", body=body))

    def delete_team(self, team_id: str) -> None:
        """`DELETE /v1/teams/{teamId}` (its memberships go with it)."""
        self._http.request("DELETE", f"/v1/teams/{seg(team_id)}")

    def remove_team_role(self, team_id: str) -> None:
        """`DELETE /v1/teams/{teamId}/role`: the team keeps no account role."""
        self._http.request("DELETE", f"/v1/teams/{seg(team_id)}/role")

    def list_team_users(self, team_id: str) -> Iterator[Membership]:
        """`GET /v1/teams/{teamId}/users`, every page: each member's user id and team role."""
        items = self._http.paginate(f"/v1/teams/{seg(team_id)}/users")
        return (Membership.from_api(item) for item in items)

    def add_team_user(self, team_id: str, user_id: str, role: str) -> Membership:
        """`POST /v1/teams/{teamId}/users`."""
        path = f"/v1/teams/{seg(team_id)}/users"
        body = {"user_id": user_id, "role": role}
        return Membership.from_api(self._http.data("POST", path, body=body))

    def update_team_user(self, team_id: str, user_id: str, role: str) -> None:
        """`PATCH /v1/teams/{teamId}/users/{userId}`: change the member's team role."""
        path = f"/v1/teams/{seg(team_id)}/users/{seg(user_id)}"
        self._http.request("PATCH", path, body={"role": role})

    def remove_team_user(self, team_id: str, user_id: str) -> None:
        """`DELETE /v1/teams/{teamId}/users/{userId}`."""
        self._http.request("DELETE", f"/v1/teams/{seg(team_id)}/users/{seg(user_id)}")

    # ------------------------------------------------------------------------ memberships

    @staticmethod
    def _membership_path(principal: Principal, principal_id: str, target: Target) -> str:
        return f"/v1/{principal}s/{seg(principal_id)}/{target}s"

    def list_memberships(
        self, principal: Principal, principal_id: str, target: Target
    ) -> Iterator[Membership]:
        """`GET /v1/{users|teams}/{id}/{groups|connections}`, every page."""
        items = self._http.paginate(self._membership_path(principal, principal_id, target))
        return (Membership.from_api(item) for item in items)

    def add_membership(
        self, principal: Principal, principal_id: str, target: Target, target_id: str, role: str
    ) -> None:
        """`POST /v1/{users|teams}/{id}/{groups|connections} {id, role}` (409 if it exists)."""
        path = self._membership_path(principal, principal_id, target)
        self._http.request("POST", path, body={"id": target_id, "role": role})

    def update_membership(
        self, principal: Principal, principal_id: str, target: Target, target_id: str, role: str
    ) -> None:
        """`PATCH /v1/{users|teams}/{id}/{groups|connections}/{targetId} {role}`."""
        path = f"{self._membership_path(principal, principal_id, target)}/{seg(target_id)}"
        self._http.request("PATCH", path, body={"role": role})

    def delete_membership(
        self, principal: Principal, principal_id: str, target: Target, target_id: str
    ) -> None:
        """`DELETE /v1/{users|teams}/{id}/{groups|connections}/{targetId}`."""
        path = f"{self._membership_path(principal, principal_id, target)}/{seg(target_id)}"
        self._http.request("DELETE", path)
