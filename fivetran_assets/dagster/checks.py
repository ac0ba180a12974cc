"""Asset checks: schema drift of synced tables, and the dbt tests of transformed models.

Schema drift: the warehouse's columns against the columns the snapshot expects.

The check lives on the connection's multi-asset (a check spec per table), so it is evaluated
from the same warehouse read as the row counts after every sync, and on its own when only the
checks are selected (then no sync runs). A separate check op per connection would double the
definitions-load time of a large estate. Freshness is a native `FreshnessPolicy` on each table
(see the translator): Dagster evaluates it against the sync frequency without an op.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dagster as dg

from fivetran_assets.snapshot.store import ModelSnapshot, TableSnapshot
from fivetran_assets.snapshot.warehouse import TableStats
from fivetran_assets.webhooks.dbt_runs import WARN, DbtRun

DRIFT = "fivetran_schema_drift"
DBT_TESTS = "fivetran_dbt_tests"


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


def dbt_test_check_specs(models: dict[dg.AssetKey, ModelSnapshot]) -> list[dg.AssetCheckSpec]:
    """`fivetran_dbt_tests` on every model with data tests (of a transformation that tests)."""
    return [
        dg.AssetCheckSpec(
            DBT_TESTS,
            asset=key,
            description=(
                f"The {len(model.tests)} dbt test(s) of this model, as the transformation's "
                "`dbt test` (or `dbt build`) step ran them in Fivetran."
            ),
        )
        for key, model in models.items()
        if model.tests
    ]


@dataclass(frozen=True)
class TestVerdict:
    """The `fivetran_dbt_tests` outcome of one model, for an op (`result`) or a sensor
    (`evaluation`) to record."""

    key: dg.AssetKey
    passed: bool
    severity: dg.AssetCheckSeverity
    metadata: dict[str, Any]
    description: str

    def _fields(self) -> dict[str, Any]:
        """What a run's check result and a sensor's check evaluation both say."""
        return {
            "asset_key": self.key,
            "check_name": DBT_TESTS,
            "passed": self.passed,
            "severity": self.severity,
            "metadata": self.metadata,
            "description": self.description,
        }

    def result(self) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(**self._fields())

    def evaluation(self) -> dg.AssetCheckEvaluation:
        return dg.AssetCheckEvaluation(**self._fields())


def dbt_test_verdict(
    key: dg.AssetKey, model: ModelSnapshot, run: DbtRun | None
) -> TestVerdict | None:
    """The verdict of the model's tests in `run`; None when none of them ran (or no report)."""
    verdicts = run.tests() if run is not None else {}
    ran = {name: verdicts[name] for name in model.tests if name in verdicts}
    if run is None or not ran:
        return None
    failed = sorted(n for n, v in ran.items() if v.failed)
    warned = sorted(n for n, v in ran.items() if v.status == WARN)
    passed = sorted(n for n, v in ran.items() if not v.failed and v.status != WARN)
    messages = {n: ran[n].message for n in (*failed, *warned) if ran[n].message}
    return TestVerdict(
        key=key,
        passed=not (failed or warned),
        severity=dg.AssetCheckSeverity.ERROR if failed else dg.AssetCheckSeverity.WARN,
        metadata={
            "failed_tests": failed,
            "warned_tests": warned,
            "passed_tests": passed,
            "test_messages": messages,
            "fivetran/run_id": run.run_id or "",
        },
        description=(
            f"{len(failed)} of {len(ran)} dbt test(s) failed: {', '.join(failed)}"
            if failed
            else f"{len(warned)} dbt test(s) warned: {', '.join(warned)}"
            if warned
            else f"{len(passed)} dbt test(s) passed"
        ),
    )
