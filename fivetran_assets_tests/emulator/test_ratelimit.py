"""Rate limits of the local Fivetran: buckets, rolling windows, and the 429 answer on the wire."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from fivetran_assets.emulator.clock import Clock
from fivetran_assets.emulator.ratelimit import (
    Bucket,
    RateLimiter,
    RateLimitMiddleware,
    RateLimits,
    classify,
    rate_limit_routes,
)
from fivetran_assets_tests.emulator.uvicorn_thread import serve


class FakeClock(Clock):
    """A clock whose Fivetran time only moves when the test says so."""

    def __init__(self, time_scale: float = 1.0) -> None:
        super().__init__(time_scale)
        self.t = 0.0

    def monotonic(self) -> float:
        return self.t


CREATES = [Bucket.ACCOUNT, Bucket.CREATES_PER_MINUTE, Bucket.CREATES_PER_HOUR]
SOURCE = [Bucket.SOURCE_CALLS_PER_MINUTE, Bucket.SOURCE_CALLS_PER_HOUR]
SETUP = [Bucket.ACCOUNT, Bucket.SETUP_TESTS_PER_MINUTE, Bucket.SETUP_TESTS_PER_HOUR, *SOURCE]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/v1/groups", [Bucket.ACCOUNT]),
        ("GET", "/v1/connections", [Bucket.ACCOUNT]),
        ("POST", "/v1/connections", CREATES),
        ("POST", "/v1/connectors/", CREATES),
        ("post", "/v1/connectors", CREATES),
        ("POST", "/v1/groups/g1/connectors", [Bucket.ACCOUNT]),
        ("POST", "/v1/connections/c1/test", SETUP),
        ("POST", "/v1/connectors/c1/test", SETUP),
        ("POST", "/v1/destinations/d1/test", SETUP),
        ("POST", "/v1/webhooks/w1/test", [Bucket.ACCOUNT]),
        ("POST", "/v1/transformation-projects/p1/test", [Bucket.ACCOUNT]),
        ("POST", "/v1/connections/c1/schemas/reload", [Bucket.ACCOUNT, *SOURCE]),
        ("PATCH", "/v1/connectors/c1/schemas/s/tables/t/columns/col", [Bucket.ACCOUNT, *SOURCE]),
        ("PATCH", "/v1/connections/c1/schemas/s/tables/t", [Bucket.ACCOUNT]),
        ("GET", "/v1/connections/c1/schemas/s/tables/t/columns", [Bucket.ACCOUNT]),
        ("GET", "/_local/requests", []),
        ("GET", "/v10/groups", []),
    ],
)
def test_classify(method: str, path: str, expected: list[Bucket]) -> None:
    assert classify(method, path) == expected


def test_defaults_are_fivetrans_documented_limits() -> None:
    limits = RateLimits()
    assert limits.windows() == {
        Bucket.ACCOUNT: (20_000, 3600.0),
        Bucket.CREATES_PER_MINUTE: (20, 60.0),
        Bucket.CREATES_PER_HOUR: (100, 3600.0),
        Bucket.SETUP_TESTS_PER_MINUTE: (250, 60.0),
        Bucket.SETUP_TESTS_PER_HOUR: (2_500, 3600.0),
        Bucket.SOURCE_CALLS_PER_MINUTE: (500, 60.0),
        Bucket.SOURCE_CALLS_PER_HOUR: (5_000, 3600.0),
    }
    assert limits.enabled is True


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"account_per_hour": 0}, "account_per_hour"),
        ({"creates_per_minute": -3}, "creates_per_minute"),
        ({"setup_tests_per_hour": 2.5}, "setup_tests_per_hour"),
        ({"source_calls_per_minute": True}, "source_calls_per_minute"),
        ({"enabled": "yes"}, "enabled"),
    ],
)
def test_bad_limits_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=f"RateLimits.{field}"):
        RateLimits(**kwargs)


def test_burst_is_refused_with_exact_retry_after_and_refusals_cost_nothing() -> None:
    clock = FakeClock(time_scale=60)
    limiter = RateLimiter(clock, RateLimits(account_per_hour=3))
    answers = []
    for t in (0.0, 600.0, 1200.0):
        clock.t = t
        answers.append(limiter.admit("GET", "/v1/groups"))
    assert [(a.allowed, a.limit, a.remaining) for a in answers] == [
        (True, 3, 2),
        (True, 3, 1),
        (True, 3, 0),
    ]
    clock.t = 1800.0
    for _ in range(5):
        refused = limiter.admit("GET", "/v1/groups")
        assert not refused.allowed
        assert refused.exceeded is Bucket.ACCOUNT
        assert refused.remaining == 0
        # The oldest request (t=0) leaves the window at t=3600: 1800 Fivetran s = 30 real s.
        assert refused.retry_after == pytest.approx(30.0)
    clock.t = 3600.0
    assert limiter.admit("GET", "/v1/groups").allowed
    refused = limiter.admit("GET", "/v1/groups")
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(10.0)  # the t=600 request leaves at t=4200


def test_create_cap_and_setup_tests_are_separate_buckets() -> None:
    clock = FakeClock()
    limits = RateLimits(creates_per_minute=2, creates_per_hour=3, setup_tests_per_minute=1)
    limiter = RateLimiter(clock, limits)
    assert limiter.admit("POST", "/v1/connections").allowed
    assert limiter.admit("POST", "/v1/connectors").allowed
    refused = limiter.admit("POST", "/v1/connections")
    assert (refused.allowed, refused.exceeded) == (False, Bucket.CREATES_PER_MINUTE)
    assert refused.retry_after == pytest.approx(60.0)
    assert limiter.admit("GET", "/v1/connections").allowed
    assert limiter.admit("POST", "/v1/connections/c1/test").allowed
    refused = limiter.admit("POST", "/v1/destinations/d1/test")
    assert refused.exceeded is Bucket.SETUP_TESTS_PER_MINUTE
    assert limiter.admit("POST", "/v1/connections/c1/schemas/reload").allowed
    clock.t = 61.0
    assert limiter.admit("POST", "/v1/connections").allowed
    refused = limiter.admit("POST", "/v1/connections")
    assert refused.exceeded is Bucket.CREATES_PER_HOUR
    assert refused.retry_after == pytest.approx(3600.0 - 61.0)
    # Four connection-create attempts were refused, yet only admitted ones used the account.
    assert limiter.admit("GET", "/v1/groups").remaining == 20_000 - 7


def test_source_calls_bucket_is_shared_by_tests_reloads_and_column_config() -> None:
    limiter = RateLimiter(FakeClock(), RateLimits(source_calls_per_minute=2))
    assert limiter.admit("POST", "/v1/connections/c/test").allowed
    assert limiter.admit("PATCH", "/v1/connections/c/schemas/s/tables/t/columns/x").allowed
    refused = limiter.admit("POST", "/v1/connections/c/schemas/reload")
    assert refused.exceeded is Bucket.SOURCE_CALLS_PER_MINUTE


def test_disabled_limits_admit_everything() -> None:
    limiter = RateLimiter(FakeClock(), RateLimits(account_per_hour=1, enabled=False))
    assert all(limiter.admit("GET", "/v1/groups").allowed for _ in range(50))


def test_full_hour_budget_is_fast_and_exact_under_threads() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock, RateLimits())
    allowed = []

    def hammer() -> None:
        allowed.append(sum(limiter.admit("GET", "/v1/groups").allowed for _ in range(6_000)))

    started = time.perf_counter()
    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 20_000
    assert time.perf_counter() - started < 30  # generous: a shared 2-core machine
    clock.t = 3600.0
    assert limiter.admit("GET", "/v1/groups").remaining == 19_999


def _app(limiter: RateLimiter) -> RateLimitMiddleware:
    async def groups(request):
        return JSONResponse({"code": "Success", "data": {"items": []}})

    routes = [Route("/v1/groups", groups), Route("/v1/connections", groups, methods=["POST"])]
    routes += [Route("/health", groups), *rate_limit_routes(limiter)]
    return RateLimitMiddleware(Starlette(routes=routes), limiter)


def test_over_the_wire_429_headers_and_rolling_window() -> None:
    clock = FakeClock(time_scale=1800)  # a Fivetran hour is two real seconds; time moves on cue
    limiter = RateLimiter(clock, RateLimits(account_per_hour=4, creates_per_hour=1))
    with serve(_app(limiter)) as base, requests.Session() as http:
        first = http.post(f"{base}/v1/connections")
        assert first.status_code == 200
        refused = http.post(f"{base}/v1/connections")
        assert refused.status_code == 429
        assert refused.json()["code"] == "TooManyRequests"
        assert "1 connection creates per hour" in refused.json()["message"]
        assert refused.headers["Retry-After"] == "2"  # the hour (2 s real), rounded up
        remaining = [http.get(f"{base}/v1/groups") for _ in range(4)]
        assert [r.status_code for r in remaining] == [200, 200, 200, 429]
        for answer in [first, refused, *remaining]:
            assert answer.headers["X-Rate-Limit"] == "4"
        assert [r.headers["X-Rate-Limit-Remaining"] for r in remaining] == ["2", "1", "0", "0"]
        last = remaining[-1]
        assert last.json()["code"] == "TooManyRequests"
        assert "4 account requests per hour" in last.json()["message"]
        assert int(last.headers["Retry-After"]) >= 1
        health = http.get(f"{base}/health")
        assert health.status_code == 200
        assert "X-Rate-Limit" not in health.headers
        clock.t += 1.3 * 1800
        late = http.get(f"{base}/v1/groups")
        assert late.status_code == 429
        assert late.headers["Retry-After"] == "1"  # under a second left: rounded up to one
        clock.t += 0.9 * 1800  # the whole window rolls over
        rolled = http.get(f"{base}/v1/groups")
        assert rolled.status_code == 200
        assert rolled.headers["X-Rate-Limit-Remaining"] == "3"


def test_limits_can_be_changed_and_reset_on_a_running_server() -> None:
    limiter = RateLimiter(FakeClock())
    with serve(_app(limiter)) as base, requests.Session() as http:
        control = f"{base}/_local/rate-limits"
        changed = http.patch(control, json={"creates_per_minute": 1, "account_per_hour": 50})
        assert changed.status_code == 200
        assert changed.json()["limits"]["creates_per_minute"] == 1
        assert changed.json()["limits"]["creates_per_hour"] == 100
        assert http.post(f"{base}/v1/connections").status_code == 200
        assert http.post(f"{base}/v1/connections").status_code == 429
        usage = http.get(control).json()["usage"]
        assert usage["connection creates per minute"] == {
            "limit": 1,
            "window_seconds": 60.0,
            "remaining": 0,
        }
        assert usage["account requests per hour"]["remaining"] == 49
        assert http.delete(control).json()["usage"]["account requests per hour"]["remaining"] == 50
        assert http.post(f"{base}/v1/connections").status_code == 200
        for body, message in [
            ({"creates_per_second": 1}, "Unknown rate limit field 'creates_per_second'"),
            ({"account_per_hour": "many"}, "RateLimits.account_per_hour"),
            ([], "JSON object"),
        ]:
            refused = http.patch(control, json=body)
            assert refused.status_code == 400
            assert refused.json()["code"] == "InvalidInput"
            assert message in refused.json()["message"]
        assert http.get(control).json()["limits"]["account_per_hour"] == 50
