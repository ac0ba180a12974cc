"""Hostile deliveries to the webhook receiver: signed bodies it cannot decode or store get 400 for
that delivery alone, unsigned ones 401, oversize 413; none 5xx, no traceback, nothing invalid in
the event log, and valid neighbours sent at the same moment are all stored."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from fivetran_assets.json_policy import InputError, parse_json
from fivetran_assets.webhooks.server import ReceiverServer
from fivetran_assets.webhooks.signature import SIGNATURE_HEADER, sign

SECRET = "whsec-hostile"
PATH = "/fivetran/webhook"


def event(n: int, *, connector_id: str = "", created: str = "") -> bytes:
    """A compact `sync_end` body; `connector_id`/`created` are raw JSON string contents."""
    created = created or f"2026-05-22T00:{n // 60 % 60:02d}:{n % 60:02d}.000Z"
    return (
        f'{{"event":"sync_end","created":"{created}","connector_type":"sqlite",'
        f'"connector_id":"{connector_id or "c"}","sync_id":"s{n}","destination_group_id":"g",'
        '"data":{"status":"SUCCESSFUL"}}'
    ).encode()


HOSTILE: list[tuple[str, bytes, str | None]] = [
    ("lone surrogate in connector_id", event(1, connector_id="\\ud800x"), "connector_id"),
    ("lone surrogate in a data key", event(2).replace(b'"status"', b'"\\udfff"'), "data"),
    ("created 0001-01-01T00:00:00+14:00", event(3, created="0001-01-01T00:00:00+14:00"), "created"),
    ("created 9999-12-31T23:59:59-14:00", event(4, created="9999-12-31T23:59:59-14:00"), "created"),
    ("created year 1", event(5, created="0001-01-01T00:00:00Z"), "created"),
    ("created not a time", event(6, created="soon"), "created"),
    (
        "created a number",
        event(7).replace(b'"created":"2026-05-22T00:00:07.000Z"', b'"created":7'),
        "created",
    ),
    (
        "nested 5000 deep",
        b'{"event":"sync_end","data":' + b"[" * 5000 + b"]" * 5000 + b"}",
        "nested",
    ),
    ("nested 65 deep", b'{"event":"x","data":{"a":' + b"[" * 64 + b"]" * 64 + b"}}", "nested"),
    ("NaN", event(8).replace(b'"data":{', b'"data":{"n":NaN,'), "NaN"),
    ("1e999", event(9).replace(b'"data":{', b'"data":{"n":1e999,'), "1e999"),
    (
        "integer beyond 64 bits",
        event(10).replace(b'"data":{', b'"data":{"n":' + b"9" * 30 + b","),
        "64 bits",
    ),
    ("invalid UTF-8", event(11).replace(b'"c"', b'"\xff\xfe"'), "UTF-8"),
    ("truncated", event(12)[:-3], "JSON"),
    ("not an object", b"[1,2]", "object"),
    ("event missing", event(13).replace(b'"event":"sync_end",', b""), "event"),
    (
        "connector_id an object",
        event(14).replace(b'"connector_id":"c"', b'"connector_id":{}'),
        "connector_id",
    ),
]


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[ReceiverServer]:
    with ReceiverServer(db=tmp_path / "events.sqlite", secrets=[SECRET]) as server:
        yield server


def _post(http: httpx.Client, body: bytes, *, signature: str | None = "sign") -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        headers[SIGNATURE_HEADER] = sign(SECRET, body)
    elif signature is not None:
        headers[SIGNATURE_HEADER] = signature
    return http.post(PATH, content=body, headers=headers)


def _raw_request(receiver: ReceiverServer, headers: bytes, body: bytes) -> tuple[int, str]:
    """What a client that does not speak HTTP properly gets (httpx refuses to send it)."""
    host, port = receiver.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        sock.sendall(body)
        answer = sock.recv(65536).decode("latin-1")
    head, _, text = answer.partition("\r\n\r\n")
    return int(head.split()[1]), text


def _error(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", ""))
    except ValueError:
        return response.text


def test_hostile_deliveries_get_clear_4xx_and_store_nothing(
    receiver: ReceiverServer, caplog, make_tally
) -> None:
    caplog.set_level(logging.WARNING)
    tally = make_tally("webhook receiver")
    with httpx.Client(base_url=receiver.url, timeout=30) as http:
        for label, body, names in HOSTILE:
            answer = _post(http, body)
            tally.record(label, answer.status_code, _error(answer), names=names)
        unsigned = [
            ("unsigned", event(20), None),
            ("forged", event(21), sign("guess", event(21))),
            ("signature of another body", event(22), sign(SECRET, event(23))),
            ("signature not hex", event(24), "sha256=zz"),
        ]
        for label, body, signature in unsigned:
            answer = _post(http, body, signature=signature)
            tally.record(label, answer.status_code, _error(answer), names="Signature")
        huge = event(25)[:-1] + b',"pad":"' + b"x" * (1024 * 1024) + b'"}'
        answer = _post(http, huge)
        tally.record("oversize", answer.status_code, _error(answer), names="limit")
    status, text = _raw_request(receiver, b"Content-Length: 12x\r\n", event(26))
    tally.record("Content-Length not a number", status, text)
    tally.persisted_invalid = receiver.log.count()  # nothing above may be stored
    tally.count_logged_tracebacks(caplog.records)
    tally.assert_clean()


def test_a_bad_event_is_refused_alone_among_concurrent_valid_ones(receiver: ReceiverServer) -> None:
    """The adversarial pass: 380 signed events at once, about a quarter unstorable, interleaved
    so they share write batches with valid ones: every valid one is stored."""
    bodies = [event(n, connector_id="\\ud800bad" if n % 17 < 4 else f"c{n}") for n in range(380)]
    bad = {n for n in range(380) if n % 17 < 4}
    with (
        httpx.Client(base_url=receiver.url, timeout=60) as http,
        ThreadPoolExecutor(max_workers=16) as pool,
    ):
        statuses = list(pool.map(lambda body: _post(http, body).status_code, bodies))
    assert {statuses[n] for n in bad} == {400}
    assert [n for n in range(380) if n not in bad and statuses[n] != 200] == []
    stored = receiver.log.read_after(0, limit=1000)
    assert len(stored) == 380 - len(bad)
    for item in stored:
        try:
            parse_json(item.raw_body)
        except InputError as exc:  # pragma: no cover - the failure message
            pytest.fail(f"invalid event stored: {exc}")
        assert json.loads(item.raw_body)["connector_id"] == item.event.connector_id
