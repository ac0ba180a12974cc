"""Signed webhook deliveries of the local Fivetran, with Fivetran's retry behaviour.

Fivetran POSTs each event as compact JSON signed with ``X-Fivetran-Signature-256`` (uppercase hex
HMAC-SHA256 of the raw body, keyed with the webhook's secret) and retries failed deliveries with a
growing delay for 24 hours. Event-driven clients (sensors waiting on ``sync_end``) are only as
good as their handling of late, retried and signed deliveries, so the local Fivetran reproduces
that: delays and the horizon run on the time-scaled clock.

Deliveries to one URL are made in order (a failing head delays the ones queued behind it, as a
receiver's event log expects), while different URLs are served in parallel by worker threads.

`faults` (the server's fault injector) may fault deliveries too: a rule with method ``WEBHOOK``
whose path matches the receiver URL's path. ``status`` and ``drop_before``: not delivered, the
attempt fails with that answer; ``drop_after`` and ``delay``: delivered, but the answer is lost
(or later than the timeout), so the attempt counts as failed and the event comes again.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from fivetran_assets.emulator.clock import Clock
from fivetran_assets.emulator.faults import DELIVERY_METHOD, FaultKind, FaultRule

log = logging.getLogger(__name__)

MINUTE = 60.0
DEFAULT_RETRY_DELAYS: tuple[float, ...] = tuple(MINUTE * 2**n for n in range(7))
"""1, 2, 4, ... 64 minutes (Fivetran time); the last delay repeats until the horizon."""
DEFAULT_HORIZON = 24 * 3600.0


def sign(secret: str, raw_body: bytes) -> str:
    """Fivetran's signature: uppercase hex HMAC-SHA256 of the raw body keyed with the secret."""
    return hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest().upper()


def encode(body: dict) -> bytes:
    """The compact JSON Fivetran sends (key order preserved)."""
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    status: int | None
    error: str | None


@dataclass(frozen=True)
class SenderStats:
    """Counters for tests: deliveries done, attempts that failed, deliveries abandoned at the
    horizon, and deliveries still queued or being retried."""

    delivered: int
    failed_attempts: int
    given_up: int
    pending: int


@dataclass
class _Delivery:
    url: str
    secret: str = field(repr=False)
    raw: bytes
    created: float
    on_give_up: Callable[[], None] | None = None
    attempts: int = 0


def _attempt(
    session: requests.Session | None, delivery: _Delivery, timeout: float
) -> DeliveryResult:
    headers = {
        "Content-Type": "application/json",
        "X-Fivetran-Signature-256": sign(delivery.secret, delivery.raw),
    }
    post = session.post if session is not None else requests.post
    try:
        response = post(
            delivery.url, data=delivery.raw, headers=headers, timeout=timeout, allow_redirects=False
        )
    except Exception as exc:  # any failure to deliver (bad URL, refused, timeout) is an attempt
        return DeliveryResult(False, None, f"{type(exc).__name__}: {exc}")
    if 200 <= response.status_code < 300:
        return DeliveryResult(True, response.status_code, None)
    return DeliveryResult(
        False, response.status_code, f"receiver answered HTTP {response.status_code}"
    )


