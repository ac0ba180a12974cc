"""Fault injection and the request log, seen by a `requests` client through a real uvicorn."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fivetran_assets.emulator.clock import Clock
from fivetran_assets.emulator.faults import (
    FaultInjector,
    FaultRule,
    LocalControlMiddleware,
    RequestLog,
    RequestLogEntry,
    local_routes,
)
from fivetran_assets.emulator.ratelimit import RateLimiter, RateLimitMiddleware, RateLimits
from fivetran_assets_tests.emulator.uvicorn_thread import serve


@dataclass
class Server:
    base: str
    faults: FaultInjector
    log: RequestLog
    created: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def add_fault(self, http: requests.Session, **rule: object) -> str:
        answer = http.post(self.url("/_local/faults"), json=rule)
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]


def _app(server: Server, clock: Clock) -> Starlette:
    """A stand-in API wired the way the emulator's app is: control outermost, then limits."""

    async def groups(request: Request) -> JSONResponse:
        if request.method == "POST":
            server.created.append((await request.json())["name"])
            return JSONResponse({"code": "Success", "data": {}}, status_code=201)
        return JSONResponse({"code": "Success", "data": {"items": []}})

    async def private(request: Request) -> JSONResponse:
        return JSONResponse({"code": "AuthFailed", "message": "bad key"}, status_code=401)

    routes = [
        Route("/v1/groups", groups, methods=["GET", "POST"]),
        Route("/v1/groups/{group_id}", groups),
        Route("/v1/connections", groups, methods=["POST"]),
        Route("/v1/account/info", private),
        *local_routes(server.faults, server.log),
    ]
    limiter = RateLimiter(clock, RateLimits(creates_per_hour=2, account_per_hour=1_000))
    middleware = [
        Middleware(LocalControlMiddleware, faults=server.faults, log=server.log, clock=clock),
        Middleware(RateLimitMiddleware, limiter=limiter),
    ]
    return Starlette(routes=routes, middleware=middleware)


