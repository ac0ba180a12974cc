"""Account info, groups, and connector-type metadata."""

from __future__ import annotations

from collections.abc import Iterator

from fivetran_assets.fivetran.models import AccountInfo, Connection, ConnectorType, Group
from fivetran_assets.fivetran.resources.base import ResourceBase, seg


class GroupsMixin(ResourceBase):
    def get_account_info(self) -> AccountInfo:
        """`GET /v1/account/info`: the account behind the API key (a cheap credentials check)."""
        return AccountInfo.from_api(self._http.data("GET", "/v1/account/info"))

    def create_group(self, name: str) -> Group:
        """`POST /v1/groups`. Group names are unique per account; a taken name is 409."""
        return Group.from_api(self._http.data("POST", "/v1/groups", body={"name": name}))

    def list_groups(self) -> Iterator[Group]:
        """`GET /v1/groups`, every page."""
        return (Group.from_api(item) for item in self._http.paginate("/v1/groups"))

    def get_group(self, group_id: str) -> Group:
        """`GET /v1/groups/{groupId}`."""
        return Group.from_api(self._http.data("GET", f"/v1/groups/{seg(group_id)}"))

    def update_group(self, group_id: str, *, name: str) -> Group:
        """`PATCH /v1/groups/{groupId}`: rename."""
        path = f"/v1/groups/{seg(group_id)}"
        return Group.from_api(self._http.data("PATCH", path, body={"name": name}))

    def delete_group(self, group_id: str) -> None:
        """`DELETE /v1/groups/{groupId}`."""
        self._http.request("DELETE", f"/v1/groups/{seg(group_id)}")

    def list_group_connections(
        self, group_id: str, *, schema: str | None = None
    ) -> Iterator[Connection]:
        """`GET /v1/groups/{groupId}/connections` (legacy `.../connectors`), every page.

        `schema` filters on the connection name, which is unique within a group.
        """
        path = f"/v1/groups/{seg(group_id)}/{self._group_connections_suffix}"
        items = self._http.paginate(path, params={"schema": schema})
        return (Connection.from_api(item) for item in items)

    def list_connector_types(self) -> Iterator[ConnectorType]:
        """`GET /v1/metadata/connector-types`, every page."""
        items = self._http.paginate("/v1/metadata/connector-types")
        return (ConnectorType.from_api(item) for item in items)

    def get_connector_type(self, service: str) -> ConnectorType:
        """`GET /v1/metadata/connector-types/{service}`."""
        path = f"/v1/metadata/connector-types/{seg(service)}"
        return ConnectorType.from_api(self._http.data("GET", path))
