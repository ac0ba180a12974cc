"""What plan and apply say they will spend of the API budget, against what they spend."""

from __future__ import annotations

from fivetran_assets.reconcile.budget import CallEstimate, apply_calls, plan_calls


def test_the_estimate_reads_as_calls_and_share_of_the_hour() -> None:
    assert CallEstimate(1006, 20_000).describe() == "~1,006 calls, 5% of 20,000/h"
    assert CallEstimate(10, 20_000).describe() == "~10 calls, <1% of 20,000/h"
    assert CallEstimate(10_060, 20_000).over_half
    assert "more than half" in CallEstimate(10_060, 20_000).warning()
    assert CallEstimate(10_000, 20_000).warning() is None


def test_apply_and_plan_spend_what_they_announce(demo) -> None:
    reconciler = demo.reconciler()
    estate = reconciler.estate
    plan = reconciler.plan()
    announced = apply_calls(plan, estate)
    demo.clear_requests()
    assert reconciler.apply(plan).verified
    assert len(demo.requests()) == announced

    demo.clear_requests()
    assert reconciler.plan().is_empty
    spent = demo.requests()
    # six listings, four schema reads; for access: account info, roles, users, teams, the team's
    # users, and the group memberships of the three users (the API key's too) and the team
    assert len(spent) == plan_calls(estate) == 6 + 4 + 9
    assert {e["method"] for e in spent} == {"GET"}


def test_a_plan_reads_on_read_concurrency_workers(demo) -> None:
    assert demo.reconciler().apply(demo.reconciler().plan()).verified
    demo.fault(kind="delay", path="/v1/*", seconds=0.5, count=-1)
    wide = demo.reconciler()
    assert wide.read_workers == 32  # account.read_concurrency's default
    assert wide.plan().is_empty
    # Every call waits half a second, so the listings (and then the four schema reads) were all
    # in flight together, each on a session of its own.
    assert wide.client._http.sessions.size >= 6
    narrow = demo.reconciler(read_workers=1)
    assert narrow.plan().is_empty
    assert narrow.client._http.sessions.size == 1
