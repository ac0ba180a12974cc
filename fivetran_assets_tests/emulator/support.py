"""Plain-HTTP helpers for the local Fivetran's tests: a checked API session and an estate.

Every answer that passes through `Api` is validated against Fivetran's OpenAPI definition, so
each test also checks the wire format of everything it touches.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from fivetran_assets_tests.emulator.openapi import validate


class Api:
    def __init__(self, base_url: str, auth: tuple[str, str]) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.auth = auth

    def call(self, method: str, path: str, *, expect: int | None = None, **kwargs: Any) -> Any:
        """Send, validate against the definition, check the status; returns the JSON body."""
        response = self.session.request(method, self.base_url + path, timeout=30, **kwargs)
        body = response.json()
        validate(method, path, response.status_code, body)
        if expect is not None:
            assert response.status_code == expect, (response.status_code, body)
        self.last = response
        return body

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.call("POST", path, json=json if json is not None else {}, **kw)

    def patch(self, path: str, json: Any, **kw: Any) -> Any:
        return self.call("PATCH", path, json=json, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.call("DELETE", path, **kw)


def make_source(path: Path, *, rows: int = 3) -> Path:
    """A SQLite source with a table `users` (primary key `id`) and a keyless table `events`."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT)")
    db.execute("CREATE TABLE events (kind TEXT, at TEXT)")
    db.executemany(
        "INSERT INTO users VALUES (?, ?, ?)", [(i, f"u{i}", f"u{i}@x.io") for i in range(rows)]
    )
    db.commit()
    db.close()
    return path


def make_estate(api: Api, tmp: Path, *, name: str = "g") -> str:
    """A group with a DuckDB destination; returns the group id."""
    group_id = api.post("/v1/groups", {"name": name}, expect=201)["data"]["id"]
    api.post(
        "/v1/destinations",
        {
            "group_id": group_id,
            "service": "duckdb",
            "time_zone_offset": "0",
            "config": {"path": str(tmp / f"{name}.duckdb")},
        },
        expect=201,
    )
    return group_id


def make_connection(
    api: Api, group_id: str, source: Path, schema: str, *, family: str = "connections", **extra: Any
) -> dict[str, Any]:
    body = {
        "group_id": group_id,
        "service": "sqlite",
        "config": {"database": str(source), "schema_prefix": schema},
        **extra,
    }
    return api.post(f"/v1/{family}", body, expect=201)["data"]


def wait_for(predicate: Callable[[], Any], *, timeout: float = 15.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def wait_sync_end(api: Api, conn_id: str, before: str = "") -> dict[str, Any]:
    """Wait until max(succeeded_at, failed_at) moves past ``before``; returns the connection."""

    def ended() -> dict[str, Any] | None:
        data = api.get(f"/v1/connections/{conn_id}", expect=200)["data"]
        latest = max(data["succeeded_at"] or "", data["failed_at"] or "")
        if latest > before and data["status"]["sync_state"] != "syncing":
            return data
        return None

    return wait_for(ended, what=f"sync end of {conn_id}")
