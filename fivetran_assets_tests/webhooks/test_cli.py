"""`fivetran-assets webhooks serve`: refuses to run unsigned, reads secrets from named env vars."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
from click.testing import CliRunner

from fivetran_assets.webhooks.cli import secrets_from_env, webhooks
from fivetran_assets.webhooks.signature import SIGNATURE_HEADER, sign
from fivetran_assets_tests.webhooks.receiver_process import free_port, start_receiver


def test_serve_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"FIVETRAN_WEBHOOK_SECRET": "", "OTHER": None}
    result = runner.invoke(webhooks, ["serve", "--db", str(tmp_path / "e.sqlite")], env=env)
    assert result.exit_code == 2
    assert "no webhook signing secret" in result.output
    assert "FIVETRAN_WEBHOOK_SECRET" in result.output
    named = runner.invoke(webhooks, ["serve", "--secret-env", "OTHER"], env=env)
    assert named.exit_code == 2
    assert "OTHER" in named.output
    assert not (tmp_path / "e.sqlite").exists()


def test_secrets_from_env_keeps_order_and_skips_unset(monkeypatch) -> None:
    monkeypatch.setenv("WH_NEW", "new-value")
    monkeypatch.setenv("WH_OLD", "old-value")
    monkeypatch.setenv("WH_EMPTY", "")
    monkeypatch.delenv("WH_UNSET", raising=False)
    assert secrets_from_env(["WH_NEW", "WH_UNSET", "WH_EMPTY", "WH_OLD"]) == [
        "new-value",
        "old-value",
    ]


def test_serve_runs_the_receiver_with_the_env_secret(tmp_path: Path) -> None:
    port = free_port()
    log_file = tmp_path / "receiver.log"
    secret = "cli-secret-value"
    process = start_receiver(tmp_path / "state" / "e.sqlite", port, secret, log_file=log_file)
    try:
        body = b'{"event":"sync_start","created":"2026-05-22T00:06:08.638Z","connector_id":"c"}'
        url = f"http://127.0.0.1:{port}/fivetran/webhook"
        ok = httpx.post(url, content=body, headers={SIGNATURE_HEADER: sign(secret, body)})
        forged = httpx.post(url, content=body, headers={SIGNATURE_HEADER: sign("x", body)})
        assert (ok.status_code, forged.status_code) == (200, 401)
    finally:
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal so the parent sees it.
        assert process.wait(timeout=20) in (0, -signal.SIGTERM)
    output = log_file.read_text()
    assert "Application shutdown complete" in output
    assert "webhook receiver on http://127.0.0.1" in output
    assert secret not in output
    assert (tmp_path / "state" / "e.sqlite").exists()


def _filled_log(url: str) -> None:
    from fivetran_assets.webhooks.events import WebhookEvent
    from fivetran_assets.webhooks.store import EventLog

    with EventLog(url) as log:
        for n, (name, connector) in enumerate(
            [("sync_start", "c_a"), ("sync_end", "c_a"), ("sync_start", "c_b"), ("sync_end", "c_b")]
        ):
            raw = (
                f'{{"event":"{name}","created":"2026-05-22T00:00:0{n}Z","connector_id":'
                f'"{connector}","sync_id":"s_{connector}","destination_group_id":"grp",'
                '"data":{"status":"SUCCESSFUL"}}'
            ).encode()
            log.append(raw, WebhookEvent.from_json(raw))
            if n == 1:
                log.append(raw, WebhookEvent.from_json(raw))


def test_events_lists_newest_first_as_json_with_filters(event_log_url: str) -> None:
    import json

    _filled_log(event_log_url)
    runner = CliRunner()
    listed = runner.invoke(webhooks, ["events", "--db", event_log_url, "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    # Ids grow with time; on PostgreSQL a redelivery may use one up, so they can skip.
    names = {"a_start": 3, "a_end": 2, "b_start": 1, "b_end": 0}
    assert [(r["event"], r["connection_id"]) for r in rows] == [
        ("sync_end", "c_b"),
        ("sync_start", "c_b"),
        ("sync_end", "c_a"),
        ("sync_start", "c_a"),
    ]
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    id_of = {name: rows[index]["id"] for name, index in names.items()}
    assert rows[2] | {"received_at": None} == {
        "id": id_of["a_end"],
        "received_at": None,
        "event": "sync_end",
        "group_id": "grp",
        "connection_id": "c_a",
        "sync_id": "s_c_a",
        "status": "SUCCESSFUL",
        "created": "2026-05-22T00:00:01Z",
        "deliveries": 2,
    }

    def ids(*args: str) -> list[int]:
        result = runner.invoke(webhooks, ["events", "--json", *args], env={
            "FIVETRAN_ASSETS_EVENT_LOG": event_log_url})  # fmt: skip
        assert result.exit_code == 0, result.output
        return [row["id"] for row in json.loads(result.output)]

    a_start, a_end, b_start, b_end = (id_of[n] for n in ("a_start", "a_end", "b_start", "b_end"))
    assert ids("--event", "sync_end") == [b_end, a_end]
    assert ids("--connection", "c_a", "--event", "sync_start") == [a_start]
    assert ids("--connection", "c_a", "--connection", "c_b", "--limit", "3") == [
        b_end,
        b_start,
        a_end,
    ]
    assert ids("--since", "1h") == [b_end, b_start, a_end, a_start]
    assert ids("--event", "connection_failure") == []


def test_events_prints_a_table_and_explains_what_is_wrong(tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite"
    runner = CliRunner()
    missing = runner.invoke(webhooks, ["events", "--db", str(db)])
    assert missing.exit_code == 1
    assert f"no event log at {db}" in missing.output
    _filled_log(str(db))
    table = runner.invoke(webhooks, ["events", "--db", str(db), "--limit", "2"], env={
        "COLUMNS": "200"})  # fmt: skip
    assert table.exit_code == 0, table.output
    for text in ("2 event(s)", "time (UTC)", "deliveries", "sync_end", "c_b", "grp", "s_c_b"):
        assert text in table.output
    assert "c_a" not in table.output
    bad = runner.invoke(webhooks, ["events", "--db", str(db), "--since", "yesterday"])
    assert bad.exit_code == 2
    assert "'yesterday' is not a duration" in bad.output
    scheme = runner.invoke(webhooks, ["events", "--db", "mysql://u:pw@h/db"])
    assert scheme.exit_code == 2
    assert "unsupported database URL scheme 'mysql'" in scheme.output
    assert "pw@" not in scheme.output


def test_parse_duration() -> None:
    from datetime import timedelta

    import pytest

    from fivetran_assets.durations import parse_duration

    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("2d") == timedelta(days=2)
    assert parse_duration("1w") == timedelta(days=7)
    assert parse_duration("0.5h") == timedelta(minutes=30)
    assert parse_duration("600") == timedelta(minutes=10)
    for bad in ("", "h", "1x", "1h 30", "-1h"):
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(bad)
