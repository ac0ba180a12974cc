"""Retries, typed errors, rate limiting and secret hygiene against the local Fivetran.

Faults are injected over HTTP (`POST /_local/faults`) and outcomes read from the server's own
request log (`GET /_local/requests`), so what counts is what reached the server.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
import requests

from fivetran_assets.emulator.ratelimit import RateLimits
from fivetran_assets.emulator.server import EmulatorServer
from fivetran_assets.fivetran import (
    AuthError,
    ConflictError,
    FivetranClient,
    FivetranConnectionError,
    FivetranError,
    InvalidInputError,
    NotFoundError,
    RateBudget,
    RateLimitedError,
    RetryPolicy,
    ServerError,
)
from fivetran_assets_tests.client.fakes import FakeClock


def fault(emulator, **rule: object) -> None:
    answer = requests.post(
        emulator.base_url + "/_local/faults", json=rule, auth=emulator.auth, timeout=5
    )
    assert answer.status_code == 201, answer.text


def logged(emulator, method: str, path: str) -> list[dict]:
    answer = requests.get(emulator.base_url + "/_local/requests", auth=emulator.auth, timeout=5)
    items = answer.json()["items"]
    return [r for r in items if r["method"] == method and r["path"] == path]


def faked_client(emulator, clock: FakeClock, **kwargs) -> FivetranClient:
    kwargs.setdefault("retry", RetryPolicy(max_retries=3, random=lambda: 0.5))
    return FivetranClient(
        emulator.api_key,
        emulator.api_secret,
        base_url=emulator.base_url,
        rate_budget=None,
        clock=clock,
        sleep=clock.sleep,
        **kwargs,
    )


def test_429_waits_the_given_retry_after(emulator) -> None:
    clock = FakeClock()
    fault(emulator, kind="status", method="GET", path="/v1/groups", status=429, retry_after=17)
    assert list(faked_client(emulator, clock).list_groups()) == []
    assert clock.sleeps == [17.0]
    assert [r["status"] for r in logged(emulator, "GET", "/v1/groups")] == [429, 200]


def test_429_on_post_is_retried_because_it_was_not_executed(emulator) -> None:
    clock = FakeClock()
    fault(emulator, kind="status", method="POST", path="/v1/groups", status=429, retry_after=2)
    group = faked_client(emulator, clock).create_group("ops")
    assert group.name == "ops" and clock.sleeps == [2.0]
    assert [r["status"] for r in logged(emulator, "POST", "/v1/groups")] == [429, 201]


def test_get_retried_on_503_and_succeeds(emulator) -> None:
    clock = FakeClock()
    client = faked_client(emulator, clock)
    group = client.create_group("ops")
    path = f"/v1/groups/{group.id}"
    fault(emulator, kind="status", method="GET", path=path, status=503, count=2)
    assert client.get_group(group.id).id == group.id
    assert [r["status"] for r in logged(emulator, "GET", path)] == [503, 503, 200]
    assert len(clock.sleeps) == 2


def test_post_not_retried_on_500(emulator) -> None:
    clock = FakeClock()
    fault(emulator, kind="status", method="POST", path="/v1/groups", status=500)
    with pytest.raises(ServerError) as info:
        faked_client(emulator, clock).create_group("ops")
    assert info.value.status == 500
    assert len(logged(emulator, "POST", "/v1/groups")) == 1
    assert clock.sleeps == []


def test_dropped_get_is_retried(emulator) -> None:
    clock = FakeClock()
    client = faked_client(emulator, clock)
    group = client.create_group("ops")
    fault(emulator, kind="drop_before", method="GET", path="/v1/groups/*")
    assert client.get_group(group.id).name == "ops"
    assert [r["status"] for r in logged(emulator, "GET", f"/v1/groups/{group.id}")] == [None, 200]


def test_dropped_post_is_ambiguous_and_caller_rereads(emulator) -> None:
    clock = FakeClock()
    client = faked_client(emulator, clock)
    fault(emulator, kind="drop_after", method="POST", path="/v1/groups")
    with pytest.raises(FivetranConnectionError) as info:
        client.create_group("ops")
    assert info.value.ambiguous
    assert len(logged(emulator, "POST", "/v1/groups")) == 1
    assert [g.name for g in client.list_groups()] == ["ops"]  # it did happen


def test_read_timeout_on_get_is_retried(emulator) -> None:
    client = FivetranClient(
        emulator.api_key,
        emulator.api_secret,
        base_url=emulator.base_url,
        rate_budget=None,
        timeout=(2.0, 0.3),
        retry=RetryPolicy(max_retries=2, backoff_base=0.01),
    )
    fault(emulator, kind="delay", method="GET", path="/v1/account/info", seconds=1.0)
    assert client.get_account_info().account_id
    deadline = time.monotonic() + 5  # the slow first attempt is logged when it finishes
    while len(entries := logged(emulator, "GET", "/v1/account/info")) < 2:
        assert time.monotonic() < deadline, entries
        time.sleep(0.05)
    assert sorted(str(e["fault"]) for e in entries) == ["None", "delay"]


def test_typed_errors_for_400_401_404_409(emulator, tmp_path: Path) -> None:
    clock = FakeClock()
    client = faked_client(emulator, clock)
    group = client.create_group("ops")
    with pytest.raises(ConflictError) as conflict:
        client.create_group("ops")
    with pytest.raises(NotFoundError) as missing:
        client.get_connection("no_such_thing")
    with pytest.raises(InvalidInputError) as invalid:
        client.create_destination(group.id, "duckdb", time_zone_offset="+99", config={})
    bad = FivetranClient("test_key", "wrong", base_url=emulator.base_url, rate_budget=None)
    with pytest.raises(AuthError) as auth:
        bad.get_account_info()
    statuses = [e.value.status for e in (invalid, auth, missing, conflict)]
    assert statuses == [400, 401, 404, 409]
    assert missing.value.code.startswith("NotFound_")
    assert invalid.value.code == "InvalidInput"
    assert (conflict.value.method, conflict.value.path) == ("POST", "/v1/groups")
    assert clock.sleeps == []  # none of these is retried


def test_limiter_keeps_a_burst_under_the_server_budget(tmp_path: Path) -> None:
    """200 calls against a budget of 100 per window: paced, not refused.

    At time scale 3600 a Fivetran hour is one real second, so the burst needs two windows.
    """
    limits = RateLimits(account_per_hour=100)
    with EmulatorServer(state_dir=tmp_path / "e", time_scale=3600, rate_limits=limits) as server:
        budget = RateBudget(requests_per_hour=100, time_scale=3600, margin_seconds=0.15)
        client = FivetranClient(
            server.api_key, server.api_secret, base_url=server.base_url, rate_budget=budget
        )
        started = time.monotonic()
        for _ in range(200):
            client.get_account_info()
        elapsed = time.monotonic() - started
        statuses = [r.status for r in server.request_log.since(0)[0]]
        assert len(statuses) == 200 and set(statuses) == {200}
        assert elapsed >= 1.0

        unpaced = FivetranClient(
            server.api_key,
            server.api_secret,
            base_url=server.base_url,
            rate_budget=None,
            retry=RetryPolicy(max_retries=0, max_rate_limited=0),
        )
        with pytest.raises(RateLimitedError) as info:
            for _ in range(200):
                unpaced.get_account_info()
        assert info.value.retry_after is not None and info.value.retry_after >= 1


def test_secrets_never_in_errors_or_logs(
    emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="fivetran_assets.fivetran")
    password = "pg-Pa55word-xyz"
    clock = FakeClock()
    client = faked_client(emulator, clock)
    group = client.create_group("ops")
    client.create_destination(
        group.id, "duckdb", time_zone_offset="0", config={"path": str(tmp_path / "w.duckdb")}
    )
    fault(emulator, kind="status", method="PATCH", path="/v1/connections/*", status=503)
    errors: list[FivetranError] = []
    calls = [
        lambda: client.create_connection(
            group.id, "postgres", config={"schema_prefix": "p", "password": password, "port": "x"}
        ),
        lambda: client.update_connection("missing", config={"password": password}),
        lambda: (
            FivetranClient(
                emulator.api_key, "not-the-secret", base_url=emulator.base_url, rate_budget=None
            )
            .list_groups()
            .__next__()
        ),
    ]
    for call in calls:
        with pytest.raises(FivetranError) as info:
            call()
        errors.append(info.value)
    texts = [str(e) for e in errors] + [repr(e) for e in errors] + [repr(client)]
    texts += [r.getMessage() for r in caplog.records]
    assert any("retrying" in r.getMessage() for r in caplog.records)
    for text in texts:
        for secret in (password, emulator.api_key, emulator.api_secret, "not-the-secret"):
            assert secret not in text, text
