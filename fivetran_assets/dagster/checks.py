"""Schema drift: the warehouse's columns against the columns the snapshot expects.

The check lives on the connection's multi-asset (a check spec per table), so it is evaluated
from the same warehouse read as the row counts after every sync, and on its own when only the
checks are selected (then no sync runs). A separate check op per connection would double the
definitions-load time of a large estate. Freshness is a native `FreshnessPolicy` on each table
(see the translator): Dagster evaluates it against the sync frequency without an op.
"""

from __future__ import annotations

import dagster as dg

from fivetran_assets.snapshot.store import TableSnapshot
from fivetran_assets.snapshot.warehouse import TableStats

DRIFT = "fivetran_schema_drift"


def drift_check_specs(keys: list[dg.AssetKey]) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(DRIFT, asset=key, description="Warehouse columns as in the snapshot.")
        for key in keys
    ]


def drift_result(
    key: dg.AssetKey, table: TableSnapshot, stats: TableStats | None
) -> dg.AssetCheckResult:
    """Pass when the warehouse has exactly the expected columns (`_fivetran_*` aside)."""
    if stats is None or not stats.exists:
        return dg.AssetCheckResult(
            asset_key=key,
            check_name=DRIFT,
            passed=False,
            description="table not found in the warehouse" if stats else "warehouse not readable",
        )
    expected = {c.name for c in table.columns}
    actual = {c for c in stats.columns or {} if not c.startswith("_fivetran_")}
    missing, added = sorted(expected - actual), sorted(actual - expected)
    drifted = bool(missing or added)
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=DRIFT,
        passed=not drifted,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"missing_columns": missing, "new_columns": added},
        description=(
            "columns differ from the snapshot: refresh the state (the refresh_fivetran_state job "
            "or `dg utils refresh-defs-state`)"
            if drifted
            else None
        ),
    )
