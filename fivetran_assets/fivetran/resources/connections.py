"""Connections: create, read, change, test, sync and resync.

Paths are `/v1/connections/...` by default and `/v1/connectors/...` with `legacy_paths=True`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from fivetran_assets.fivetran.enums import SYNC_FREQUENCIES, ScheduleType
from fivetran_assets.fivetran.models import Connection
from fivetran_assets.fivetran.resources.base import ResourceBase, body_of


def _check_frequency(sync_frequency: int | None) -> None:
    if sync_frequency is not None and sync_frequency not in SYNC_FREQUENCIES:
        allowed = ", ".join(map(str, SYNC_FREQUENCIES))
        raise ValueError(f"sync_frequency {sync_frequency} is not one of {allowed} (minutes)")


class ConnectionsMixin(ResourceBase):
    def create_connection(
        self,
        group_id: str,
        service: str,
        *,
        config: Mapping[str, Any] | None = None,
        paused: bool | None = None,
        sync_frequency: int | None = None,
        daily_sync_time: str | None = None,
        schedule_type: ScheduleType | str | None = None,
        run_setup_tests: bool | None = None,
        trust_certificates: bool | None = None,
        trust_fingerprints: bool | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Connection:
        """`POST /v1/connections`. Not retried after an unclear failure: re-read, then decide.

        For database sources `config["schema_prefix"]` names the connection (its `schema`).
        """
        _check_frequency(sync_frequency)
        body = body_of(
            extra,
            group_id=group_id,
            service=service,
            config=config,
            paused=paused,
            sync_frequency=sync_frequency,
            daily_sync_time=daily_sync_time,
            schedule_type=schedule_type,
            run_setup_tests=run_setup_tests,
            trust_certificates=trust_certificates,
            trust_fingerprints=trust_fingerprints,
        )
        data = self._http.data("POST", self._connections, body=body, versioned=True)
        return Connection.from_api(data)

    def list_connections(
        self, *, group_id: str | None = None, schema: str | None = None
    ) -> Iterator[Connection]:
        """`GET /v1/connections?group_id=&schema=`, every page."""
        items = self._http.paginate(
            self._connections, params={"group_id": group_id, "schema": schema}, versioned=True
        )
        return (Connection.from_api(item) for item in items)

    def get_connection(self, connection_id: str) -> Connection:
        """`GET /v1/connections/{connectionId}`: details and status (the sync poller's call)."""
        path = self._connection_path(connection_id)
        return Connection.from_api(self._http.data("GET", path, versioned=True))

    def update_connection(
        self,
        connection_id: str,
        *,
        config: Mapping[str, Any] | None = None,
        paused: bool | None = None,
        sync_frequency: int | None = None,
        daily_sync_time: str | None = None,
        schedule_type: ScheduleType | str | None = None,
        run_setup_tests: bool | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Connection:
        """`PATCH /v1/connections/{connectionId}`; only the given fields change."""
        _check_frequency(sync_frequency)
        body = body_of(
            extra,
            config=config,
            paused=paused,
            sync_frequency=sync_frequency,
            daily_sync_time=daily_sync_time,
            schedule_type=schedule_type,
            run_setup_tests=run_setup_tests,
        )
        if not body:
            raise ValueError("update_connection needs at least one field to change")
        path = self._connection_path(connection_id)
        return Connection.from_api(self._http.data("PATCH", path, body=body, versioned=True))

    def delete_connection(self, connection_id: str) -> None:
        """`DELETE /v1/connections/{connectionId}`."""
        self._http.request("DELETE", self._connection_path(connection_id), versioned=True)

    def test_connection(
        self,
        connection_id: str,
        *,
        trust_certificates: bool | None = None,
        trust_fingerprints: bool | None = None,
    ) -> Connection:
        """`POST /v1/connections/{connectionId}/test`: setup tests; results on the record."""
        body = body_of(
            None, trust_certificates=trust_certificates, trust_fingerprints=trust_fingerprints
        )
        path = self._connection_path(connection_id, "test")
        return Connection.from_api(self._http.data("POST", path, body=body, versioned=True))

    def sync_connection(self, connection_id: str, *, force: bool = False) -> None:
        """`POST /v1/connections/{connectionId}/sync`; `force` restarts a running sync."""
        path = self._connection_path(connection_id, "sync")
        self._http.request("POST", path, body={"force": force}, versioned=True)

    def resync_connection(
        self, connection_id: str, *, scope: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        """`POST /v1/connections/{connectionId}/resync`: historical re-sync.

        `scope` maps schema names to table names; None re-syncs everything. 409 while a sync
        that blocks it is running.
        """
        body: dict[str, Any] = {}
        if scope is not None:
            if not scope or not all(scope.values()):
                raise ValueError("resync scope must name at least one table per schema")
            body["scope"] = {schema: list(tables) for schema, tables in scope.items()}
        path = self._connection_path(connection_id, "resync")
        self._http.request("POST", path, body=body, versioned=True)

    def resync_tables(self, connection_id: str, tables: Mapping[str, Sequence[str]]) -> None:
        """`POST /v1/connections/{connectionId}/schemas/tables/resync` with `{schema: [table]}`."""
        if not tables or not all(tables.values()):
            raise ValueError("resync_tables needs at least one table per schema")
        body = {schema: list(names) for schema, names in tables.items()}
        path = self._connection_path(connection_id, "schemas", "tables", "resync")
        self._http.request("POST", path, body=body)
