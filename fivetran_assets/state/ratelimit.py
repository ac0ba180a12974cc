"""One Fivetran API budget for every process of a deployment, kept in the shared state.

The windows are those of `fivetran.ratelimit.RateLimiter` (a spend leaves its window exactly one
window later, so a rolling-window server never sees more than the budget), but the spends live
in the `rate_spends` table, keyed by the account's fingerprint (never the key), so the CLI, the
code server's sensors and every run worker draw on one budget. A 429's `Retry-After` is written
to `rate_pauses` and holds every process. Each check-and-spend is one transaction under a lock
named after the account; on PostgreSQL the database's clock is the time every process shares.
Waiting happens outside the transaction. A request sent in `spending()` moves its spend to the
moment its answer came back: the server counted it on arrival, somewhere in between, so the
token returns a full window after that whatever the network or a busy machine delayed.

A plan's 32 read workers take turns on the one connection, so the answers are recorded
together: each answered token joins a queue, and whichever thread next holds the connection
(answering, or spending in its transaction) moves every queued token in one statement, at that
moment, which is when each of them would have been recorded alone.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator

from fivetran_assets.fivetran.ratelimit import HOUR, MINUTE, RateBudget
from fivetran_assets.state.database import Database, StateError
from fivetran_assets.state.shared import SharedState

logger = logging.getLogger("fivetran_assets.fivetran")

REQUESTS = "requests"
CREATES_PER_MINUTE = "creates_per_minute"
CREATES_PER_HOUR = "creates_per_hour"


class SharedRateLimiter:
    """A `Limiter` whose budget is shared through `state` by every process of one account."""

    def __init__(
        self,
        state: SharedState,
        account: str,
        budget: RateBudget,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.state = state
        self.account = account
        self.budget = budget
        self._clock = clock
        self._sleep = sleep
        scale, margin = budget.time_scale, budget.margin_seconds or 0.0
        self._requests = [(REQUESTS, budget.requests_per_hour, HOUR / scale + margin)]
        self._creates = [
            (CREATES_PER_MINUTE, budget.creates_per_minute, MINUTE / scale + margin),
            (CREATES_PER_HOUR, budget.creates_per_hour, HOUR / scale + margin),
        ]
        # Tokens unique across processes without a system call each: a random prefix per
        # limiter, then a counter.
        self._token_prefix = secrets.token_hex(8)
        self._token_numbers = itertools.count()
        self._answered_tokens: list[str] = []
        self._answered_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SharedRateLimiter({self.state.url.masked!r}, account={self.account[:8]}...)"

    def _now(self, db: Database) -> float:
        return self._clock() if self._clock is not None else db.now()

    def acquire(self, *, create: bool = False, token: str | None = None) -> float:
        """Wait for a token (and a create token when `create`), spend it; return seconds waited."""
        windows = self._requests + self._creates if create else self._requests
        waited = 0.0
        while True:
            wait = self.state.run(lambda db: self._try_spend(db, windows, token))
            if wait <= 0:
                return waited
            level = logging.INFO if wait >= 1.0 else logging.DEBUG
            logger.log(level, "rate limiter: waiting %.2f s for the shared API budget", wait)
            self._sleep(wait)
            waited += wait

    @contextlib.contextmanager
    def spending(self, *, create: bool = False) -> Iterator[float]:
        """`acquire` for the request sent in the block; its spend counts from when it ended."""
        token = f"{self._token_prefix}-{next(self._token_numbers)}"
        waited = self.acquire(create=create, token=token)
        try:
            yield waited
        finally:
            with self._answered_lock:
                self._answered_tokens.append(token)
            try:
                self.state.run(self._record_answers)
            except StateError as exc:  # the spend keeps its start time: a little less margin
                logger.warning("rate limiter: could not record an answered request: %s", exc)

    def _record_answers(self, db: Database) -> None:
        """Move the spends of every answered token queued so far to now (none queued: another
        thread holding the connection already did)."""
        with self._answered_lock:
            tokens, self._answered_tokens = self._answered_tokens, []
        if not tokens:
            return
        try:
            db.execute(
                f"UPDATE rate_spends SET at = ? WHERE account = ? "
                f"AND token IN ({', '.join('?' * len(tokens))})",
                (self._now(db), self.account, *tokens),
            )
        except BaseException:
            with self._answered_lock:  # kept for the next attempt
                self._answered_tokens[:0] = tokens
            raise

    def _try_spend(
        self, db: Database, windows: list[tuple[str, int, float]], token: str | None
    ) -> float:
        """Spend one token of each window if all have one; else how long until they might."""
        with db.transaction():
            db.lock(f"fivetran_assets:rate:{self.account}")
            self._record_answers(db)  # before expiring: an answered spend counts from its answer
            now = self._now(db)
            until = db.scalar("SELECT until FROM rate_pauses WHERE account = ?", (self.account,))
            wait = (until or 0.0) - now
            for bucket, limit, seconds in windows:
                key = (self.account, bucket)
                spent = self._expire(db, key, now - seconds)
                if spent >= limit:
                    # The token that frees up next is the (spent - limit + 1)-th oldest.
                    oldest = db.scalar(
                        "SELECT at FROM rate_spends WHERE account = ? AND bucket = ?"
                        " ORDER BY at LIMIT 1 OFFSET ?",
                        (*key, spent - limit),
                    )
                    wait = max(wait, oldest + seconds - now)
            if wait <= 0:
                db.executemany(
                    "INSERT INTO rate_spends (account, bucket, at, token) VALUES (?, ?, ?, ?)",
                    [(self.account, bucket, now, token) for bucket, _, _ in windows],
                )
                db.executemany(
                    "UPDATE rate_counts SET spent = spent + 1 WHERE account = ? AND bucket = ?",
                    [(self.account, bucket) for bucket, _, _ in windows],
                )
        return wait

    @staticmethod
    def _expire(db: Database, key: tuple[str, str], horizon: float) -> int:
        """Drop the spends that left the window; how many remain (a running count, so a full
        window of 20,000 spends costs no more to check than an empty one)."""
        removed = db.execute(
            "DELETE FROM rate_spends WHERE account = ? AND bucket = ? AND at <= ?", (*key, horizon)
        ).rowcount
        spent = db.scalar("SELECT spent FROM rate_counts WHERE account = ? AND bucket = ?", key)
        if spent is None:
            spent = db.scalar(
                "SELECT COUNT(*) FROM rate_spends WHERE account = ? AND bucket = ?", key
            )
            db.execute(
                "INSERT INTO rate_counts (account, bucket, spent) VALUES (?, ?, ?)", (*key, spent)
            )
        elif removed:
            spent -= removed
            db.execute(
                "UPDATE rate_counts SET spent = ? WHERE account = ? AND bucket = ?", (spent, *key)
            )
        return int(spent)

    def pause_for(self, seconds: float) -> None:
        """Hold every process of this account for `seconds` (a 429 said to back off)."""

        def pause(db: Database) -> None:
            with db.transaction():
                db.lock(f"fivetran_assets:rate:{self.account}")
                until = self._now(db) + seconds
                current = db.scalar(
                    "SELECT until FROM rate_pauses WHERE account = ?", (self.account,)
                )
                if current is None:
                    db.execute(
                        "INSERT INTO rate_pauses (account, until) VALUES (?, ?)",
                        (self.account, until),
                    )
                elif current < until:
                    db.execute(
                        "UPDATE rate_pauses SET until = ? WHERE account = ?", (until, self.account)
                    )

        self.state.run(pause)


_limiters: dict[tuple[SharedState, str, RateBudget], SharedRateLimiter] = {}
_limiters_lock = threading.Lock()


def shared_rate_limiter(state: SharedState, account: str, budget: RateBudget) -> SharedRateLimiter:
    """The process's limiter for this database, account and budget; its threads take turns on
    the state's one connection."""
    key = (state, account, budget)
    with _limiters_lock:
        found = _limiters.get(key)
        if found is None:
            found = _limiters[key] = SharedRateLimiter(state, account, budget)
        return found
