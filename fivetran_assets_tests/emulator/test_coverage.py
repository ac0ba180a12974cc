"""Which operations of Fivetran's OpenAPI definition the local Fivetran serves.

Every operation is probed with placeholder ids: an operation is served when the answer is not
the router's own 404 "No such endpoint" or 405. Each answer is validated against the definition
on the way (`Api`). The operations not served are listed here by tag, with why, and the figure
is the one the README states.
"""

from __future__ import annotations

import re
from pathlib import Path

from fivetran_assets_tests.emulator.openapi import _raw
from fivetran_assets_tests.emulator.support import Api

README = Path(__file__).resolve().parents[2] / "README.md"
METHODS = ("get", "post", "patch", "put", "delete")
# Areas of the definition the local Fivetran does not model (no hybrid agents, proxies, private
# links, external secrets managers, HVR, system keys or Connector SDK packages run here), and the
# public connector list, whose definition gives a single type where the service lists them.
NOT_SERVED_PREFIXES = (
    "/v1/connector-sdk/",
    "/v1/external-secrets-managers",
    "/v1/hvr/",
    "/v1/hybrid-deployment-agents",
    "/v1/private-links",
    "/v1/proxy",
    "/v1/system-keys",
    "/public/",
)


def operations() -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in _raw()["paths"].items()
        for method in METHODS
        if method in item
    ]


def is_served(api: Api, method: str, template: str) -> bool:
    path = re.sub(r"\{[^}]+\}", "probe_id", template)
    body = api.call(method, path, json={} if method in ("POST", "PATCH") else None)
    unknown = api.last.status_code == 404 and body.get("code") == "NotFound"
    return not unknown and api.last.status_code != 405


def test_served_operations(api: Api) -> None:
    ops = operations()
    served = {(m, p) for m, p in ops if is_served(api, m, p)}
    missing = sorted(
        (m, p) for m, p in ops if (m, p) not in served and not p.startswith(NOT_SERVED_PREFIXES)
    )
    assert missing == [], f"operations that should be served: {missing}"
    unexpected = sorted((m, p) for m, p in served if p.startswith(NOT_SERVED_PREFIXES))
    assert unexpected == [], f"served, but listed as not served: {unexpected}"
    figure = f"{len(served)}/{len(ops)}"
    assert len(served) >= 130, figure
    assert f"**{figure}**" in README.read_text(), f"the README must state {figure}"
