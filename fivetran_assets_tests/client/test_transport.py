"""The client's wire behaviour against a scripted server: headers, retries, errors, pages."""

from __future__ import annotations

import base64
import json
import logging
import socket
from collections.abc import Iterator

import pytest

from fivetran_assets.fivetran import (
    AuthError,
    ConflictError,
    FivetranClient,
    FivetranConnectionError,
    FivetranError,
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    UnexpectedResponseError,
)
from fivetran_assets_tests.client.fakes import FakeClock, Reply, ScriptedServer, scripted_server

KEY = "key_Zq81x"
SECRET = "secret_Pw93kfQ"


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with scripted_server() as srv:
        yield srv


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_client(server: ScriptedServer, clock: FakeClock, **kwargs) -> FivetranClient:
    kwargs.setdefault("retry", RetryPolicy(max_retries=3, random=lambda: 0.5))
    return FivetranClient(
        KEY,
        SECRET,
        base_url=server.url,
        timeout=(2.0, 2.0),
        rate_budget=None,
        clock=clock,
        sleep=clock.sleep,
        **kwargs,
    )


GROUP = {"id": "g_1", "name": "finance", "created_at": "2024-01-02T03:04:05.123456Z"}


def ok(data: object) -> Reply:
    return Reply(200, {"code": "Success", "data": data})


def test_headers_auth_and_accept_versions(server: ScriptedServer, clock: FakeClock) -> None:
    server.script(ok(GROUP), ok({"id": "g_1", "service": "duckdb"}))
    client = make_client(server, clock)
    client.get_group("g_1")
    client.get_destination("g_1")
    group_req, dest_req = server.seen
    expected_auth = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    assert group_req.headers["authorization"] == expected_auth
    assert group_req.headers["accept"] == "application/json"
    assert group_req.headers["user-agent"].startswith("fivetran-assets/")
    assert dest_req.headers["accept"] == "application/json;version=2"


def test_post_sends_json_body_even_without_fields(server: ScriptedServer, clock: FakeClock) -> None:
    server.script(Reply(200, {"code": "Success", "message": "ok"}))
    make_client(server, clock).cancel_transformation("t_1")
    seen = server.seen[0]
    assert seen.headers["content-type"] == "application/json"
    assert json.loads(seen.body) == {}


def test_429_waits_retry_after_then_succeeds(server: ScriptedServer, clock: FakeClock) -> None:
    server.script(
        Reply(429, {"code": "TooManyRequests", "message": "slow down"}, {"Retry-After": "7"}),
        ok(GROUP),
    )
    group = make_client(server, clock).create_group("finance")
    assert group.id == "g_1"
    assert clock.sleeps == [7.0]
    assert [s.method for s in server.seen] == ["POST", "POST"]


def test_get_retried_on_503_with_jittered_backoff(server: ScriptedServer, clock: FakeClock) -> None:
    server.script(Reply(503, {"code": "ServiceUnavailable", "message": "x"}), Reply(503), ok(GROUP))
    retry = RetryPolicy(max_retries=3, backoff_base=2.0, random=lambda: 0.25)
    client = make_client(server, clock, retry=retry)
    assert client.get_group("g_1").name == "finance"
    assert clock.sleeps == [0.5, 1.0]  # 2*2**0*0.25, 2*2**1*0.25


def test_backoff_is_capped(server: ScriptedServer, clock: FakeClock) -> None:
    server.script(*[Reply(500)] * 4, ok(GROUP))
    retry = RetryPolicy(max_retries=4, backoff_base=10.0, backoff_cap=15.0, random=lambda: 1.0)
    make_client(server, clock, retry=retry).get_group("g_1")
    assert clock.sleeps == [10.0, 15.0, 15.0, 15.0]


def test_gives_up_after_max_retries(server: ScriptedServer, clock: FakeClock) -> None:
    server.script(*[Reply(503)] * 10)
    with pytest.raises(ServerError) as info:
        make_client(server, clock).get_group("g_1")
    assert info.value.status == 503
    assert len(server.seen) == 4


def test_post_not_retried_on_500(server: ScriptedServer, clock: FakeClock) -> None:
    server.script(Reply(500, {"code": "InternalServerError", "message": "boom"}), ok(GROUP))
    with pytest.raises(ServerError):
        make_client(server, clock).create_group("finance")
    assert len(server.seen) == 1
    assert clock.sleeps == []


def test_dropped_get_is_retried(server: ScriptedServer, clock: FakeClock) -> None:
    server.script(Reply(drop=True), ok(GROUP))
    assert make_client(server, clock).get_group("g_1").id == "g_1"
    assert len(server.seen) == 2


