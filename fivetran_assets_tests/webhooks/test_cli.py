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
