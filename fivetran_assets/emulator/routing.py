"""Path matching as Fivetran does it, on top of Starlette's router.

Two habits of outside clients need care:
- a literal path segment is never an id: with ``/v1/transformations/package-metadata`` and
  ``/v1/transformations/{transformation_id}`` both served, ``DELETE
  /v1/transformations/package-metadata`` must not reach the transformation route (and answer
  "Transformation with id 'package-metadata' doesn't exist"). Each parameter of a route
  refuses the literal segments other routes of the same shape have in its place, so such a
  request is 405 (a known path, another method) or 404 "no such endpoint";
- a trailing slash (``/v1/groups/``, the Airflow provider's habit) is the same path, served
  directly with no 307 redirect, for every method.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.routing import BaseRoute, Match, Route


class ApiRoute(Route):
    """A `Route` whose path parameters refuse the literal segments listed in ``reserved``."""

    def __init__(
        self, path: str, endpoint: Any, *, reserved: dict[str, frozenset[str]], **kw: Any
    ) -> None:
        super().__init__(path, endpoint, **kw)
        self.reserved = reserved

    def matches(self, scope: Any) -> tuple[Match, dict[str, Any]]:
        match, child = super().matches(scope)
        if match is not Match.NONE:
            params = child.get("path_params", {})
            if any(params.get(name) in words for name, words in self.reserved.items()):
                return Match.NONE, {}
        return match, child


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _reserved(path: str, templates: Iterable[str]) -> dict[str, frozenset[str]]:
    """For each parameter of ``path``: the literals other same-shaped templates put there."""
    mine = path.split("/")
    out: dict[str, set[str]] = {}
    for other in templates:
        theirs = other.split("/")
        if len(theirs) != len(mine):
            continue
        for i, segment in enumerate(mine):
            if not _is_param(segment) or _is_param(theirs[i]):
                continue
            prefix_fits = all(
                a == b or _is_param(a) or _is_param(b)
                for a, b in zip(mine[:i], theirs[:i], strict=True)
            )
            if prefix_fits:
                out.setdefault(segment[1:-1].split(":")[0], set()).add(theirs[i])
    return {name: frozenset(words) for name, words in out.items()}


def api_routes(routes: list[BaseRoute]) -> list[BaseRoute]:
    """``routes`` with every plain `Route` turned into an `ApiRoute` that knows its literals."""
    templates = {r.path for r in routes if isinstance(r, Route)}
    out: list[BaseRoute] = []
    for route in routes:
        if type(route) is not Route:
            out.append(route)
            continue
        methods = sorted(route.methods - {"HEAD"}) if route.methods else None
        out.append(
            ApiRoute(
                route.path,
                route.endpoint,
                methods=methods,
                name=route.name,
                reserved=_reserved(route.path, templates),
            )
        )
    return out


class TrailingSlashMiddleware:
    """Serve ``/v1/groups/`` as ``/v1/groups`` (no redirect), whatever the method."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = scope.get("path", "")
            if len(path) > 1 and path.endswith("/"):
                scope = dict(scope)
                scope["path"] = path.rstrip("/") or "/"
                raw = scope.get("raw_path")
                if isinstance(raw, bytes | bytearray):
                    scope["raw_path"] = bytes(raw).rstrip(b"/") or b"/"
        await self.app(scope, receive, send)
