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

A plan's 32 read workers take turns on the process's one connection, so their spends and
answers are written together: each thread queues what it needs (a token to spend, an answer to
record) and then takes the connection; whichever thread holds it serves everything queued so far
in one transaction, each spend and answer at that moment, which is when it would have been
written alone. A thread whose work another already did finds the queue empty and writes nothing.

A transaction that spends for `spending` while other requests of the process are in flight
also spends spare request tokens (a lease, up to 32) when the window is under half spent and the
budget is at least 128 a window: the process's next requests take one without a transaction.
Spares are real spends, so no other process can count on them; one not sent within 0.25 s, and
every one left when the process has no request in flight, is given back (its row deleted, the
count lowered). A spare's spend is timed from the lease until its answer moves it, as an
ordinary spend is timed from its acquire.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from fivetran_assets.fivetran.ratelimit import HOUR, MINUTE, RateBudget
from fivetran_assets.state.database import Database, StateError
from fivetran_assets.state.shared import SharedState

logger = logging.getLogger("fivetran_assets.fivetran")

REQUESTS = "requests"
CREATES_PER_MINUTE = "creates_per_minute"
CREATES_PER_HOUR = "creates_per_hour"


Windows = list[tuple[str, int, float]]  # (bucket, limit, seconds)

LEASE_MAX = 32
"""Spare request tokens one transaction may take for the process's next requests."""
LEASE_SECONDS = 0.25
"""A spare token not sent within this long goes back: its spend's time would lag its send."""


