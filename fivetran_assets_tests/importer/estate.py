"""An estate made "by hand" in the local Fivetran: raw REST calls, as a script or a person would.

Nothing here uses this project's client or reconciler, so an import test checks the importer
against an account the project never touched. The calls are the seed's (`requests` with basic
auth); the only courtesy is waiting out a 429 as Fivetran's `Retry-After` asks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import requests

from fivetran_assets.emulator.dataplane.seed import create_department
from fivetran_assets_tests.emulator.test_governance import CERTIFICATE
from fivetran_assets_tests.fixtures.postgres import PostgresServer

REPO = Path(__file__).resolve().parents[2]
# Selection one: like the demo's (payroll off, email hashed, ssn blocked, new columns only).
SELECTION_ONE = {
    "schema_change_handling": "ALLOW_COLUMNS",
    "schemas": {
        "main": {
            "tables": {
                "payroll": {"enabled": False},
                "employees": {"columns": {"email": {"hashed": True}, "ssn": {"enabled": False}}},
            }
        }
    },
}
# Selection two: everything new allowed, tickets and audit log off, expenses in history mode.
SELECTION_TWO = {
    "schema_change_handling": "ALLOW_ALL",
    "schemas": {
        "main": {
            "tables": {
                "tickets": {"enabled": False},
                "audit_log": {"enabled": False},
                "expenses": {"sync_mode": "HISTORY"},
            }
        }
    },
}
LEDGER = """
CREATE TABLE entries (id integer PRIMARY KEY, account text, amount numeric(12,2), memo text);
INSERT INTO entries SELECT i, 'acct ' || (i % 7), i * 1.25, 'memo ' || i
FROM generate_series(1, 30) AS i;
"""


class Raw:
    """`requests` against the local Fivetran with basic auth; 429s are waited out."""

    def __init__(self, base_url: str, auth: tuple[str, str]) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.auth = auth

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        for _ in range(50):
            answer = self.session.request(method, self.base_url + path, json=body, timeout=30)
            if answer.status_code != 429:
                break
            time.sleep(float(answer.headers.get("Retry-After", "1")))  # real seconds
        assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json().get("data")


@dataclass
class HandMade:
    """What was made: group ids by name and connection ids by (group, name)."""

    groups: dict[str, str] = field(default_factory=dict)
    connections: dict[tuple[str, str], str] = field(default_factory=dict)
    webhook_secret: str = "hand-made-secret"


def _connection(raw: Raw, made: HandMade, group: str, service: str, name: str, **extra: Any) -> str:
    config = {**extra.pop("config"), "schema_prefix": name}
    body = {"group_id": made.groups[group], "service": service, "config": config, **extra}
    connection = raw.call("POST", "/v1/connections", body)
    made.connections[(group, name)] = connection["id"]
    return connection["id"]


def _select(raw: Raw, connection_id: str, selection: dict[str, Any]) -> None:
    raw.call("POST", f"/v1/connections/{connection_id}/schemas/reload", {})
    raw.call("PATCH", f"/v1/connections/{connection_id}/schemas", selection)


def build(
    raw: Raw,
    tmp: Path,
    postgres: PostgresServer,
    *,
    webhook_url: str,
    shops: int = 20,
    offices: int = 15,
) -> HandMade:
    """Three groups: `retail` (shops, one webhook, a transformation), `people` (offices, another
    selection, Dagster-scheduled), `finance` (SQLite ledgers and two PostgreSQL sources, into a
    PostgreSQL warehouse, with a log service); users, a team and their roles."""
    made = HandMade()
    sources = tmp / "sources"
    sources.mkdir(parents=True, exist_ok=True)
    for name in ("retail", "people", "finance"):
        made.groups[name] = raw.call("POST", "/v1/groups", {"name": name})["id"]
    for name in ("retail", "people"):
        path = tmp / f"{name}.duckdb"
        raw.call(
            "POST",
            "/v1/destinations",
            {
                "group_id": made.groups[name],
                "service": "duckdb",
                "time_zone_offset": "+1" if name == "people" else "0",
                "region": "AWS_EU_WEST_1",
                "config": {"path": str(path)},
            },
        )
    postgres.create_database("finance_wh")
    raw.call(
        "POST",
        "/v1/destinations",
        {
            "group_id": made.groups["finance"],
            "service": "postgres_warehouse",
            "time_zone_offset": "-5",
            "config": postgres.config("finance_wh"),
        },
    )
    for index in range(1, shops + 1):
        name = f"shop_{index:02d}"
        create_department(sources / f"{name}.sqlite", name, rows=3, seed=index)
        extra: dict[str, Any] = {"sync_frequency": 60, "schedule_type": "auto"}
        if index in (4, 9):
            extra.update(sync_frequency=1440, daily_sync_time="03:00")
        if index == 7:
            extra["paused"] = True
        cid = _connection(
            raw,
            made,
            "retail",
            "sqlite",
            name,
            config={"database": str(sources / f"{name}.sqlite")},
            **extra,
        )
        _select(raw, cid, SELECTION_ONE)
    for index in range(1, offices + 1):
        name = f"office_{index:02d}"
        database = sources / f"hr_site{index * 3}.sqlite"  # not derived from the name
        create_department(database, name, rows=3, seed=100 + index)
        cid = _connection(
            raw,
            made,
            "people",
            "sqlite",
            name,
            config={"database": str(database)},
            sync_frequency=360,
            schedule_type="manual",
        )
        _select(raw, cid, SELECTION_TWO)
    for name in ("ledger_a", "ledger_b", "ledger_c"):
        create_department(sources / f"{name}.sqlite", name, rows=3, seed=7)
        cid = _connection(
            raw,
            made,
            "finance",
            "sqlite",
            name,
            config={"database": str(sources / f"{name}.sqlite")},
            sync_frequency=720,
        )
        _select(raw, cid, SELECTION_ONE)
    for name in ("books_eu", "books_us"):
        with psycopg.connect(postgres.create_database(name), autocommit=True) as conn:
            conn.execute(LEDGER)
        cid = _connection(
            raw,
            made,
            "finance",
            "postgres",
            name,
            config={**postgres.config(name), "password": f"pw-{name}"},
            sync_frequency=720,
        )
        hashed = {"entries": {"columns": {"memo": {"hashed": True}}}}
        _select(raw, cid, {"schemas": {"public": {"tables": hashed}}})
    raw.call(
        "POST",
        f"/v1/webhooks/group/{made.groups['retail']}",
        {
            "url": webhook_url,
            "events": ["sync_end", "transformation_run_succeeded"],
            "secret": made.webhook_secret,
            "active": True,
        },
    )
    project = raw.call(
        "POST",
        "/v1/transformation-projects",
        {
            "group_id": made.groups["retail"],
            "type": "DBT_CORE",
            "project_config": {
                "git_remote_url": str(REPO / "config" / "dbt"),
                "default_schema": "reporting",
                "threads": 2,
                "environment_vars": ["DBT_TARGET_TIER=gold", "DBT_API_TOKEN=t0ken"],
            },
        },
    )
    follows = [made.connections[("retail", n)] for n in ("shop_01", "shop_02", "shop_03")]
    raw.call(
        "POST",
        "/v1/transformations",
        {
            "type": "DBT_CORE",
            "paused": False,
            "schedule": {"schedule_type": "INTEGRATED", "connection_ids": follows},
            "transformation_config": {
                "project_id": project["id"],
                "name": "shop_rollup",
                "steps": [{"name": "models", "command": "dbt run --select staging"}],
            },
        },
    )
    _access(raw, made)
    return made


def _access(raw: Raw, made: HandMade) -> None:
    """Two users, a team, members of a group and a connection, a log service, approvals."""
    users = {
        email: raw.call(
            "POST",
            "/v1/users",
            {"email": email, "given_name": given, "family_name": "Example", "role": role},
        )["id"]
        for email, given, role in (
            ("ana@corp.example", "Ana", "Account Reviewer"),
            ("raj@corp.example", "Raj", "Account Analyst"),
        )
    }
    team = raw.call("POST", "/v1/teams", {"name": "analysts", "description": "Reads it all"})["id"]
    raw.call("POST", f"/v1/teams/{team}/users", {"user_id": users["raj@corp.example"]})
    ana = users["ana@corp.example"]
    raw.call(
        "POST",
        f"/v1/users/{ana}/groups",
        {"id": made.groups["retail"], "role": "Destination Analyst"},
    )
    raw.call(
        "POST",
        f"/v1/teams/{team}/groups",
        {"id": made.groups["finance"], "role": "Destination Reviewer"},
    )
    shop = made.connections[("retail", "shop_01")]
    raw.call("POST", f"/v1/users/{ana}/connections", {"id": shop, "role": "Connector Collaborator"})
    raw.call(
        "POST",
        "/v1/external-logging",
        {
            "group_id": made.groups["finance"],
            "service": "datadog_log",
            "enabled": True,
            "config": {"api_key": "dd-hand-made-key", "region": "EU"},
        },
    )
    books = made.connections[("finance", "books_eu")]
    raw.call(
        "POST", f"/v1/connections/{books}/certificates", {"hash": "c1", "encoded_cert": CERTIFICATE}
    )
    raw.call(
        "POST",
        f"/v1/destinations/{made.groups['finance']}/fingerprints",
        {
            "hash": "SHA256:finance-bastion",
            "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey",
        },
    )
