"""What a plan or an apply will spend of the account's API budget, said before it is spent.

Fivetran counts every request of an account against one rolling hour (20,000 on paid plans), and
a plan of a large estate is mostly one schema read per connection: a 10,000-connection plan is
half the hour's budget, which syncs, sensors and other tools share. The CLI prints the estimate
before reading, and warns when one run would take more than half of the budget.

The estimates follow the reader and the applier: a plan lists six account-wide collections (one
call per page of 1,000) and reads one schema config per declared connection; an apply makes the
calls `Operations` makes for each change, then re-plans to verify.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fivetran_assets.estate.estate import Estate
from fivetran_assets.fivetran.http import PAGE_LIMIT
from fivetran_assets.reconcile.access_apply import access_apply_calls, is_access_change
from fivetran_assets.reconcile.access_reader import read_calls as access_read_calls
from fivetran_assets.reconcile.plan import Change, Kind, Plan

WARN_SHARE = 0.5  # of the hourly budget, for one run


@dataclass(frozen=True)
class CallEstimate:
    """About `calls` API calls, against an hourly budget of `requests_per_hour`."""

    calls: int
    requests_per_hour: int

    @property
    def share(self) -> float:
        return self.calls / self.requests_per_hour

    @property
    def over_half(self) -> bool:
        return self.share > WARN_SHARE

    def describe(self) -> str:
        """`~1,006 calls, 5% of 20,000/h`."""
        share = self.share * 100
        percent = "<1%" if 0 < share < 1 else f"{share:.0f}%"
        return f"~{self.calls:,} calls, {percent} of {self.requests_per_hour:,}/h"

    def warning(self) -> str | None:
        """A warning when this run alone would take more than half of the hourly budget."""
        if not self.over_half:
            return None
        return (
            f"this run needs {self.describe()}: more than half of the account's hourly API "
            "budget, which syncs, sensors and other tools share; expect them to be paced"
        )


def _pages(items: int) -> int:
    return max(1, math.ceil(items / PAGE_LIMIT))


def plan_calls(estate: Estate) -> int:
    """Calls of one plan of `estate` once it exists: six listings and one schema read per
    connection (fewer while connections are still to be created)."""
    groups = estate.groups
    connections = sum(len(g.connections) for g in groups)
    listings = (
        _pages(len(groups)),  # groups
        _pages(len(groups)),  # destinations
        _pages(sum(len(g.webhooks) for g in groups)),
        _pages(connections),
        _pages(sum(g.transformation_project is not None for g in groups)),
        _pages(sum(len(g.transformations) for g in groups)),
    )
    return sum(listings) + connections + access_read_calls(estate)


def change_calls(change: Change) -> int:
    """The calls `Operations` makes for one change (setup tests that pass are part of a create)."""
    if change.removes:
        return 1
    if change.kind is Kind.SCHEMA_CONFIG:
        return 2  # read the captured schema, patch the selection
    if change.kind is Kind.CONNECTION:
        if change.existing is None or change.replace:
            # create, capture the schema, patch the selection, unpause; a replacement deletes first
            return 4 + (change.replace and change.existing is not None)
        return 1
    return 1


def apply_calls(plan: Plan, estate: Estate) -> int:
    """Calls of applying `plan`, plus the plan that verifies it converged."""
    estate_changes = [c for c in plan.changes if not is_access_change(c)]
    access = [c for c in plan.changes if is_access_change(c)]
    return (
        sum(change_calls(c) for c in estate_changes)
        + access_apply_calls(access, _ids_after(plan))
        + plan_calls(estate)
    )


def _ids_after(plan: Plan) -> set[str]:
    """The id keys the estate's apply knows when access is applied: the plan's, and those of
    the groups and connections it creates."""
    created = {
        f"{c.kind.value}:{c.label}"
        for c in plan.changes
        if c.kind in (Kind.GROUP, Kind.CONNECTION) and not c.removes
    }
    return set(plan.ids) | created


def estimate(calls: int, estate: Estate) -> CallEstimate:
    return CallEstimate(calls, estate.account.rate_budget.requests_per_hour)