@dataclass(eq=False)
class _Ask:
    """A thread's request for a token of each window, decided by the next transaction."""

    windows: Windows
    token: str | None
    lease: bool = False  # may take spare request tokens while the window is under half spent
    wait: float | None = None  # set once decided: <= 0 spent, else seconds until worth asking


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
        self._asks: list[_Ask] = []
        # Queues emptied in place by `_taken` (never rebound): answered tokens, spares to return.
        self._answered_tokens: list[str] = []
        self._leases: list[tuple[str, float]] = []  # spare tokens spent, unsent: (token, when)
        self._returned: list[str] = []  # spare tokens to give back (unspend) in the next write
        self._in_flight = 0
        self._queue_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SharedRateLimiter({self.state.url.masked!r}, account={self.account[:8]}...)"

    def _now(self, db: Database) -> float:
        return self._clock() if self._clock is not None else db.now()

    def _elapsed(self) -> float:
        return self._clock() if self._clock is not None else time.monotonic()

    def acquire(
        self, *, create: bool = False, token: str | None = None, lease: bool = False
    ) -> float:
        """Wait for a token (and a create token when `create`), spend it; return seconds waited.
        With `lease`, the same transaction may spend spare request tokens for `spending`."""
        windows = self._requests + self._creates if create else self._requests
        waited = 0.0
        while True:
            ask = _Ask(windows, token, lease=lease and not create)
            with self._queue_lock:
                self._asks.append(ask)
            try:
                while ask.wait is None:  # decided by this thread or one that held the connection
                    self.state.run(self._spend_queued)
            except BaseException:
                with self._queue_lock:  # not left for another thread to spend
                    if ask in self._asks:
                        self._asks.remove(ask)
                raise
            wait = ask.wait
            if wait <= 0:
                return waited
            level = logging.INFO if wait >= 1.0 else logging.DEBUG
            logger.log(level, "rate limiter: waiting %.2f s for the shared API budget", wait)
            self._sleep(wait)
            waited += wait

    @contextlib.contextmanager
    def spending(self, *, create: bool = False) -> Iterator[float]:
        """`acquire` for the request sent in the block; its spend counts from when it ended.

        A request (not a create) first takes a spare token an earlier transaction spent for it
        (see the module docstring), if one is fresh, and then touches the database only to
        record its answer."""
        token = None if create else self._take_lease()
        if token is None:
            token = self._new_token()
            # Spares only for a process with other requests in flight (a plan's readers): a
            # caller sending one request at a time would lease and give back on every call.
            busy = self._in_flight > 0
            waited = self.acquire(create=create, token=token, lease=busy and not create)
        else:
            waited = 0.0
        with self._queue_lock:
            self._in_flight += 1
        try:
            yield waited
        finally:
            with self._queue_lock:
                self._answered_tokens.append(token)
                self._in_flight -= 1
                if self._in_flight == 0:  # idle: the spare tokens go back
                    self._returned += [spare for spare, _ in self._leases]
                    self._leases = []
            try:
                self.state.run(self._record_answers)
            except StateError as exc:  # the spend keeps its start time: a little less margin
                logger.warning("rate limiter: could not record an answered request: %s", exc)

    def _new_token(self) -> str:
        return f"{self._token_prefix}-{next(self._token_numbers)}"

    def _take_lease(self) -> str | None:
        """A fresh spare token, or None (stale ones are queued to go back)."""
        with self._queue_lock:
            if self._leases and self._elapsed() - self._leases[-1][1] <= LEASE_SECONDS:
                return self._leases.pop()[0]
            self._returned += [spare for spare, _ in self._leases]
            self._leases = []
            return None

    def _record_answers(self, db: Database) -> None:
        """Move the spends of every answered token queued so far to now and give back the spare
        tokens queued to go back (none queued: another thread holding the connection did)."""
        with self._taken(self._answered_tokens) as tokens, self._taken(self._returned) as returned:
            if not returned:
                self._write_answers(db, tokens)
                return
            with db.transaction():
                db.lock(f"fivetran_assets:rate:{self.account}")  # the count moves with the rows
                self._write_answers(db, tokens)
                self._write_returns(db, returned)

    def _write_returns(self, db: Database, tokens: list[str]) -> None:
        """Unspend spare tokens never sent (those already expired are gone: nothing to undo)."""
        if tokens:
            removed = db.execute(
                f"DELETE FROM rate_spends WHERE account = ? AND bucket = ? "
                f"AND token IN ({', '.join('?' * len(tokens))})",
                (self.account, REQUESTS, *tokens),
            ).rowcount
            if removed:
                db.execute(
                    "UPDATE rate_counts SET spent = spent - ? WHERE account = ? AND bucket = ?",
                    (removed, self.account, REQUESTS),
                )

    @contextlib.contextmanager
    def _taken(self, queue: list[str]) -> Iterator[list[str]]:
        """The tokens queued so far (answered, or spares to give back), taken off `queue`;
        put back if the block fails (its write was not done, or rolled back with its
        transaction)."""
        with self._queue_lock:
            tokens = queue[:]
            queue.clear()
        try:
            yield tokens
        except BaseException:
            with self._queue_lock:
                queue[:0] = tokens
            raise

    def _write_answers(self, db: Database, tokens: list[str]) -> None:
        if tokens:
            db.execute(
                f"UPDATE rate_spends SET at = ? WHERE account = ? "
                f"AND token IN ({', '.join('?' * len(tokens))})",
                (self._now(db), self.account, *tokens),
            )

    def _spend_queued(self, db: Database) -> None:
        """Decide every queued ask in one transaction (none queued: another thread did)."""
        with self._queue_lock:
            asks, self._asks = self._asks, []
        if not asks:
            self._record_answers(db)
            return
        try:
            waits, spares = self._spend(db, asks)
        except BaseException:
            with self._queue_lock:  # undecided: each asking thread tries again
                self._asks[:0] = asks
            raise
        if spares:
            leased = self._elapsed()
            with self._queue_lock:
                self._leases += [(spare, leased) for spare in spares]
        for ask, wait in zip(asks, waits, strict=True):
            ask.wait = wait

    def _spend(self, db: Database, asks: list[_Ask]) -> tuple[list[float], list[str]]:
        """For each ask in turn: spend one token of each of its windows if all have one, else
        how long until they might. Then, if an ask may lease and the request window is under
        half spent, spare request tokens (up to `LEASE_MAX`, never past half): the waits and
        the spare tokens."""
        with (
            self._taken(self._answered_tokens) as answered,
            self._taken(self._returned) as returned,
            db.transaction(),
        ):
            db.lock(f"fivetran_assets:rate:{self.account}")
            self._write_answers(db, answered)  # before expiring: a spend counts from its answer
            self._write_returns(db, returned)
            now = self._now(db)
            until = db.scalar("SELECT until FROM rate_pauses WHERE account = ?", (self.account,))
            spent: dict[str, int] = {}
            granted: dict[str, int] = {}
            rows: list[tuple[str, str, float, str | None]] = []
            waits = []
            for ask in asks:
                wait = (until or 0.0) - now
                for bucket, limit, seconds in ask.windows:
                    if bucket not in spent:
                        spent[bucket] = self._expire(db, (self.account, bucket), now - seconds)
                    if spent[bucket] >= limit:
                        frees = self._nth_oldest(db, bucket, spent[bucket] - limit, now)
                        wait = max(wait, frees + seconds - now)
                if wait <= 0:
                    for bucket, _, _ in ask.windows:
                        spent[bucket] += 1
                        granted[bucket] = granted.get(bucket, 0) + 1
                        rows.append((self.account, bucket, now, ask.token))
                waits.append(wait)
            spares = self._spares(asks, waits, spent, now, rows)
            if spares:
                granted[REQUESTS] = granted.get(REQUESTS, 0) + len(spares)
            db.executemany(
                "INSERT INTO rate_spends (account, bucket, at, token) VALUES (?, ?, ?, ?)", rows
            )
            db.executemany(
                "UPDATE rate_counts SET spent = spent + ? WHERE account = ? AND bucket = ?",
                [(n, self.account, bucket) for bucket, n in granted.items()],
            )
        return waits, spares

    def _spares(
        self,
        asks: list[_Ask],
        waits: list[float],
        spent: dict[str, int],
        now: float,
        rows: list[tuple[str, str, float, str | None]],
    ) -> list[str]:
        """Spare request tokens for a lease (their spend rows added to `rows`); only from a
        budget of at least 4 x `LEASE_MAX` a window, where a lease is a small share of it."""
        leasing = any(ask.lease and wait <= 0 for ask, wait in zip(asks, waits, strict=True))
        limit = self.budget.requests_per_hour
        if not leasing or limit < 4 * LEASE_MAX:
            return []
        count = min(LEASE_MAX, limit // 2 - spent.get(REQUESTS, limit))
        spares = [self._new_token() for _ in range(max(0, count))]
        spent[REQUESTS] = spent.get(REQUESTS, 0) + len(spares)
        rows += [(self.account, REQUESTS, now, spare) for spare in spares]
        return spares

    def _nth_oldest(self, db: Database, bucket: str, offset: int, now: float) -> float:
        """When the (offset + 1)-th oldest spend of `bucket` was made: the token that frees up
        next. Beyond the rows written, it is one this transaction spends, at `now`."""
        at = db.scalar(
            "SELECT at FROM rate_spends WHERE account = ? AND bucket = ? ORDER BY at LIMIT 1 "
            "OFFSET ?",
            (self.account, bucket, offset),
        )
        return now if at is None else float(at)

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