@pytest.fixture(scope="module", params=["httptools", "h11"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    state = Server("", FaultInjector(), RequestLog())
    with serve(_app(state, Clock(time_scale=1)), http=request.param) as base:
        state.base = base
        yield state


@pytest.fixture
def http(server: Server) -> Iterator[requests.Session]:
    server.faults.clear()
    server.log.clear()
    server.created.clear()
    with requests.Session() as session:
        yield session


def test_status_429_with_retry_after_never_reaches_the_app(server: Server, http) -> None:
    server.add_fault(
        http, kind="status", status=429, retry_after=7, path="/v1/groups", method="POST"
    )
    faulted = http.post(server.url("/v1/groups"), json={"name": "a"})
    assert faulted.status_code == 429
    assert faulted.headers["Retry-After"] == "7"
    assert faulted.json()["code"] == "TooManyRequests"
    assert server.created == []
    assert http.post(server.url("/v1/groups"), json={"name": "b"}).status_code == 201
    assert server.created == ["b"]


@pytest.mark.parametrize(("status", "code"), [(500, "InternalServerError"), (503, None)])
def test_server_errors_with_default_or_given_body(server: Server, http, status, code) -> None:
    body = None if code else {"code": "Maintenance", "message": "back soon"}
    rule = {"kind": "status", "status": status, "path": "/v1/groups*"}
    server.add_fault(http, **rule, **({"body": body} if body else {}))
    faulted = http.get(server.url("/v1/groups/g1"))
    assert faulted.status_code == status
    assert "Retry-After" not in faulted.headers
    assert faulted.json() == (body or {"code": code, "message": "Injected fault: HTTP 500"})


def test_after_and_count_select_which_matches_are_hit(server: Server, http) -> None:
    server.add_fault(http, kind="status", status=503, path="/v1/groups", after=1, count=2)
    codes = [http.get(server.url("/v1/groups")).status_code for _ in range(5)]
    assert codes == [200, 503, 503, 200, 200]
    (listed,) = http.get(server.url("/_local/faults")).json()["items"]
    assert (listed["seen"], listed["applied"], listed["exhausted"]) == (3, 2, True)


def test_forever_until_cleared_and_method_and_regex_filters(server: Server, http) -> None:
    rule = {"kind": "status", "status": 500, "count": -1, "method": "get"}
    server.add_fault(http, **rule, regex=True, path=r"/v1/groups/[a-z]+")
    assert [http.get(server.url("/v1/groups/abc")).status_code for _ in range(3)] == [500] * 3
    assert http.get(server.url("/v1/groups/a1")).status_code == 200  # regex must match whole path
    assert http.get(server.url("/v1/groups")).status_code == 200
    assert http.delete(server.url("/_local/faults")).json() == {"cleared": 1}
    assert http.get(server.url("/v1/groups/abc")).status_code == 200


def test_first_firing_rule_wins(server: Server, http) -> None:
    first = server.add_fault(http, kind="status", status=500, path="/v1/groups")
    server.add_fault(http, kind="status", status=503, path="/v1/*", count=-1)
    codes = [http.get(server.url("/v1/groups")).status_code for _ in range(3)]
    assert codes == [500, 503, 503]
    assert http.delete(server.url(f"/_local/faults/{first}")).status_code == 200
    assert http.delete(server.url(f"/_local/faults/{first}")).status_code == 404


def test_delay_answers_late_but_really(server: Server, http) -> None:
    server.add_fault(http, kind="delay", seconds=0.3, path="/v1/groups", method="POST")
    started = time.perf_counter()
    answer = http.post(server.url("/v1/groups"), json={"name": "slow"})
    assert time.perf_counter() - started >= 0.3
    assert answer.status_code == 201
    assert server.created == ["slow"]


@pytest.mark.parametrize(("kind", "executed"), [("drop", False), ("drop_after", True)])
def test_dropped_connection_is_a_connection_error(server: Server, http, kind, executed) -> None:
    server.add_fault(http, kind=kind, path="/v1/groups", method="POST")
    assert http.get(server.url("/v1/groups")).status_code == 200  # a kept-alive connection
    with pytest.raises(requests.exceptions.ConnectionError):
        http.post(server.url("/v1/groups"), json={"name": "maybe"})
    assert server.created == (["maybe"] if executed else [])
    assert http.get(server.url("/v1/groups")).status_code == 200
    entries = http.get(server.url("/_local/requests")).json()["items"]
    expected_fault = "drop_before" if kind == "drop" else "drop_after"
    assert [(e["method"], e["status"], e["fault"]) for e in entries] == [
        ("GET", 200, None),
        ("POST", None, expected_fault),
        ("GET", 200, None),
    ]


def test_request_log_records_what_clients_saw(server: Server, http) -> None:
    server.add_fault(http, kind="status", status=500, path="/v1/groups/g9")
    http.get(server.url("/v1/groups"))
    http.get(server.url("/v1/account/info"))
    http.get(server.url("/v1/groups/g9"))
    for name in "xyz":
        http.post(server.url("/v1/connections"), json={"name": name})  # the third: rate-limited
    http.get(server.url("/v1/nowhere"))
    http.get(server.url("/_local/faults"))  # control calls are not logged
    page = http.get(server.url("/_local/requests")).json()
    seen = [(e["method"], e["path"], e["status"], e["fault"]) for e in page["items"]]
    assert seen == [
        ("GET", "/v1/groups", 200, None),
        ("GET", "/v1/account/info", 401, None),
        ("GET", "/v1/groups/g9", 500, "status"),
        ("POST", "/v1/connections", 201, None),
        ("POST", "/v1/connections", 201, None),
        ("POST", "/v1/connections", 429, None),
        ("GET", "/v1/nowhere", 404, None),
    ]
    assert all(e["at"].endswith("Z") and e["duration_ms"] >= 0 for e in page["items"])
    http.get(server.url("/v1/groups"))
    newer = http.get(server.url("/_local/requests"), params={"since": page["next_index"]}).json()
    assert [e["path"] for e in newer["items"]] == ["/v1/groups"]
    assert newer["next_index"] == page["next_index"] + 1
    assert http.delete(server.url("/_local/requests")).json() == {"cleared": 8}
    assert http.get(server.url("/_local/requests")).json()["items"] == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "status", "path": "/v1/*"}, "'status' is required"),
        ({"kind": "delay", "path": "/v1/*"}, "'seconds' is required"),
        ({"kind": "drop", "path": "/v1/*", "status": 500}, "'status' only applies"),
        ({"kind": "status", "status": 42, "path": "/v1"}, "field 'status'"),
        ({"kind": "explode", "path": "/v1"}, "field 'kind'"),
        ({"kind": "drop", "path": "("}, None),
        ({"kind": "drop", "path": "(", "regex": True}, "not a valid regular expression"),
        ({"kind": "drop", "path": "/v1", "count": 0}, "'count'"),
        ({"kind": "drop", "path": "/v1", "after": -1}, "field 'after'"),
        ({"kind": "drop", "path": "/v1", "colour": "red"}, "field 'colour'"),
        ({"kind": "drop"}, "field 'path'"),
        ([1], "JSON object"),
    ],
)
def test_bad_fault_rules_are_named(server: Server, http, body, message) -> None:
    answer = http.post(server.url("/_local/faults"), json=body)
    if message is None:
        assert answer.status_code == 201  # "(" is a fine glob
        return
    assert answer.status_code == 400
    assert answer.json()["code"] == "InvalidInput"
    assert message in answer.json()["message"]


def test_malformed_json_and_since_are_refused(server: Server, http) -> None:
    answer = http.post(server.url("/_local/faults"), data=b"{nope")
    assert (answer.status_code, answer.json()["code"]) == (400, "InvalidInput")
    answer = http.get(server.url("/_local/requests"), params={"since": "-1"})
    assert answer.status_code == 400
    assert "'since'" in answer.json()["message"]


def test_request_log_is_bounded_and_indexed() -> None:
    log = RequestLog(capacity=3)
    for n in range(5):
        log.append(RequestLogEntry("GET", f"/v1/{n}", 200, "2026-01-01T00:00:00.000000Z", 1.0))
    entries, next_index = log.since(0)
    assert [e.path for e in entries] == ["/v1/2", "/v1/3", "/v1/4"]
    assert next_index == 5
    assert [e.path for e in log.since(4)[0]] == ["/v1/4"]
    assert log.since(9) == ([], 5)
    assert log.clear() == 3
    assert len(log) == 0


def test_injector_counts_exactly_under_threads() -> None:
    faults = FaultInjector()
    faults.add(FaultRule(kind="status", status=503, path="/v1/*", after=100, count=250))
    hits = []

    def hammer() -> None:
        hits.append(sum(faults.match("GET", "/v1/groups") is not None for _ in range(200)))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(hits) == 250
    assert faults.list()[0]["seen"] == 350
