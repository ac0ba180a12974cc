"""Hostile requests against every route of the local Fivetran: each gets a clear 4xx, none a 5xx
or a traceback, and nothing invalid reaches the state file.

The routes are read from the running app, so routes added later are covered without editing
this test. Bodies break the input policy (nesting, lone surrogates, NaN/Infinity, numbers out of
range, invalid UTF-8, wrong Content-Type, truncated JSON, oversize); other cases attack query
parameters, path ids and authentication.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from pathlib import Path

import pytest
import requests
from starlette.routing import Route

from fivetran_assets.emulator.inputs import MAX_BODY
from fivetran_assets.emulator.server import EmulatorServer
from fivetran_assets.json_policy import InputError, check_value
from fivetran_assets_tests.emulator.support import Api, make_connection, make_estate, make_source

DEEP = 5000
BODIES: list[tuple[str, bytes, str | None, str | None]] = [
    # (label, raw body, Content-Type, what the message must name)
    ("nested 5000 deep", b'{"name":' + b"[" * DEEP + b"]" * DEEP + b"}", None, "nested"),
    ("nested 65 deep", b'{"config":' + b"[" * 64 + b"]" * 64 + b"}", None, "nested"),
    ("lone surrogate", b'{"name":"\\ud800x"}', None, "'name'"),
    ("lone surrogate, nested", b'{"config":{"schema_prefix":"a\\udfff"}}', None, "schema_prefix"),
    ("lone surrogate in a key", b'{"config":{"\\ud834":1}}', None, "config"),
    ("NaN", b'{"sync_frequency":NaN}', None, "NaN"),
    ("Infinity", b'{"duration_seconds":-Infinity}', None, "Infinity"),
    ("1e999", b'{"min_sync_seconds":1e999}', None, "1e999"),
    ("integer beyond 64 bits", b'{"sync_frequency":' + b"9" * 30 + b"}", None, "64 bits"),
    ("5000-digit integer", b'{"sync_frequency":' + b"9" * 5000 + b"}", None, "digits"),
    ("invalid UTF-8", b'{"name":"\xff\xfe"}', None, "UTF-8"),
    ("truncated JSON", b'{"name":', None, "not valid JSON"),
    ("text/plain", b'{"name":"x"}', "text/plain", "Content-Type"),
]


@pytest.fixture
def server(unlimited_emulator: EmulatorServer) -> EmulatorServer:
    return unlimited_emulator


def _body_routes(server: EmulatorServer) -> list[tuple[str, str]]:
    out = []
    for route in server.app.routes:
        if isinstance(route, Route):
            for method in sorted((route.methods or set()) - {"GET", "HEAD"}):
                out.append((method, route.path))
    return out


def _fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{([^}:]+)(?::[^}]+)?\}", lambda m: ids.get(m.group(1), "x"), path)


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def _persisted_invalid(state: Path) -> int:
    """Rows of the state file that are not valid UTF-8 JSON under the input policy."""
    bad = 0
    with sqlite3.connect(state) as db:
        for (raw,) in db.execute("SELECT CAST(body AS BLOB) FROM objects"):
            try:
                check_value(json.loads(raw.decode("utf-8")))
            except (UnicodeDecodeError, ValueError, InputError):
                bad += 1
    return bad


def test_hostile_requests_get_clear_4xx_and_persist_nothing(
    server: EmulatorServer, tmp_path: Path, caplog, make_tally
) -> None:
    caplog.set_level(logging.WARNING)
    api = Api(server.base_url, server.auth)
    group = make_estate(api, tmp_path)
    conn = make_connection(api, group, make_source(tmp_path / "src.db"), "hostile")
    hook = api.post(
        f"/v1/webhooks/group/{group}",
        {"url": "https://example.com/h", "events": ["sync_end"], "secret": "s", "active": False},
        expect=200,
    )["data"]
    ids = {
        "group_id": group,
        "destination_id": group,
        "connection_id": conn["id"],
        "connector_id": conn["id"],
        "webhook_id": hook["id"],
        "schema": "main",
        "table": "users",
        "column": "name",
    }
    tally = make_tally("local Fivetran")
    http = requests.Session()
    http.auth = server.auth
    url = server.base_url
    routes = _body_routes(server)
    assert len(routes) >= 30, routes

    for method, template in routes:
        path = _fill(template, ids)
        for label, raw, content_type, names in BODIES:
            headers = {"Content-Type": content_type or "application/json"}
            answer = http.request(method, url + path, data=raw, headers=headers, timeout=30)
            tally.record(
                f"{method} {path} {label}", answer.status_code, _message(answer), names=names
            )
    for method, template in routes[:3]:
        huge = b'{"name":"' + b"x" * (MAX_BODY + 1) + b'"}'
        answer = http.request(method, url + _fill(template, ids), data=huge, timeout=60)
        tally.record(
            f"{method} {template} oversize", answer.status_code, _message(answer), names="limit"
        )

    queries = [
        ("/v1/groups", {"limit": "0"}, "limit"),
        ("/v1/groups", {"limit": "-1"}, "limit"),
        ("/v1/groups", {"limit": "9" * 40}, "limit"),
        ("/v1/connections", {"limit": "ten"}, "limit"),
        ("/v1/connections", {"cursor": "%%%"}, "cursor"),
        ("/v1/groups", {"cursor": "c2VxOjFlOTk5"}, "cursor"),  # "seq:1e999"
        (
            f"/v1/groups/{group}/connections",
            {"cursor": "\udc80".encode("utf-8", "surrogatepass")},
            "cursor",
        ),
    ]
    for path, params, names in queries:
        answer = http.get(url + path, params=params, timeout=30)
        tally.record(
            f"GET {path} {params!r:.40}", answer.status_code, _message(answer), names=names
        )
    for path in ("/v1/groups/%ED%A0%80", "/v1/connections/" + "a" * 5000, "/v1/groups/..%2F..%2F"):
        answer = http.get(url + path, timeout=30)
        tally.record(f"GET {path[:40]}", answer.status_code, _message(answer))
    for auth in ((server.api_key, "wrong"), None):
        for path in ("/v1/groups", "/_local/reset", "/_local/faults", "/_local/requests"):
            method = "POST" if path == "/_local/reset" else "GET"
            answer = requests.request(method, url + path, auth=auth, timeout=30)
            tally.record(f"{method} {path} auth={auth}", answer.status_code, _message(answer))
    for header in ("Basic !!!notbase64", "Bearer abc", "Basic", "basic " + "A" * 10_000):
        answer = requests.get(url + "/v1/groups", headers={"Authorization": header}, timeout=30)
        tally.record(f"Authorization {header[:20]}", answer.status_code, _message(answer))

    # Afterwards every list still answers, and the state file holds only valid data.
    for path in ("/v1/groups", "/v1/destinations", "/v1/connections", "/v1/webhooks"):
        assert http.get(url + path, timeout=30).status_code == 200, path
    assert http.get(url + "/v1/groups", timeout=30).json()["data"]["items"][0]["name"] == "g"
    tally.persisted_invalid = _persisted_invalid(server.settings.state_dir / "state.sqlite")
    tally.count_logged_tracebacks(caplog.records)
    tally.assert_clean()


def test_state_with_invalid_text_from_before_is_repaired_on_start(tmp_path: Path) -> None:
    """A group stored with a lone surrogate (as the first wave allowed) no longer breaks GETs."""
    state = tmp_path / "emulator"
    with EmulatorServer(state_dir=state, api_key="k", api_secret="s") as server:
        api = Api(server.base_url, server.auth)
        group = api.post("/v1/groups", {"name": "fine"}, expect=201)["data"]
    legacy = json.dumps({**group, "name": "bad\ud800name"})  # escaped, as json.dumps wrote it
    with sqlite3.connect(state / "state.sqlite") as db:
        db.execute("UPDATE objects SET body = ? WHERE id = ?", (legacy, group["id"]))
    with EmulatorServer(state_dir=state, api_key="k", api_secret="s") as server:
        api = Api(server.base_url, server.auth)
        (item,) = api.get("/v1/groups", expect=200)["data"]["items"]
        assert item["name"] == "bad\ufffdname"
        assert api.get(f"/v1/groups/{group['id']}", expect=200)["data"]["name"] == "bad\ufffdname"
    assert _persisted_invalid(state / "state.sqlite") == 0