def test_dropped_post_raises_ambiguous_without_retry(
    server: ScriptedServer, clock: FakeClock
) -> None:
    server.script(Reply(drop=True), ok(GROUP))
    with pytest.raises(FivetranConnectionError) as info:
        make_client(server, clock).create_group("finance")
    assert info.value.ambiguous is True
    assert len(server.seen) == 1


def test_refused_connection_is_not_ambiguous_and_retried(clock: FakeClock) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = FivetranClient(
        KEY,
        SECRET,
        base_url=f"http://127.0.0.1:{port}",
        rate_budget=None,
        retry=RetryPolicy(max_retries=2, random=lambda: 0.0),
        clock=clock,
        sleep=clock.sleep,
    )
    with pytest.raises(FivetranConnectionError) as info:
        client.create_group("finance")
    assert info.value.ambiguous is False
    assert len(clock.sleeps) == 2
    # A user reading the error sees which server could not be reached.
    assert f"http://127.0.0.1:{port}" in str(info.value)


def test_delete_that_404s_after_ambiguous_failure_counts_as_done(
    server: ScriptedServer, clock: FakeClock
) -> None:
    server.script(Reply(drop=True), Reply(404, {"code": "NotFound_Group", "message": "gone"}))
    make_client(server, clock).delete_group("g_1")
    assert [s.method for s in server.seen] == ["DELETE", "DELETE"]


@pytest.mark.parametrize(
    ("status", "code", "error_type"),
    [
        (400, "InvalidInput", InvalidInputError),
        (401, "AuthFailed", AuthError),
        (403, "Forbidden", AuthError),
        (404, "NotFound_Group", NotFoundError),
        (409, "Conflict", ConflictError),
        (405, "MethodNotAllowed", FivetranError),
    ],
)
def test_typed_errors(
    server: ScriptedServer, clock: FakeClock, status: int, code: str, error_type: type
) -> None:
    server.script(Reply(status, {"code": code, "message": f"{code} happened"}))
    with pytest.raises(error_type) as info:
        make_client(server, clock).get_group("g_1")
    error = info.value
    assert (error.status, error.code, error.method, error.path) == (
        status,
        code,
        "GET",
        "/v1/groups/g_1",
    )
    assert f"{code} happened" in str(error)
    assert len(server.seen) == 1


def test_non_json_error_body_is_not_carried(server: ScriptedServer, clock: FakeClock) -> None:
    server.script(Reply(502, "<html>upstream secret page</html>"))
    with pytest.raises(ServerError) as info:
        make_client(server, clock, retry=RetryPolicy(max_retries=0)).get_group("g_1")
    assert "upstream" not in str(info.value)


def test_429_exhausted_carries_retry_after(server: ScriptedServer, clock: FakeClock) -> None:
    server.script(*[Reply(429, {"code": "TooManyRequests"}, {"Retry-After": "3"})] * 2)
    with pytest.raises(RateLimitedError) as info:
        retry = RetryPolicy(max_rate_limited=1)
        make_client(server, clock, retry=retry).list_groups().__next__()
    assert info.value.retry_after == 3.0
    assert clock.sleeps == [3.0]


def test_a_429_storm_is_waited_out_without_using_up_retries(
    server: ScriptedServer, clock: FakeClock
) -> None:
    storm = [Reply(429, {"code": "TooManyRequests"}, {"Retry-After": "1"})] * 8
    server.script(*storm, Reply(503), ok(GROUP))
    retry = RetryPolicy(max_retries=1, random=lambda: 0.0)
    assert make_client(server, clock, retry=retry).get_group("g_1").name == "finance"
    assert clock.sleeps == [1.0] * 8 + [0.0]


def test_pagination_follows_both_cursor_spellings(server: ScriptedServer, clock: FakeClock) -> None:
    server.script(
        ok({"items": [GROUP], "next_cursor": "c1"}),
        ok({"items": [{**GROUP, "id": "g_2"}], "nextCursor": "c2"}),
        ok({"items": [{**GROUP, "id": "g_3"}]}),
    )
    ids = [g.id for g in make_client(server, clock).list_groups()]
    assert ids == ["g_1", "g_2", "g_3"]
    queries = [s.query for s in server.seen]
    assert queries[0] == {"limit": ["1000"]}
    assert queries[1] == {"limit": ["1000"], "cursor": ["c1"]}
    assert queries[2] == {"limit": ["1000"], "cursor": ["c2"]}


def test_pagination_stops_on_a_stuck_cursor(server: ScriptedServer, clock: FakeClock) -> None:
    server.default = ok({"items": [GROUP], "next_cursor": "same"})
    with pytest.raises(UnexpectedResponseError, match="cursor did not advance"):
        list(make_client(server, clock).list_groups())


def test_malformed_success_names_the_field(server: ScriptedServer, clock: FakeClock) -> None:
    server.script(ok({**GROUP, "created_at": "yesterday"}))
    with pytest.raises(UnexpectedResponseError, match=r"Group\.created_at"):
        make_client(server, clock).get_group("g_1")


