"""The receiver on a PostgreSQL event log: bad URLs refused at startup with the password
masked, a database lost while running answered 503 and recovered without a restart, and two
receivers sharing one log."""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest
from click.testing import CliRunner

from fivetran_assets.webhooks.cli import webhooks
from fivetran_assets.webhooks.loadgen import send_burst, sync_end_deliveries
from fivetran_assets.webhooks.server import ReceiverServer
from fivetran_assets.webhooks.signature import SIGNATURE_HEADER, sign
from fivetran_assets.webhooks.store import EventLog
from fivetran_assets_tests.fixtures.postgres import PostgresServer
from fivetran_assets_tests.webhooks.receiver_process import free_port, start_receiver

SECRET = "pg-receiver-secret"
PASSWORD_USER = "ft_password_user"
RIGHT_PASSWORD = "right-horse-battery"


def event(sync: str) -> bytes:
    return (
        '{"event":"sync_end","created":"2026-05-22T00:06:08.638Z","connector_id":"c1",'
        f'"sync_id":"{sync}","destination_group_id":"g","data":{{"status":"SUCCESSFUL"}}}}'
    ).encode()


def deliver(client: httpx.Client, url: str, raw: bytes) -> httpx.Response:
    return client.post(url, content=raw, headers={SIGNATURE_HEADER: sign(SECRET, raw)})


@pytest.fixture(scope="module")
def password_role(postgres_server: PostgresServer) -> str:
    """A role that must log in with a password (the test server trusts everyone else)."""
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as conn:
        hba = Path(conn.execute("SHOW hba_file").fetchone()[0])
        conn.execute(f"DROP ROLE IF EXISTS {PASSWORD_USER}")
        conn.execute(f"CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD '{RIGHT_PASSWORD}'")
        rule = f"host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256\n"
        if rule not in hba.read_text():
            hba.write_text(rule + hba.read_text())
        conn.execute("SELECT pg_reload_conf()")
    return PASSWORD_USER


def serve(db: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        webhooks, ["serve", "--port", str(free_port()), "--db", db],
        env={"FIVETRAN_WEBHOOK_SECRET": SECRET},
    )  # fmt: skip
    return result.exit_code, result.output


def test_a_wrong_password_is_refused_at_startup_with_the_password_masked(
    postgres_server: PostgresServer, password_role: str
) -> None:
    postgres_server.create_database("receiver_auth")
    wrong = (
        f"postgresql://{password_role}:wrong-pass-word@127.0.0.1:{postgres_server.port}"
        "/receiver_auth"
    )
    code, output = serve(wrong)
    assert code == 1, output
    assert f"postgresql://{password_role}:***@127.0.0.1:{postgres_server.port}" in output
    assert "password authentication failed" in output
    assert "wrong-pass-word" not in output
    right = wrong.replace("wrong-pass-word", RIGHT_PASSWORD)
    with psycopg.connect(postgres_server.dsn("receiver_auth"), autocommit=True) as conn:
        conn.execute(f"GRANT CREATE ON DATABASE receiver_auth TO {password_role}")
    with EventLog(right) as log:
        assert log.latest_id() == 0


def test_an_unreachable_database_is_refused_at_startup() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connection refused
        code, output = serve(f"postgresql://ft:s3cret-value@127.0.0.1:{port}/events")
    assert code == 1, output
    assert f"cannot open the event log: cannot connect postgresql://ft:***@127.0.0.1:{port}" in (
        output
    )
    assert "refused" in output.lower()
    assert "s3cret-value" not in output


@pytest.fixture
def lost_db(postgres_server: PostgresServer) -> Iterator[tuple[str, Callable[[bool], None]]]:
    """A log database, and a switch that cuts it off (every session killed, new ones refused)."""
    name = "receiver_lost"
    postgres_server.create_database(name)

    def available(on: bool) -> None:
        with psycopg.connect(postgres_server.dsn(), autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {str(on).lower()}")
            if not on:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (name,),
                )

    yield postgres_server.url(name), available
    available(True)


def test_a_database_lost_while_running_gets_503_then_recovers_without_restart(lost_db) -> None:
    url, available = lost_db
    with (
        ReceiverServer(db=url, secrets=[SECRET]) as receiver,
        httpx.Client(base_url=receiver.url, timeout=30) as client,
    ):
        assert deliver(client, receiver.webhook_url, event("before")).json() == {
            "id": 1,
            "duplicate": False,
        }
        available(False)
        lost = deliver(client, receiver.webhook_url, event("while-lost"))
        assert lost.status_code == 503
        assert client.get("/healthz").status_code == 503
        available(True)
        assert client.get("/healthz").json() == {"status": "ok", "latest_event_id": 1}
        redelivered = deliver(client, receiver.webhook_url, event("while-lost"))
        assert redelivered.json() == {"id": 2, "duplicate": False}
        assert deliver(client, receiver.webhook_url, event("before")).json()["duplicate"]
    stored = EventLog(url).list_events()
    assert [(e.event.sync_id, e.deliveries) for e in stored] == [("while-lost", 1), ("before", 2)]


def test_two_receivers_share_one_log_and_store_each_event_once(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """Deliveries split across two receiver processes, each event sent to both: every event
    is stored once, the second delivery counted as a redelivery."""
    postgres_server.create_database("two_receivers")
    url = postgres_server.url("two_receivers")
    ports = [free_port(), free_port()]
    processes = [
        start_receiver(url, port, SECRET, log_file=tmp_path / f"receiver-{port}.log")
        for port in ports
    ]
    try:
        deliveries = sync_end_deliveries(400, connections=8)
        with ThreadPoolExecutor(2) as pool:
            bursts = [
                pool.submit(send_burst, f"http://127.0.0.1:{port}/fivetran/webhook", SECRET,
                            deliveries, senders=4)
                for port in ports
            ]  # fmt: skip
            results = [burst.result() for burst in bursts]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
    assert [r.failures for r in results] == [[], []]
    assert results[0].acknowledged == results[1].acknowledged
    stored = EventLog(url).read_after(0, limit=1000)
    assert len(stored) == 400
    assert {e.deliveries for e in stored} == {2}
