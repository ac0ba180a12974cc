"""The legacy metadata API: `GET /v1/metadata/connectors/{id}/{schemas|tables|columns}`.

What the Airflow provider's OpenLineage support reads: every schema, table and column of the
connection's source, with its name at the source and in the destination, and each column's type
at both ends. Blocked tables are listed too: the provider looks up every table of `GET .../schemas`
here and fails on one it cannot find. Built from the connection's captured schema config, so it
touches no source; 404 ``NotFound_SchemaConfig`` until the schema was captured. Ids are opaque
and stable; a table's ``parent_id`` is its schema's id, a column's is its table's.
"""

from __future__ import annotations

import base64
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fivetran_assets.emulator.http import not_found, paginate_list
from fivetran_assets.emulator.routes_groups import emu_of
from fivetran_assets.emulator.schemas import no_config, stored


def _id(connection_id: str, *names: str) -> str:
    path = "\x1f".join((connection_id, *names))
    return base64.urlsafe_b64encode(path.encode()).decode().rstrip("=")


def metadata(emu: Any, connection_id: str) -> dict[str, list[dict[str, Any]]]:
    """The connection's schemas, tables and columns as metadata items."""
    conn = emu.store.get("connection", connection_id)
    if conn is None:
        raise not_found("Connector", connection_id)
    config = stored(emu, connection_id)
    if config is None:
        raise no_config(connection_id)
    destination = emu.store.get("destination", conn["group_id"]) or {}
    dest_service = destination.get("service", "")
    out: dict[str, list[dict[str, Any]]] = {"schemas": [], "tables": [], "columns": []}
    for sname, schema in config.get("schemas", {}).items():
        schema_id = _id(connection_id, sname)
        out["schemas"].append(
            {
                "id": schema_id,
                "name_in_source": sname,
                "name_in_destination": schema.get("name_in_destination", sname.lower()),
            }
        )
        for tname, table in schema.get("tables", {}).items():
            table_id = _id(connection_id, sname, tname)
            out["tables"].append(
                {
                    "id": table_id,
                    "parent_id": schema_id,
                    "name_in_source": tname,
                    "name_in_destination": table.get("name_in_destination", tname.lower()),
                }
            )
            for cname, column in table.get("columns", {}).items():
                source_type = column.get("type_in_source")
                source_type_for_destination = "TEXT" if column.get("hashed") else source_type
                out["columns"].append(
                    {
                        "id": _id(connection_id, sname, tname, cname),
                        "parent_id": table_id,
                        "name_in_source": cname,
                        "name_in_destination": column.get("name_in_destination", cname.lower()),
                        "type_in_source": source_type,
                        "type_in_destination": emu.dataplane.destination_type(
                            dest_service, source_type_for_destination
                        ),
                        "is_primary_key": bool(column.get("is_primary_key", False)),
                        "is_foreign_key": False,
                    }
                )
    return out


def _route(kind: str) -> Any:
    async def handler(request: Request) -> Response:
        items = metadata(emu_of(request), request.path_params["connection_id"])[kind]
        return paginate_list(request, items, f"Connector {kind} metadata retrieved")

    return handler


ROUTES = [
    Route(f"/v1/metadata/connectors/{{connection_id}}/{kind}", _route(kind), methods=["GET"])
    for kind in ("schemas", "tables", "columns")
]
