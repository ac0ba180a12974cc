"""External logging, approved certificates and fingerprints, and the legacy metadata API.

Certificates and fingerprints belong to a connection or a destination (`owner`); one set of
methods serves both. The metadata API (`/v1/metadata/connectors/{id}/...`) is what the Airflow
provider reads for lineage: the source and destination names and types of each synced column.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

from fivetran_assets.fivetran.access import Certificate, ColumnMetadata, LogService
from fivetran_assets.fivetran.parsing import flag, opt_str, req_str
from fivetran_assets.fivetran.resources.base import ResourceBase, body_of, seg

Owner = Literal["connection", "destination"]
Approval = Literal["certificate", "fingerprint"]


class GovernanceMixin(ResourceBase):
    # -------------------------------------------------------------------- external logging

    def list_log_services(self) -> Iterator[LogService]:
        """`GET /v1/external-logging`, every page (group and account log services)."""
        items = self._http.paginate("/v1/external-logging")
        return (LogService.from_api(item) for item in items)

    def get_log_service(self, log_id: str) -> LogService:
        """`GET /v1/external-logging/{logId}`: with its (masked) config."""
        path = f"/v1/external-logging/{seg(log_id)}"
        return LogService.from_api(self._http.data("GET", path))

    def create_log_service(
        self,
        group_id: str,
        service: str,
        *,
        config: Mapping[str, Any],
        enabled: bool = True,
        run_setup_tests: bool | None = None,
    ) -> LogService:
        """`POST /v1/external-logging`: the group's log service (its id is the group id)."""
        body = body_of(
            None,
            group_id=group_id,
            service=service,
            config=dict(config),
            enabled=enabled,
            run_setup_tests=run_setup_tests,
        )
        return LogService.from_api(self._http.data("POST", "/v1/external-logging", body=body))

    def update_log_service(
        self,
        log_id: str,
        *,
        config: Mapping[str, Any] | None = None,
        enabled: bool | None = None,
        run_setup_tests: bool | None = None,
    ) -> LogService:
        """`PATCH /v1/external-logging/{logId}`; only the given fields change."""
        body = body_of(
            None,
            config=dict(config) if config is not None else None,
            enabled=enabled,
            run_setup_tests=run_setup_tests,
        )
        path = f"/v1/external-logging/{seg(log_id)}"
        return LogService.from_api(self._http.data("PATCH", path, body=body))

    def delete_log_service(self, log_id: str) -> None:
        """`DELETE /v1/external-logging/{logId}`."""
        self._http.request("DELETE", f"/v1/external-logging/{seg(log_id)}")

    # ----------------------------------------------------- certificates and fingerprints

    @staticmethod
    def _approval_path(owner: Owner, owner_id: str, kind: Approval) -> str:
        return f"/v1/{owner}s/{seg(owner_id)}/{kind}s"

    def list_approved(self, owner: Owner, owner_id: str, kind: Approval) -> Iterator[Certificate]:
        """`GET /v1/{connections|destinations}/{id}/{certificates|fingerprints}`, every page."""
        items = self._http.paginate(self._approval_path(owner, owner_id, kind))
        return (Certificate.from_api(item) for item in items)

    def approve_certificate(
        self, owner: Owner, owner_id: str, hash: str, encoded_cert: str
    ) -> Certificate:
        """`POST /v1/{connections|destinations}/{id}/certificates {hash, encoded_cert}`."""
        path = self._approval_path(owner, owner_id, "certificate")
        body = {"hash": hash, "encoded_cert": encoded_cert}
        return Certificate.from_api(self._http.data("POST", path, body=body))

    def approve_fingerprint(
        self, owner: Owner, owner_id: str, hash: str, public_key: str
    ) -> Certificate:
        """`POST /v1/{connections|destinations}/{id}/fingerprints {hash, public_key}`."""
        path = self._approval_path(owner, owner_id, "fingerprint")
        body = {"hash": hash, "public_key": public_key}
        return Certificate.from_api(self._http.data("POST", path, body=body))

    def revoke_approved(self, owner: Owner, owner_id: str, kind: Approval, hash: str) -> None:
        """`DELETE /v1/{connections|destinations}/{id}/{certificates|fingerprints}/{hash}`."""
        self._http.request("DELETE", f"{self._approval_path(owner, owner_id, kind)}/{seg(hash)}")

    # --------------------------------------------------------------------- metadata (legacy)

    def list_column_metadata(self, connection_id: str) -> list[ColumnMetadata]:
        """Every column of the source (blocked ones too) with its table's names: `GET
        /v1/metadata/connectors/{id}/tables` and `.../columns`, joined on `parent_id`."""
        base = f"/v1/metadata/connectors/{seg(connection_id)}"
        schemas = {
            req_str(s, "id", "SchemaMetadata"): req_str(s, "name_in_source", "SchemaMetadata")
            for s in self._http.paginate(f"{base}/schemas")
        }
        tables = {
            req_str(t, "id", "TableMetadata"): (
                schemas.get(opt_str(t, "parent_id", "TableMetadata") or "", ""),
                req_str(t, "name_in_source", "TableMetadata"),
            )
            for t in self._http.paginate(f"{base}/tables")
        }
        out = []
        for c in self._http.paginate(f"{base}/columns"):
            schema, table = tables.get(opt_str(c, "parent_id", "ColumnMetadata") or "", ("", ""))
            out.append(
                ColumnMetadata(
                    schema=schema,
                    table=table,
                    name_in_source=req_str(c, "name_in_source", "ColumnMetadata"),
                    name_in_destination=req_str(c, "name_in_destination", "ColumnMetadata"),
                    type_in_source=opt_str(c, "type_in_source", "ColumnMetadata"),
                    type_in_destination=opt_str(c, "type_in_destination", "ColumnMetadata"),
                    is_primary_key=flag(c, "is_primary_key", "ColumnMetadata"),
                )
            )
        return out