def test_secrets_absent_from_errors_logs_and_repr(
    server: ScriptedServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    password = "hunter2-source-pw"
    echo = f"bad key {KEY} / {SECRET}; password {password} rejected"
    server.script(
        Reply(503),
        Reply(400, {"code": "InvalidInput", "message": echo}),
        Reply(401, {"code": "AuthFailed", "message": f"key {KEY} invalid"}),
    )
    client = make_client(server, clock)
    caplog.set_level(logging.DEBUG, logger="fivetran_assets.fivetran")
    errors: list[FivetranError] = []
    for call in (
        lambda: client.update_connection("c_1", config={"password": password}),
        lambda: client.get_group("g_1"),
    ):
        with pytest.raises(FivetranError) as info:
            call()
        errors.append(info.value)
    texts = [str(e) for e in errors] + [repr(e) for e in errors] + [repr(client)]
    texts += [r.getMessage() for r in caplog.records]
    assert caplog.records, "requests should be logged"
    for text in texts:
        for secret in (KEY, SECRET, password):
            assert secret not in text, text


def test_bad_settings_are_named() -> None:
    with pytest.raises(ValueError, match="api_secret is empty"):
        FivetranClient("k", "")
    with pytest.raises(ValueError, match="base_url"):
        FivetranClient("k", "s", base_url="ftp://example.com")
    with pytest.raises(ValueError, match="credentials"):
        FivetranClient("k", "s", base_url="https://user:pw@example.com")
    with pytest.raises(ValueError, match="sync_frequency 7"):
        FivetranClient("k", "s").create_connection("g", "postgres", sync_frequency=7)


def test_base_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIVETRAN_BASE_URL", "http://localhost:9999/")
    assert FivetranClient("k", "s").base_url == "http://localhost:9999"
    assert FivetranClient("k", "s", base_url="http://x:1").base_url == "http://x:1"
    monkeypatch.delenv("FIVETRAN_BASE_URL")
    assert FivetranClient("k", "s").base_url == "https://api.fivetran.com"
    monkeypatch.setenv("FIVETRAN_BASE_URL", "not a url")
    with pytest.raises(ValueError, match="FIVETRAN_BASE_URL"):
        FivetranClient("k", "s")


def test_legacy_paths(server: ScriptedServer, clock: FakeClock) -> None:
    server.script(ok({"items": []}), Reply(200, {"code": "Success"}))
    client = make_client(server, clock, legacy_paths=True)
    list(client.list_group_connections("g_1"))
    client.sync_connection("c_1", force=True)
    assert [s.path for s in server.seen] == ["/v1/groups/g_1/connectors", "/v1/connectors/c_1/sync"]
    assert json.loads(server.seen[1].body) == {"force": True}


def test_list_filters_are_sent_and_unset_ones_omitted(
    server: ScriptedServer, clock: FakeClock
) -> None:
    server.default = ok({"items": []})
    client = make_client(server, clock)
    list(client.list_transformations(group_id="g_1"))
    list(client.list_connections(schema="sales"))
    assert server.seen[0].query == {"group_id": ["g_1"], "limit": ["1000"]}
    assert server.seen[1].query == {"schema": ["sales"], "limit": ["1000"]}


PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def test_proxy_settings_are_read_once_when_the_client_is_built(
    server: ScriptedServer, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (*PROXY_VARIABLES, *(n.lower() for n in PROXY_VARIABLES)):
        monkeypatch.delenv(name, raising=False)
    client = make_client(server, clock)
    # Set after the client exists: nothing listens on port 9, so a per-call rescan would fail.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    server.script(ok(GROUP))
    assert client.get_group("g_1").name == "finance"

    proxied = make_client(server, clock, retry=RetryPolicy(max_retries=0))
    monkeypatch.delenv("HTTP_PROXY")
    with pytest.raises(FivetranConnectionError, match="could not connect"):
        proxied.get_group("g_1")  # built while the proxy was set: it keeps using it


def test_concurrent_callers_get_their_own_session_and_reuse_it(
    server: ScriptedServer, clock: FakeClock
) -> None:
    import threading

    server.default = ok(GROUP)
    client = make_client(server, clock)
    sessions = client._http.sessions
    start = threading.Barrier(4)
    borrowed = []

    def borrow() -> None:
        with sessions.session() as session:
            start.wait(timeout=10)  # all four hold one at the same time
            borrowed.append(session)

    threads = [threading.Thread(target=borrow) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(s) for s in borrowed}) == 4 and sessions.size == 4
    assert all(not s.trust_env for s in borrowed)
    for _ in range(3):
        client.get_group("g_1")  # one caller at a time: no new session
    assert sessions.size == 4
    client.close()
    assert sessions.size == 0
