"""One API budget across processes: the shared limiter on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fivetran_assets.fivetran.ratelimit import RateBudget
from fivetran_assets.state.ratelimit import LEASE_MAX, LEASE_SECONDS, SharedRateLimiter
from fivetran_assets.state.shared import SharedState, StateLocation
from fivetran_assets_tests.client.fakes import FakeClock


def limiter(state: SharedState, clock: FakeClock, **budget: float) -> SharedRateLimiter:
    budget.setdefault("margin_seconds", 0.0)
    return SharedRateLimiter(
        state,
        "acct",
        RateBudget(**budget),  # type: ignore[arg-type]
        clock=clock,
        sleep=clock.sleep,
    )


def test_two_processes_worth_of_limiters_share_one_window(location: StateLocation) -> None:
    """Two limiters on separate connections (as two processes have) spend one budget: no
    rolling hour ever holds more than it, and the last token comes back an hour later."""
    clock = FakeClock()
    first = limiter(SharedState(location.database), clock, requests_per_hour=10)
    second = limiter(SharedState(location.database), clock, requests_per_hour=10)
    times = []
    for n in range(25):
        (first if n % 2 else second).acquire()
        times.append(clock())
    assert times[9] == times[0]
    for i in range(len(times) - 10):
        assert times[i + 10] - times[i] >= 3600.0
    other = SharedRateLimiter(
        SharedState(location.database), "other", RateBudget(requests_per_hour=10), clock=clock
    )
    assert other.acquire() == 0.0  # another account has its own budget


def test_the_create_caps_are_shared_too(location: StateLocation) -> None:
    clock = FakeClock()
    a = limiter(SharedState(location.database), clock, creates_per_minute=2, creates_per_hour=3)
    b = limiter(SharedState(location.database), clock, creates_per_minute=2, creates_per_hour=3)
    start = clock()
    a.acquire(create=True)
    b.acquire(create=True)
    assert clock() == start
    a.acquire(create=True)  # the minute cap: waits for the first create to leave its minute
    assert clock() - start == pytest.approx(60.0)
    b.acquire()  # a plain request does not wait for the create caps
    assert clock() - start == pytest.approx(60.0)
    b.acquire(create=True)  # the hour cap
    assert clock() - start == pytest.approx(3600.0)


def test_a_429_seen_by_one_process_pauses_the_others(location: StateLocation) -> None:
    clock = FakeClock()
    a = limiter(SharedState(location.database), clock, requests_per_hour=100)
    b = limiter(SharedState(location.database), clock, requests_per_hour=100)
    start = clock()
    a.pause_for(30.0)
    a.pause_for(5.0)  # a shorter pause never shortens a longer one
    assert b.acquire() == pytest.approx(30.0)
    assert clock() - start == pytest.approx(30.0)


def test_threads_of_one_process_spend_together_within_the_budget(
    location: StateLocation,
) -> None:
    """Sixteen threads asking at once are served in shared transactions: each gets its own
    token, and a budget of 8 per (scaled, one-second) hour lets 8 through, the rest a window
    later, each spend recorded once."""
    shared = SharedRateLimiter(
        SharedState(location.database),
        "acct",
        RateBudget(requests_per_hour=8, time_scale=3600.0, margin_seconds=0.0),
    )
    times: list[float] = []
    lock = threading.Lock()

    def spend() -> None:
        with shared.spending(), lock:
            times.append(time.monotonic())

    threads = [threading.Thread(target=spend) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    times.sort()
    assert len(times) == 16
    assert times[8] - times[0] >= 1.0 - 0.3  # a busy machine may delay a recorded time
    count = shared.state.run(
        lambda db: db.scalar("SELECT spent FROM rate_counts WHERE account = 'acct'")
    )
    rows = shared.state.run(
        lambda db: db.scalar("SELECT COUNT(DISTINCT token) FROM rate_spends WHERE account = 'acct'")
    )
    assert count == rows == 8  # the first window's spends left it; the second's remain


SPENDER = """
import json, sys, time
from fivetran_assets.estate.connect import ClientSettings, build_client
from fivetran_assets.state.database import DatabaseURL
from fivetran_assets.state.shared import StateLocation

url, folder, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
state = StateLocation(__import__("pathlib").Path(folder), DatabaseURL.parse(url) if url else None)
client = build_client(ClientSettings("key", "secret", base_url="http://fivetran.invalid",
    requests_per_hour=12, time_scale=3600.0, state=state))
times = []
for _ in range(count):
    client.rate_limiter.acquire()
    times.append(time.time())
