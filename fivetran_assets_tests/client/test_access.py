"""The client's access and governance methods against the local Fivetran, with pagination."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from fivetran_assets.fivetran import ConflictError, FivetranClient, NotFoundError
from fivetran_assets_tests.client.test_endpoints import client_for
from fivetran_assets_tests.emulator.test_governance import CERT_SHA256, CERTIFICATE, FINGERPRINT


@pytest.fixture
def client(emulator) -> Iterator[FivetranClient]:
    with client_for(emulator, page_size=2) as c:  # small pages: every listing paginates
        yield c


@pytest.fixture
def estate(client: FivetranClient, tmp_path: Path) -> tuple[str, str]:
    """A group with a DuckDB destination and one SQLite connection: (group id, connection id)."""
    source = tmp_path / "hr.db"
    db = sqlite3.connect(source)
    db.execute("CREATE TABLE staff (id INTEGER PRIMARY KEY, email TEXT, salary NUMERIC(10,2))")
    db.commit()
    db.close()
    group = client.create_group("hr")
    client.create_destination(
        group.id, "duckdb", time_zone_offset="0", config={"path": str(tmp_path / "w.duckdb")}
    )
    conn = client.create_connection(
        group.id, "sqlite", config={"database": str(source), "schema_prefix": "hr"}
    )
    return group.id, conn.id


def test_users_roles_and_teams(client: FivetranClient, estate: tuple[str, str]) -> None:
    group_id, conn_id = estate
    roles = {r.name: r.scope for r in client.list_roles()}
    assert roles["Destination Analyst"] == ("DESTINATION",) and len(roles) > 2
    emails = [f"u{i}@example.com" for i in range(3)]
    for email in emails:
        client.invite_user(email, given_name="U", family_name="Ser", role="Account Reviewer")
    with pytest.raises(ConflictError):
        client.invite_user(emails[0], given_name="U", family_name="Ser")
    users = {u.email: u for u in client.list_users()}
    assert set(emails) <= set(users) and users[emails[0]].invited
    first = users[emails[0]]
    assert client.update_user(first.id, phone="+1 555", role="Account Analyst").role == (
        "Account Analyst"
    )
    client.remove_user_role(first.id)
    assert client.get_user(first.id).role is None

    team = client.create_team("bi", description="Business intelligence", role="Account Reviewer")
    assert client.update_team(team.id, description="BI").description == "BI"
    client.add_team_user(team.id, first.id, "Team Member")
    client.update_team_user(team.id, first.id, "Team Manager")
    assert [(m.id, m.role) for m in client.list_team_users(team.id)] == [(first.id, "Team Manager")]
    for principal, pid in (("user", first.id), ("team", team.id)):
        client.add_membership(principal, pid, "group", group_id, "Destination Reviewer")
        client.update_membership(principal, pid, "group", group_id, "Destination Analyst")
        client.add_membership(principal, pid, "connection", conn_id, "Connector Reviewer")
        assert [(m.id, m.role) for m in client.list_memberships(principal, pid, "group")] == [
            (group_id, "Destination Analyst")
        ]
        client.delete_membership(principal, pid, "connection", conn_id)
        assert list(client.list_memberships(principal, pid, "connection")) == []
    client.remove_team_user(team.id, first.id)
    client.delete_team(team.id)
    assert all(t.id != team.id for t in client.list_teams())
    client.delete_user(first.id)
    with pytest.raises(NotFoundError):
        client.get_user(first.id)


def test_log_services_certificates_and_metadata(
    client: FivetranClient, estate: tuple[str, str]
) -> None:
    group_id, conn_id = estate
    created = client.create_log_service(
        group_id, "datadog_log", config={"api_key": "secret-1"}, run_setup_tests=True
    )
    assert created.id == group_id and created.config["api_key"] == "******"
    assert created.setup_tests[0].passed
    assert client.update_log_service(group_id, enabled=False).enabled is False
    assert [s.id for s in client.list_log_services()] == [group_id]
    client.delete_log_service(group_id)
    assert list(client.list_log_services()) == []

    for owner, oid in (("connection", conn_id), ("destination", group_id)):
        cert = client.approve_certificate(owner, oid, "c1", CERTIFICATE)
        assert cert.sha256 == CERT_SHA256 and cert.name == "db.sales.example.com"
        client.approve_fingerprint(owner, oid, FINGERPRINT["hash"], FINGERPRINT["public_key"])
        assert [c.hash for c in client.list_approved(owner, oid, "fingerprint")] == [
            FINGERPRINT["hash"]
        ]
        client.revoke_approved(owner, oid, "fingerprint", FINGERPRINT["hash"])
        client.revoke_approved(owner, oid, "certificate", "c1")
        assert list(client.list_approved(owner, oid, "certificate")) == []

    columns = {c.name_in_source: c for c in client.list_column_metadata(conn_id)}
    assert set(columns) == {"id", "email", "salary"}
    salary = columns["salary"]
    assert (salary.schema, salary.table, salary.name_in_destination) == ("main", "staff", "salary")
    assert (salary.type_in_source, salary.type_in_destination) == (
        "NUMERIC(10,2)",
        "DECIMAL(10,2)",
    )
