"""Provisioning under each injected fault: apply the demo estate from empty while the local
Fivetran misbehaves on every API path. The apply either converges and verifies, or says clearly
what failed and a rerun (what a user does next) converges; never a duplicate resource."""

from __future__ import annotations

import pytest

from fivetran_assets_tests.faults.matrix import FAULTS, READ_TIMEOUT, Matrix
from fivetran_assets_tests.reconcile.conftest import Estate, demo, webhook_url  # noqa: F401

PART = "provisioning (apply)"


def assert_converged_without_duplicates(estate: Estate) -> None:
    counts = estate.inventory()
    assert set(counts.values()) == {1}, f"duplicates: {counts}"
    assert len([key for key in counts if key[0] == "connection"]) == 4
    assert estate.reconciler().plan().is_empty


@pytest.mark.parametrize("fault", FAULTS)
def test_apply_under_fault(fault: str, demo: Estate, matrix: Matrix) -> None:  # noqa: F811
    plan = demo.reconciler().plan()
    assert len(plan.changes) == 18  # 11 pipeline resources, 7 of access
    for rule in FAULTS[fault]("/v1/*", "*"):
        demo.fault(**rule)
    client = demo.client(max_retries=6, read_timeout=READ_TIMEOUT)
    report = demo.reconciler(client=client).apply(plan)
    applied = [e for e in demo.requests() if e.get("fault")]
    assert applied, f"the {fault} was never injected"
    demo.clear_faults()
    if report.ok:
        outcome = "converged, verified"
    else:
        assert report.describe(), "an apply that did not converge must say why"
        rerun = demo.reconciler().apply(demo.reconciler().plan())
        assert rerun.ok, rerun.describe()
        outcome = "failed clearly; rerun converged"
    assert_converged_without_duplicates(demo)
    matrix.record(PART, fault, f"{outcome}, 0 duplicates")
