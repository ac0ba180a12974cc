"""What every endpoint mixin relies on: the transport, path helpers, and body building."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fivetran_assets.fivetran.http import Transport


def seg(value: str) -> str:
    """One path segment, percent-encoded: source names may hold spaces, slashes or dots."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"path segment must be a non-empty string, got {value!r}")
    return quote(value, safe="")


def body_of(extra: Mapping[str, Any] | None, **fields: Any) -> dict[str, Any]:
    """A request body from the fields that were given (None means "leave unset"), plus `extra`.

    `extra` carries fields this client has no keyword for; explicit keywords win on conflict.
    """
    body = dict(extra or {})
    body.update({k: v for k, v in fields.items() if v is not None})
    return body


class ResourceBase:
    """Holds the transport and the connections path prefix (current or legacy)."""

    _http: Transport
    _connections: str
    """`/v1/connections`, or `/v1/connectors` with `legacy_paths=True`."""

    def _connection_path(self, connection_id: str, *rest: str) -> str:
        return "/".join((self._connections, seg(connection_id), *rest))

    @property
    def _group_connections_suffix(self) -> str:
        return self._connections.rsplit("/", 1)[-1]
