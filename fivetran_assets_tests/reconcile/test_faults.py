"""Apply survives a bad network and a busy API, and converges without duplicates."""

from __future__ import annotations

import gc
from collections import Counter

import pytest

from fivetran_assets.estate import EstateError
from fivetran_assets.fivetran import FivetranError

WRITES = ("POST", "PATCH", "DELETE")


def _assert_converged_without_duplicates(demo) -> None:
    counts = demo.inventory()
    assert set(counts.values()) == {1}, counts
    assert len([k for k in counts if k[0] == "connection"]) == 4
    assert demo.reconciler().plan().is_empty


def test_interrupted_apply_then_rerun_converges_without_duplicates(demo) -> None:
    # Every request from the 12th on loses its connection (after the server acted on it, so
    # creates are ambiguous), as if the network died mid-apply.
    demo.fault(kind="drop_after", path="/v1/*", after=11, count=-1)
    report = demo.reconciler(client=demo.client(max_retries=1)).apply(demo.reconciler().plan())
    assert not report.result.ok
    demo.clear_faults()

    plan = demo.reconciler().plan()
    assert not plan.is_empty
    report = demo.reconciler().apply(plan)
    assert report.result.ok, report.result.failures()
    assert report.verified
    _assert_converged_without_duplicates(demo)


def test_ambiguous_creates_are_re_read_not_repeated(demo) -> None:
    demo.fault(kind="drop_after", path="/v1/connections", method="POST", count=2)
    demo.fault(kind="drop_after", path="/v1/groups", method="POST", count=1)
    report = demo.reconciler().apply(demo.reconciler().plan())
    assert report.result.ok, report.result.failures()
    assert report.verified
    posts = Counter(e["path"] for e in demo.requests() if e["method"] == "POST")
    assert posts["/v1/groups"] == 1
    assert posts["/v1/connections"] == 4
    _assert_converged_without_duplicates(demo)


def test_429_storm_and_503_bursts_complete_with_the_right_end_state(demo) -> None:
    demo.fault(kind="status", status=429, retry_after=1, path="/v1/*", after=3, count=15)
    demo.fault(kind="status", status=503, path="/v1/connections", method="POST", count=3)
    demo.fault(kind="status", status=503, path="/v1/connections/*", method="PATCH", count=3)
    demo.fault(kind="status", status=503, path="/v1/webhooks/*", method="POST", count=2)
    reconciler = demo.reconciler(client=demo.client(max_retries=12))
    report = reconciler.apply(reconciler.plan())
    assert report.result.ok, report.result.failures()
    assert report.verified
    statuses = Counter(e["status"] for e in demo.requests())
    assert statuses[429] >= 10 and statuses[503] >= 6
    _assert_converged_without_duplicates(demo)


def test_missing_secret_stops_apply_before_any_call(demo) -> None:
    plan = demo.reconciler().plan()
    del demo.env["FIVETRAN_WEBHOOK_SECRET"]
    demo.clear_requests()
    with pytest.raises(EstateError) as raised:
        demo.reconciler().apply(plan)
    assert "FIVETRAN_WEBHOOK_SECRET" in str(raised.value)
    assert "webhooks[0].secret" in str(raised.value)
    assert demo.requests() == []


def test_a_failed_schema_read_fails_the_plan_and_leaves_the_collector_on(demo) -> None:
    """The plan's schema reads run on a pool with the cycle collector paused: a read that
    fails for good ends the plan with its error, and the collector is back on afterwards."""
    report = demo.reconciler().apply(demo.reconciler().plan())
    assert report.result.ok, report.result.failures()
    demo.fault(kind="status", status=403, path="/v1/connections/*/schemas", count=-1)
    with pytest.raises(FivetranError) as info:
        demo.reconciler().plan()
    assert str(info.value).startswith("403 ") and "/schemas" in str(info.value)
    assert gc.isenabled()
