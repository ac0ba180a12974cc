"""Webhook deliveries checked by an independent receiver: signature, body, retries, ordering."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fivetran_assets.emulator.clock import Clock
from fivetran_assets.emulator.webhook_sender import DeliveryResult, WebhookSender, sign
from fivetran_assets_tests.emulator.uvicorn_thread import free_port

SECRET = "whsec_do_not_leak"
EVENT = {
    "event": "sync_end",
    "created": "2026-05-22T00:06:08.638Z",
    "connector_type": "postgres",
    "connector_id": "assimilate_seem",
    "connector_name": "ftar_pg",
    "sync_id": "b4703f73-6315-4e22-8d7a-3bfb18b2fed2",
    "destination_group_id": "inappropriate_implode",
    "data": {"status": "SUCCESSFUL"},
}


class Receiver:
    """A tiny HTTP server that records deliveries; per path it can fail or stall on purpose."""

    def __init__(self) -> None:
        self.received: dict[str, list[tuple[dict[str, str], bytes, float]]] = defaultdict(list)
        self.fail_first: dict[str, int] = {}
        self.stall: dict[str, float] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.stall.get(self.path, 0.0))
                with receiver.lock:
                    receiver.received[self.path].append((dict(self.headers), raw, time.monotonic()))
                    failing = receiver.fail_first.get(self.path, 0)
                    receiver.fail_first[self.path] = failing - 1
                self.send_response(500 if failing > 0 else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def bodies(self, path: str) -> list[dict]:
        with self.lock:
            return [json.loads(raw) for _, raw, _ in self.received[path]]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def test_sign_is_uppercase_hex_hmac_sha256() -> None:
    # RFC 4231-style well-known vector for HMAC-SHA256.
    digest = sign("key", b"The quick brown fox jumps over the lazy dog")
    assert digest == "F7BC83F430538424B13298E6AA6FB143EF4D59A14946175997479DBC2D1A3CD8"


def test_delivery_is_compact_signed_and_ordered_as_given(receiver: Receiver) -> None:
    with WebhookSender(Clock(time_scale=600)) as sender:
        sender.deliver(receiver.base + "/hook", SECRET, EVENT)
        wait_for(lambda: sender.stats().delivered == 1)
    ((headers, raw, _),) = receiver.received["/hook"]
    assert raw == json.dumps(EVENT, separators=(",", ":")).encode()
    assert raw.startswith(b'{"event":"sync_end","created":')
    assert headers["Content-Type"] == "application/json"
    expected = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert headers["X-Fivetran-Signature-256"] == expected.upper()
    assert sender.stats().pending == 0


def test_failed_deliveries_are_retried_with_growing_time_scaled_delays(receiver) -> None:
    receiver.fail_first["/flaky"] = 3
    clock = Clock(time_scale=600)  # one Fivetran minute = 0.1 s
    with WebhookSender(clock, retry_delays=(60, 120, 240)) as sender:
        sender.deliver(receiver.base + "/flaky", SECRET, EVENT)
        wait_for(lambda: sender.stats().delivered == 1)
        stats = sender.stats()
    assert (stats.delivered, stats.failed_attempts, stats.given_up, stats.pending) == (1, 3, 0, 0)
    times = [at for _, _, at in receiver.received["/flaky"]]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) == 3
    for gap, expected in zip(gaps, (0.1, 0.2, 0.4), strict=True):
        assert expected * 0.9 <= gap < expected + 0.5
    assert len({raw for _, raw, _ in receiver.received["/flaky"]}) == 1  # same bytes each time


def test_gives_up_at_the_horizon_and_reports_it(receiver: Receiver) -> None:
    receiver.fail_first["/dead"] = 100
    gave_up = threading.Event()
    clock = Clock(time_scale=600)
    with WebhookSender(clock, retry_delays=(60,), horizon=300) as sender:
        sender.deliver(receiver.base + "/dead", SECRET, EVENT, on_give_up=gave_up.set)
        assert gave_up.wait(5)
        stats = sender.stats()
    assert (stats.delivered, stats.given_up, stats.pending) == (0, 1, 0)
    assert 5 <= stats.failed_attempts <= 6  # one attempt a minute for five minutes


def test_one_url_stays_in_order_while_other_urls_go_in_parallel(receiver: Receiver) -> None:
    receiver.fail_first["/ordered"] = 2
    receiver.stall["/slow"] = 0.4
    with WebhookSender(Clock(time_scale=600), retry_delays=(60,), max_workers=4) as sender:
        for n in range(3):
            sender.deliver(receiver.base + "/slow", SECRET, {"n": n})
        for n in range(10):
            sender.deliver(receiver.base + "/ordered", SECRET, {"n": n})
        wait_for(lambda: len(receiver.bodies("/ordered")) == 12)
        assert len(receiver.bodies("/slow")) <= 1  # the slow receiver did not hold others up
        wait_for(lambda: sender.stats().delivered == 13)
    assert [body["n"] for body in receiver.bodies("/ordered")] == [0, 0, 0, *range(1, 10)]
    assert [body["n"] for body in receiver.bodies("/slow")] == [0, 1, 2]


def test_unreachable_receiver_counts_as_a_failed_attempt() -> None:
    url = f"http://127.0.0.1:{free_port()}/nobody"
    with WebhookSender(Clock(time_scale=600), retry_delays=(60,), horizon=120) as sender:
        sender.deliver(url, SECRET, EVENT)
        wait_for(lambda: sender.stats().given_up == 1)
        assert sender.stats().failed_attempts >= 2


def test_deliver_now_is_one_synchronous_attempt(receiver: Receiver) -> None:
    receiver.fail_first["/bad"] = 1
    with WebhookSender(Clock(), timeout=2.0) as sender:
        assert sender.deliver_now(receiver.base + "/ok", SECRET, EVENT) == DeliveryResult(
            True, 200, None
        )
        failed = sender.deliver_now(receiver.base + "/bad", SECRET, EVENT)
        assert (failed.ok, failed.status) == (False, 500)
        assert "500" in (failed.error or "")
        refused = sender.deliver_now(f"http://127.0.0.1:{free_port()}/", SECRET, EVENT)
        assert (refused.ok, refused.status) == (False, None)
        assert refused.error
        malformed = sender.deliver_now("http://[::1", SECRET, EVENT)
        assert (malformed.ok, malformed.status) == (False, None)
        time.sleep(0.1)
        assert len(receiver.received["/bad"]) == 1  # no retry
        assert sender.stats().failed_attempts == 0


def test_close_is_prompt_with_retries_pending(receiver: Receiver) -> None:
    receiver.fail_first["/down"] = 10
    sender = WebhookSender(Clock(time_scale=1), retry_delays=(3600,))
    sender.deliver(receiver.base + "/down", SECRET, EVENT)
    wait_for(lambda: sender.stats().failed_attempts == 1)
    started = time.monotonic()
    sender.close()
    assert time.monotonic() - started < 0.5
    assert sender.stats().pending == 1
    with pytest.raises(RuntimeError, match="closed"):
        sender.deliver(receiver.base + "/down", SECRET, EVENT)


def test_the_secret_is_never_logged(receiver: Receiver, caplog) -> None:
    receiver.fail_first["/hook"] = 2
    caplog.set_level(logging.DEBUG)
    with WebhookSender(Clock(time_scale=6000), retry_delays=(60,)) as sender:
        sender.deliver(receiver.base + "/hook", SECRET, EVENT, on_give_up=lambda: None)
        wait_for(lambda: sender.stats().delivered == 1)
    assert "attempt 1" in caplog.text
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"retry_delays": ()}, "retry_delays"),
        ({"retry_delays": (60, 0)}, "retry_delays"),
        ({"max_workers": 0}, "max_workers"),
        ({"timeout": 0}, "timeout"),
    ],
)
def test_bad_settings_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WebhookSender(Clock(), **kwargs)
