"""The webhook sensor on runs of a Fivetran-scheduled dbt transformation: both event families
read alike, what each model's event says, and the models' `fivetran_dbt_tests` checks."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from fivetran_assets.dagster.estate_view import EstateView, ScheduledBy, TransformationView
from fivetran_assets.dagster.specs import translate
from fivetran_assets.dagster.webhook_sensor import build_webhook_sensor
from fivetran_assets.snapshot.store import ModelSnapshot, Snapshot, TransformationSnapshot
from fivetran_assets_tests.dagster_webhooks.estate import (
    DASHBOARD,
    GROUP,
    Feed,
    Ticker,
    event_log,
    key,
    latest,
    materializations,
    resources,
)

RUN = (
    "10:00:01  1 of 2 OK created sql table model analytics.stg_people ........ [OK in 0.21s]\n"
    "10:00:02  2 of 2 ERROR creating sql table model analytics.headcount ..... [ERROR in 0.05s]\n"
    "10:00:02  \n"
    "10:00:02  Failure in model headcount (models/headcount.sql)\n"
    "10:00:02    Runtime Error in model headcount (models/headcount.sql)\n"
    "  Binder Error: column dept not found\n"
    "10:00:02  \n"
)
BUILT = RUN.replace("ERROR creating", "OK created").replace("[ERROR", "[OK")
TESTS = (
    "10:00:03  1 of 2 PASS not_null_stg_people_id ...................... [PASS in 0.03s]\n"
    "10:00:03  2 of 2 FAIL 3 unique_stg_people_id ...................... [FAIL 3 in 0.04s]\n"
    "10:00:03  \n"
    "10:00:03  Failure in test unique_stg_people_id (models/schema.yml)\n"
    "10:00:03    Got 3 results, configured to fail if != 0\n"
    "10:00:03  \n"
)


@pytest.fixture
def feed(tmp_path: Path) -> Feed:
    return Feed(event_log(tmp_path))


def _ticker(feed: Feed) -> Ticker:
    view = EstateView(
        connections=(),
        transformations=(
            TransformationView(
                GROUP,
                "people",
                scheduled_by=ScheduledBy.FIVETRAN,
                commands=("dbt run", "dbt test"),
            ),
        ),
        dashboard_base_url=DASHBOARD,
    )
    models = (
        ModelSnapshot(
            "stg_people",
            "analytics",
            "model.x.stg_people",
            tests=("not_null_stg_people_id", "unique_stg_people_id"),
        ),
        ModelSnapshot("headcount", "analytics", "model.x.headcount", refs=("stg_people",)),
    )
    snapshot = Snapshot(
        written_at="2026-05-22T00:00:00Z",
        transformations=(TransformationSnapshot(GROUP, "people", "t_people", models=models),),
    )
    conns, transforms = translate(view, snapshot)
    sensor = build_webhook_sensor(conns, transforms, event_log=feed.log.url)
    return Ticker(sensor, dg.DagsterInstance.ephemeral(), resources())


def test_a_failed_run_records_what_it_built_and_why_the_rest_failed(feed: Feed) -> None:
    t = _ticker(feed)
    feed.dbt_run("dbt_run_failed", "t_people", run=3, outputs={"dbt run": RUN})
    feed.transformation("transformation_run_failed", "t_people", run="3", reason="step failed")
    events = t.tick().asset_events
    by_kind = {(type(e).__name__, e.asset_key.to_user_string()) for e in events}
    assert by_kind == {
        ("AssetMaterialization", "stg_people"),
        ("AssetObservation", "headcount"),
    }, "one event per model, whichever family came first; no test ran, so no check"
    built = latest(t.instance, key("stg_people"))
    assert built["fivetran/built_in_run"] is True and built["fivetran/run_id"] == "3"
    assert built["fivetran/dbt_status"] == "success" and built["fivetran/dbt_seconds"] == 0.21
    assert built["fivetran/run_duration_seconds"] == 30.0
    (failed,) = [e for e in events if isinstance(e, dg.AssetObservation)]
    assert failed.metadata["fivetran/built_in_run"].value is False
    assert failed.metadata["fivetran/dbt_message"].value == "Binder Error: column dept not found"
    assert "dbt error" in (failed.description or "")


def test_test_failures_become_the_models_check(feed: Feed) -> None:
    t = _ticker(feed)
    feed.dbt_run("dbt_run_failed", "t_people", run=4, outputs={"dbt run": BUILT, "dbt test": TESTS})
    events = t.tick().asset_events
    (check,) = [e for e in events if isinstance(e, dg.AssetCheckEvaluation)]
    assert check.asset_key == key("stg_people") and check.check_name == "fivetran_dbt_tests"
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["failed_tests"].value == ["unique_stg_people_id"]
    assert check.metadata["passed_tests"].value == ["not_null_stg_people_id"]
    assert "unique_stg_people_id" in (check.description or "")
    assert materializations(t.instance, key("headcount")) == 1  # built, then tests failed
    record = t.instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(key("stg_people"), "fivetran_dbt_tests")]
    )
    assert record  # stored against the check the asset definition declares

    feed.transformation("transformation_run_failed", "t_people", run="4", reason="tests")
    assert not t.tick().asset_events, "the other family's event of run 4 records nothing"
