"""The client-side rate limiter, on a fake clock: windows, the create cap, 429 pauses, threads."""

from __future__ import annotations

import threading
import time

import pytest

from fivetran_assets.fivetran import FivetranClient, RateBudget, RateLimiter
from fivetran_assets.fivetran.ratelimit import shared_limiter
from fivetran_assets_tests.client.fakes import FakeClock


def limiter(clock: FakeClock, **budget: float) -> RateLimiter:
    budget.setdefault("margin_seconds", 0.0)
    return RateLimiter(RateBudget(**budget), clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]


def test_no_window_ever_holds_more_than_the_budget() -> None:
    clock = FakeClock()
    rl = limiter(clock, requests_per_hour=100)
    times = []
    for _ in range(250):
        rl.acquire()
        times.append(clock())
    assert times[99] == times[0]  # the first 100 go at once
    for i in range(len(times) - 100):
        assert times[i + 100] - times[i] >= 3600.0
    assert clock() - times[0] == 2 * 3600.0


def test_time_scale_and_margin_shorten_and_pad_the_window() -> None:
    clock = FakeClock()
    rl = limiter(clock, requests_per_hour=2, time_scale=3600.0, margin_seconds=0.25)
    start = clock()
    for _ in range(3):
        rl.acquire()
    assert clock() - start == pytest.approx(1.25)


def test_connection_creates_have_their_own_caps() -> None:
    clock = FakeClock()
    rl = limiter(clock, creates_per_minute=20, creates_per_hour=100)
    start = clock()
    for _ in range(20):
        rl.acquire(create=True)
    assert clock() == start
    for _ in range(50):
        rl.acquire()  # ordinary calls are not held by the create cap
    assert clock() == start
    rl.acquire(create=True)
    assert clock() - start == pytest.approx(60.0)
    for _ in range(79):
        rl.acquire(create=True)
    rl.acquire(create=True)  # the 101st create waits for the hour
    assert clock() - start >= 3600.0


def test_pause_holds_every_caller() -> None:
    clock = FakeClock()
    rl = limiter(clock)
    rl.pause_for(12.0)
    assert rl.acquire() == pytest.approx(12.0)
    assert rl.acquire() == 0.0


def test_threads_share_one_budget() -> None:
    last_read = threading.local()

    def clock() -> float:
        """Real time; remembers per thread the reading at which `acquire` spent its token."""
        last_read.value = time.monotonic()
        return last_read.value

    budget = RateBudget(requests_per_hour=40, time_scale=3600.0, margin_seconds=0.05)
    rl = RateLimiter(budget, clock=clock)
    spent: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(15):
            rl.acquire()
            with lock:
                spent.append(last_read.value)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    spent.sort()
    assert len(spent) == 60
    for i in range(len(spent) - 40):
        assert spent[i + 40] - spent[i] >= 1.0


def test_clients_of_one_account_share_a_limiter() -> None:
    budget = RateBudget(requests_per_hour=1234)
    a = FivetranClient("acct_key", "s1", base_url="http://h:1", rate_budget=budget)
    b = FivetranClient("acct_key", "s1", base_url="http://h:1", rate_budget=budget)
    c = FivetranClient("other_key", "s2", base_url="http://h:1", rate_budget=budget)
    assert a.rate_limiter is b.rate_limiter is shared_limiter("http://h:1", "acct_key", budget)
    assert c.rate_limiter is not a.rate_limiter
    assert FivetranClient("k", "s", rate_budget=None).rate_limiter is None


def test_budget_validation_names_the_field() -> None:
    with pytest.raises(ValueError, match="requests_per_hour"):
        RateBudget(requests_per_hour=0)
    with pytest.raises(ValueError, match="time_scale"):
        RateBudget(time_scale=0)
