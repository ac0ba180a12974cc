"""Join access and governance to a plan, and split them off again to apply.

`with_access` reads what the estate declares (nothing when it declares nothing), checks every
role against `GET /v1/roles`, and adds the access and governance changes to the estate's plan;
`split_access` separates them so the estate's changes are applied first.
"""

from __future__ import annotations

from fivetran_assets.estate.estate import Estate
from fivetran_assets.estate.references import Environment
from fivetran_assets.fivetran.client import FivetranClient
from fivetran_assets.reconcile.access_apply import is_access_change
from fivetran_assets.reconcile.access_diff import check_roles, diff_access
from fivetran_assets.reconcile.access_reader import Declared, read_access
from fivetran_assets.reconcile.diff_context import DiffContext
from fivetran_assets.reconcile.fingerprints import FingerprintStore
from fivetran_assets.reconcile.plan import Change, Kind, Plan
from fivetran_assets.reconcile.reader import LiveEstate


def _owners(estate: Estate, live: LiveEstate) -> tuple[list[tuple[str, str]], list[str]]:
    """(connection|destination, id) pairs that declare approvals; group ids with a log service."""
    approvals: list[tuple[str, str]] = []
    logs: list[str] = []
    for group in estate.groups:
        live_group = live.groups.get(group.name)
        if live_group is None:
            continue
        destination = group.destination
        if destination.certificates is not None or destination.fingerprints is not None:
            approvals.append(("destination", live_group.group.id))
        if group.log_service is not None:
            logs.append(live_group.group.id)
        for connection in group.connections:
            found = live_group.connection(connection.name)
            if found and (
                connection.certificates is not None or connection.fingerprints is not None
            ):
                approvals.append(("connection", found.id))
    return approvals, logs


def with_access(
    plan: Plan,
    estate: Estate,
    client: FivetranClient,
    live: LiveEstate,
    *,
    fingerprints: FingerprintStore,
    environment: Environment,
    prune: bool,
    workers: int,
) -> Plan:
    """``plan`` plus the access and governance changes (EstateError for an unknown role)."""
    approvals, logs = _owners(estate, live)
    declared = Declared.of(estate)
    access = read_access(client, declared, approvals, logs, workers=workers)
    if declared.roles:
        check_roles(estate, access)
    ctx = DiffContext(fingerprints, environment, prune)
    moved = frozenset(c.group for c in plan.changes if c.kind is Kind.GROUP and c.replace)
    diff_access(ctx, estate, access, live, recreated=moved)
    if not ctx.changes and not ctx.unmanaged and not ctx.warnings:
        return plan
    return Plan(
        (*plan.changes, *ctx.changes),
        (*plan.unmanaged, *ctx.unmanaged),
        (*plan.warnings, *ctx.warnings),
        existing_count=plan.existing_count + access.count(),
        ids=plan.ids,
    )


def split_access(plan: Plan) -> tuple[Plan, list[Change]]:
    """(the plan without access and governance changes, those changes)."""
    access = [c for c in plan.changes if is_access_change(c)]
    if not access:
        return plan, []
    rest = tuple(c for c in plan.changes if not is_access_change(c))
    main = Plan(rest, plan.unmanaged, plan.warnings, plan.existing_count, ids=plan.ids)
    return main, access