print(json.dumps(times))
"""


def test_real_processes_built_by_the_client_builder_never_exceed_the_budget(
    location: StateLocation, tmp_path: Path
) -> None:
    """Three processes, each building its client the project's way, 12 requests each against
    a budget of 12 per (scaled, one-second) hour: together they take three windows."""
    url = location.url.conninfo if location.url else ""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SPENDER, url, str(location.folder), "12"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    times = sorted(t for p in processes for t in json.loads(p.communicate(timeout=60)[0]))
    assert len(times) == 36
    # A window is 1 s (3600 s at 3600x, plus the limiter's 0.1 s margin); the times are taken
    # after `acquire` returns, so a busy machine may delay some: allow it 0.3 s. Three processes
    # each with a budget of its own would send all 36 within a few milliseconds.
    window, jitter = 1.0, 0.3
    for i in range(len(times) - 12):
        assert times[i + 12] - times[i] >= window - jitter, (i, times[i], times[i + 12])
    assert times[-1] - times[0] >= 2 * window - jitter


def test_a_spend_counts_from_when_its_request_was_answered(location: StateLocation) -> None:
    """A slow request reached the server somewhere between send and answer: its token comes
    back a full window after the answer, so the server never sees two within one window."""
    clock = FakeClock()
    shared = limiter(SharedState(location.database), clock, requests_per_hour=1)
    start = clock()
    with shared.spending():
        clock.sleep(600.0)  # the request took ten minutes
    assert shared.acquire() == pytest.approx(3600.0)
    assert clock() - start == pytest.approx(4200.0)


def test_each_answered_request_counts_from_its_own_answer(location: StateLocation) -> None:
    """Answers are recorded together when threads overlap, but each spend still moves to its
    own answer: two requests in flight, answered ten minutes apart."""
    clock = FakeClock()
    shared = limiter(SharedState(location.database), clock, requests_per_hour=2)
    start = clock()
    with shared.spending():
        with shared.spending():
            clock.sleep(600.0)
        clock.sleep(600.0)
    assert shared.acquire() == pytest.approx(3000.0)  # the first answer's token, at 4200
    assert clock() - start == pytest.approx(4200.0)
    assert shared.acquire() == pytest.approx(600.0)  # the second's, at 4800


def _spends(shared: SharedRateLimiter) -> tuple[int, int]:
    """(rows in rate_spends, the running count) for the account."""
    return shared.state.run(
        lambda db: (
            db.scalar("SELECT COUNT(*) FROM rate_spends WHERE account = 'acct'"),
            db.scalar(
                "SELECT spent FROM rate_counts WHERE account = 'acct' AND bucket = 'requests'"
            ),
        )
    )


def test_a_busy_process_leases_spare_tokens_and_gives_back_the_unsent(
    location: StateLocation,
) -> None:
    """A plan's 32 readers would each need a transaction per call: with requests in flight,
    one spends spare tokens too (real spends, so no other process can take them), the next
    requests take one without a transaction, and what was not sent goes back once the process
    is idle. A request sent alone leases nothing."""
    clock = FakeClock()
    shared = limiter(SharedState(location.database), clock, requests_per_hour=1000)
    other = limiter(SharedState(location.database), clock, requests_per_hour=1000)
    with shared.spending():
        assert _spends(shared) == (1, 1)  # alone: no spares
        with shared.spending():  # another in flight: it leases
            assert _spends(shared) == (2 + LEASE_MAX, 2 + LEASE_MAX)
            with shared.spending(), shared.spending():  # two more: spares, no new spend
                assert _spends(shared) == (2 + LEASE_MAX, 2 + LEASE_MAX)
        other.acquire()  # another process's spend counts beside the lease
        assert _spends(shared) == (3 + LEASE_MAX, 3 + LEASE_MAX)
    assert _spends(shared) == (5, 5)  # idle: the 30 unsent spares went back


def test_a_stale_lease_goes_back_and_a_small_budget_leases_nothing(
    location: StateLocation,
) -> None:
    clock = FakeClock()
    shared = limiter(SharedState(location.database), clock, requests_per_hour=1000)
    with shared.spending(), shared.spending():
        clock.sleep(LEASE_SECONDS * 2)  # the spares were not sent in time
        with shared.spending():  # so this one spends anew, with fresh spares
            pass
        assert _spends(shared) == (3 + LEASE_MAX, 3 + LEASE_MAX)
    assert _spends(shared) == (3, 3)
    small = SharedRateLimiter(
        SharedState(location.database), "small", RateBudget(requests_per_hour=4 * LEASE_MAX - 1)
    )
    with small.spending(), small.spending():
        rows = small.state.run(
            lambda db: db.scalar("SELECT COUNT(*) FROM rate_spends WHERE account = 'small'")
        )
        assert rows == 2


def test_a_lease_never_takes_the_window_past_half(location: StateLocation) -> None:
    clock = FakeClock()
    shared = limiter(SharedState(location.database), clock, requests_per_hour=200)
    other = limiter(SharedState(location.database), clock, requests_per_hour=200)
    for _ in range(90):
        other.acquire()
    with shared.spending(), shared.spending():
        assert _spends(shared) == (100, 100)  # 90 + 2 + 8 spares: half of 200