class WebhookSender:
    """Background, retrying, per-URL ordered webhook delivery.

    ``retry_delays`` are Fivetran seconds between attempts (the last one repeats); a delivery is
    abandoned once its next attempt would fall after ``horizon`` Fivetran seconds from when it was
    queued, and its ``on_give_up`` callback runs (the emulator disables the webhook there).
    ``close()`` returns within about ``timeout`` real seconds at most: an attempt in flight is
    not interrupted, workers are daemon threads and pending deliveries are dropped.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        timeout: float = 5.0,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        horizon: float = DEFAULT_HORIZON,
        max_workers: int = 4,
    ) -> None:
        if not retry_delays or any(delay <= 0 for delay in retry_delays):
            raise ValueError(f"retry_delays must be positive seconds, got {list(retry_delays)}")
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        if timeout <= 0 or horizon < 0:
            raise ValueError(
                "timeout must be positive and horizon non-negative, "
                f"got timeout={timeout}, horizon={horizon}"
            )
        self.clock = clock
        self.timeout = timeout
        self.faults: Callable[[str, str], FaultRule | None] | None = None
        self.retry_delays = tuple(retry_delays)
        self.horizon = horizon
        self._cond = threading.Condition()
        self._lanes: dict[str, deque[_Delivery]] = {}
        """Queued deliveries per URL; a URL has a lane while it is ready, in flight or waiting."""
        self._ready: deque[str] = deque()
        self._waiting: list[tuple[float, int, str]] = []
        self._sequence = itertools.count()
        self._closed = False
        self._delivered = 0
        self._failed_attempts = 0
        self._given_up = 0
        self._pending = 0
        self._workers = [
            threading.Thread(target=self._work, name=f"webhook-sender-{n}", daemon=True)
            for n in range(max_workers)
        ]
        for worker in self._workers:
            worker.start()

    def deliver(
        self, url: str, secret: str, body: dict, *, on_give_up: Callable[[], None] | None = None
    ) -> None:
        """Queue a delivery of ``body`` to ``url``; returns at once."""
        delivery = _Delivery(url, secret, encode(body), self.clock.monotonic(), on_give_up)
        with self._cond:
            if self._closed:
                raise RuntimeError("WebhookSender is closed")
            self._pending += 1
            if url in self._lanes:
                self._lanes[url].append(delivery)
            else:
                self._lanes[url] = deque([delivery])
                self._ready.append(url)
                self._cond.notify()

    def deliver_now(self, url: str, secret: str, body: dict) -> DeliveryResult:
        """One synchronous attempt, no retry (the create-time and ``/test`` deliveries)."""
        delivery = _Delivery(url, secret, encode(body), self.clock.monotonic())
        return _attempt(None, delivery, self.timeout)

    def stats(self) -> SenderStats:
        with self._cond:
            return SenderStats(
                self._delivered, self._failed_attempts, self._given_up, self._pending
            )

    def close(self) -> None:
        """Stop the workers; deliveries not yet made are dropped."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        deadline = time.monotonic() + self.timeout + 1.0
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> WebhookSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next_url(self) -> str | None:
        """Block until a URL's head delivery is due (None once closed). Caller holds the lock."""
        while not self._closed:
            now = self.clock.monotonic()
            while self._waiting and self._waiting[0][0] <= now:
                self._ready.append(heapq.heappop(self._waiting)[2])
            if self._ready:
                return self._ready.popleft()
            wait = self.clock.real_seconds(self._waiting[0][0] - now) if self._waiting else None
            self._cond.wait(wait)
        return None

    def _work(self) -> None:
        with requests.Session() as session:
            while True:
                with self._cond:
                    url = self._next_url()
                    if url is None:
                        return
                    delivery = self._lanes[url][0]
                delivery.attempts += 1
                result = self._attempt(session, delivery)
                self._settle(url, delivery, result)

    def _attempt(self, session: requests.Session, delivery: _Delivery) -> DeliveryResult:
        rule = self.faults(DELIVERY_METHOD, urlsplit(delivery.url).path) if self.faults else None
        if rule is None:
            return _attempt(session, delivery, self.timeout)
        if rule.kind is FaultKind.STATUS:
            return DeliveryResult(False, rule.status, f"injected: HTTP {rule.status}")
        if rule.kind is FaultKind.DROP_BEFORE:
            return DeliveryResult(False, None, "injected: connection dropped before the delivery")
        _attempt(session, delivery, self.timeout)  # the receiver gets it; its answer is lost
        return DeliveryResult(False, None, f"injected: {rule.kind.value}, no answer seen")

    def _settle(self, url: str, delivery: _Delivery, result: DeliveryResult) -> None:
        give_up = False
        with self._cond:
            if result.ok:
                self._delivered += 1
                done = True
            else:
                self._failed_attempts += 1
                index = min(delivery.attempts, len(self.retry_delays)) - 1
                due = self.clock.monotonic() + self.retry_delays[index]
                give_up = done = due > delivery.created + self.horizon
                if give_up:
                    self._given_up += 1
                else:
                    heapq.heappush(self._waiting, (due, next(self._sequence), url))
                    self._cond.notify()
                outcome = "giving up" if give_up else "will retry"
                log.info(
                    "Webhook delivery to %s failed (attempt %d): %s; %s",
                    url,
                    delivery.attempts,
                    result.error,
                    outcome,
                )
            if done:
                lane = self._lanes[url]
                lane.popleft()
                self._pending -= 1
                if lane:
                    self._ready.append(url)
                    self._cond.notify()
                else:
                    del self._lanes[url]
        if give_up and delivery.on_give_up is not None:
            try:
                delivery.on_give_up()
            except Exception:
                log.exception("on_give_up callback for a webhook delivery to %s failed", url)
