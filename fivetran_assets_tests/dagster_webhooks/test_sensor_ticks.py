"""Ticks of the webhook sensor over a real event log and an ephemeral Dagster instance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from fivetran_assets.dagster.webhook_handler import CursorError, WebhookCursor
from fivetran_assets.dagster.webhook_record import SYNC_ENDED_KEY
from fivetran_assets.dagster.webhook_sensor import build_webhook_sensor
from fivetran_assets_tests.dagster_webhooks.estate import (
    DASHBOARD,
    Feed,
    Ticker,
    event_log,
    key,
    latest,
    materializations,
    refresh_job,
    resources,
    small_estate,
)


@pytest.fixture
def feed(tmp_path: Path) -> Feed:
    return Feed(event_log(tmp_path))


def ticker(feed: Feed, *, instance: dg.DagsterInstance | None = None, **kwargs: Any) -> Ticker:
    conns, transforms = small_estate()
    res = kwargs.pop("resources", None) or resources()
    sensor = build_webhook_sensor(conns, transforms, event_log=feed.log.url, **kwargs)
    return Ticker(sensor, instance or dg.DagsterInstance.ephemeral(), res)


def test_fivetran_scheduled_sync_is_recorded_once_per_table(feed: Feed) -> None:
    t = ticker(feed)
    sync_id = feed.sync("c_crm")
    result = t.tick()
    assert {e.asset_key for e in result.asset_events} == {
        key("crm_main", "accounts"),
        key("crm_main", "deals"),
    }
    meta = latest(t.instance, key("crm_main", "deals"))
    assert meta is not None
    assert meta["fivetran/sync_id"] == sync_id
    assert meta["fivetran/recorded_by"] == "webhook sensor"
    assert meta["fivetran/sync_started_at"] < meta[SYNC_ENDED_KEY]
    assert meta["fivetran/dashboard_url"] == f"{DASHBOARD}/connectors/c_crm/status"
    assert not t.tick().asset_events  # nothing new: the cursor moved past the event
    assert WebhookCursor.from_json(t.cursor).after == feed.ids[-1]


def test_dagster_scheduled_sync_records_nothing(feed: Feed) -> None:
    t = ticker(feed)
    feed.sync("c_web")
    result = t.tick()
    assert not result.asset_events and not result.run_requests
    assert materializations(t.instance, key("web_main", "visits")) == 0


def test_unknown_connections_and_events_are_skipped(feed: Feed) -> None:
    t = ticker(feed)
    feed.sync("c_other")
    feed.connection("pause_connector", "c_crm")
    result = t.tick()
    assert not result.asset_events
    assert WebhookCursor.from_json(t.cursor).after == feed.ids[-1]


def test_restart_from_an_old_cursor_records_nothing_twice(feed: Feed) -> None:
    """The daemon stored the events but crashed before saving the cursor: the next tick reads
    the same events again and must not record them again."""
    first = ticker(feed)
    feed.sync("c_crm")
    feed.sync("c_erp")
    assert len(first.tick().asset_events) == 3
    again = ticker(feed, instance=first.instance)  # a new process, no cursor
    assert not again.tick().asset_events
    assert materializations(first.instance, key("erp_main", "invoices")) == 1
    feed.sync("c_erp")  # a later sync of the same connection is recorded
    assert [e.asset_key for e in again.tick().asset_events] == [key("erp_main", "invoices")]


def test_sync_already_recorded_by_the_polling_sensor_is_skipped(feed: Feed) -> None:
    t = ticker(feed)
    sync_id = feed.sync("c_erp")
    ended = feed.at.timestamp() - 2  # Fivetran stamps succeeded_at just before the event
    t.instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=key("erp_main", "invoices"),
            metadata={SYNC_ENDED_KEY: dg.MetadataValue.timestamp(ended)},
        )
    )
    assert not t.tick().asset_events
    assert latest(t.instance, key("erp_main", "invoices")).get("fivetran/sync_id") != sync_id


def test_failed_and_rescheduled_syncs_are_observed_with_the_reason(feed: Feed) -> None:
    t = ticker(feed)
    feed.sync("c_crm", "FAILURE", reason="source unreachable")
    feed.sync("c_web", "RESCHEDULED", reason="quota")
    result = t.tick()
    observations = [e for e in result.asset_events if isinstance(e, dg.AssetObservation)]
    assert len(observations) == len(result.asset_events) == 3
    by_key = {o.asset_key: {k: v.value for k, v in o.metadata.items()} for o in observations}
    deals = by_key[key("crm_main", "deals")]
    assert deals["fivetran/sync_status"] == "FAILURE"
    assert deals["fivetran/reason"] == "source unreachable"
    assert deals["fivetran/dashboard_url"] == f"{DASHBOARD}/connectors/c_crm/status"
    assert by_key[key("web_main", "visits")]["fivetran/sync_status"] == "RESCHEDULED"
    assert materializations(t.instance, key("crm_main", "deals")) == 0


def test_integrated_transformation_requested_once_all_its_connections_synced(feed: Feed) -> None:
    t = ticker(feed)
    feed.sync("c_crm")
    feed.sync("c_erp")  # not one of its connections
    assert not t.tick().run_requests
    feed.sync("c_crm")
    assert not t.tick().run_requests  # web has not synced yet
    feed.sync("c_web")
    (request,) = t.tick().run_requests
    assert request.asset_selection == [key("pipeline")]
    assert request.run_key == f"fivetran_transform__sales_ops__reporting:{feed.ids[-1]}"
    feed.sync("c_web")
    assert not t.tick().run_requests  # crm must sync again since that run


def test_a_run_started_elsewhere_resets_the_integrated_state(feed: Feed) -> None:
    t = ticker(feed)
    feed.sync("c_crm")
    feed.transformation("transformation_run_start", "t_reporting", run="r1", status="RUNNING")
    feed.sync("c_web")
    assert not t.tick().run_requests
    feed.sync("c_crm")
    assert len(t.tick().run_requests) == 1


def test_integrated_requests_can_be_left_to_automation_conditions(feed: Feed) -> None:
    t = ticker(feed, request_integrated_runs=False)
    feed.sync("c_crm")
    feed.sync("c_web")
    assert not t.tick().run_requests


def test_fivetran_scheduled_transformation_run_is_recorded(feed: Feed) -> None:
    t = ticker(feed)
    feed.transformation("transformation_run_start", "t_finance", run="r7", status="RUNNING")
    feed.transformation("transformation_run_succeeded", "t_finance", run="r7", status="SUCCEEDED")
    feed.transformation("transformation_run_succeeded", "t_reporting", run="r8")
    result = t.tick()
    assert [e.asset_key for e in result.asset_events] == [key("revenue")]
    assert latest(t.instance, key("revenue"))["fivetran/run_id"] == "r7"
    assert not ticker(feed, instance=t.instance).tick().asset_events


def test_failed_transformation_is_observed_with_dbt_message(feed: Feed) -> None:
    t = ticker(feed)
    feed.transformation(
        "transformation_run_failed", "t_reporting", run="r9", status="FAILED", reason="dbt: boom"
    )
    (observation,) = t.tick().asset_events
    assert isinstance(observation, dg.AssetObservation)
    assert observation.asset_key == key("pipeline")
    assert observation.metadata["fivetran/reason"].value == "dbt: boom"


def _refreshes(result: dg.SensorResult) -> list[dg.RunRequest]:
    return [r for r in result.run_requests if r.job_name == "refresh_fivetran_state"]


def test_edit_connector_requests_a_state_refresh_run(feed: Feed) -> None:
    t = ticker(feed, refresh_job=refresh_job, request_integrated_runs=False)
    feed.connection("edit_connector", "c_crm")
    feed.connection("edit_connector", "c_other")  # not ours
    (request,) = _refreshes(t.tick())
    assert request.run_key == f"refresh_fivetran_state:{feed.ids[-1]}"  # once per event read
    assert not _refreshes(t.tick())


def test_a_schema_change_without_a_refresh_job_is_only_logged(feed: Feed) -> None:
    t = ticker(feed)
    feed.connection("edit_connector", "c_crm")
    assert not _refreshes(t.tick())


def test_new_tables_in_the_warehouse_request_a_refresh_once(feed: Feed, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema crm_main")
        for table in ("accounts", "deals", "fivetran_audit"):
            con.execute(f"create table crm_main.{table} (id int)")
        con.execute("insert into crm_main.deals values (1), (2), (3)")
    res = resources(kind="duckdb", path=str(warehouse))
    t = ticker(feed, refresh_job=refresh_job, request_integrated_runs=False, resources=res)
    feed.sync("c_crm")
    assert not _refreshes(t.tick())
    assert latest(t.instance, key("crm_main", "deals"))["dagster/row_count"] == 3
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table crm_main.contacts (id int)")
    feed.sync("c_crm")
    assert len(_refreshes(t.tick())) == 1
    assert WebhookCursor.from_json(t.cursor).reported == {"c_crm": ["crm_main.contacts"]}
    feed.sync("c_crm")
    assert not _refreshes(t.tick())  # reported once, not on every sync


def test_a_sensor_cannot_both_request_models_and_a_refresh_job() -> None:
    conns, transforms = small_estate()
    with pytest.raises(ValueError, match="not both"):
        build_webhook_sensor(conns, transforms, event_log="x.sqlite", refresh_job=refresh_job)


def test_start_from_latest_skips_history(feed: Feed) -> None:
    feed.sync("c_crm")
    t = ticker(feed, start_from_latest=True)
    assert not t.tick().asset_events
    feed.sync("c_erp")
    assert len(t.tick().asset_events) == 1


def test_large_backlog_is_read_in_pages(feed: Feed) -> None:
    for _ in range(30):
        feed.sync("c_erp")
    t = ticker(feed, page_size=7, max_events_per_tick=14)
    first = t.tick()
    assert WebhookCursor.from_json(t.cursor).after == feed.ids[13]
    assert len(first.asset_events) == 7  # one per sync_end: 14 events are 7 syncs
    while WebhookCursor.from_json(t.cursor).after < feed.ids[-1]:
        t.tick()
    assert materializations(t.instance, key("erp_main", "invoices")) == 30


def test_bad_cursor_and_bad_settings_are_named() -> None:
    with pytest.raises(CursorError, match="version"):
        WebhookCursor.from_json('{"v": 99}')
    with pytest.raises(CursorError, match="not JSON"):
        WebhookCursor.from_json("{")
    with pytest.raises(CursorError, match="'after'"):
        WebhookCursor.from_json('{"v": 1, "after": -3}')
    conns, transforms = small_estate()
    with pytest.raises(ValueError, match="page_size"):
        build_webhook_sensor(conns, transforms, event_log="x.sqlite", page_size=0)
    with pytest.raises(ValueError, match="minimum_interval_seconds"):
        build_webhook_sensor(conns, transforms, event_log="x.sqlite", minimum_interval_seconds=0)


def test_sensor_targets_only_dagster_run_integrated_models() -> None:
    conns, transforms = small_estate()
    sensor = build_webhook_sensor(conns, transforms, event_log="unused.sqlite")
    assert sensor.name == "fivetran_webhook_sensor"
    assert sensor.minimum_interval_seconds == 5
    assert list(sensor.asset_selection.selected_keys) == [key("pipeline")]
    untargeted = build_webhook_sensor(
        conns, transforms, event_log="unused.sqlite", request_integrated_runs=False
    )
    assert untargeted.asset_selection is None


def test_sync_a_running_dagster_run_will_record_is_left_to_it(feed: Feed) -> None:
    """A Dagster run materializing crm (it triggered or joined the sync) is still waiting when
    the `sync_end` arrives: the sensor must not record that sync for the tables it planned."""
    import threading

    release = threading.Event()
    planned = key("crm_main", "deals")

    @dg.asset(key=planned)
    def deals() -> None:
        release.wait(30)

    instance = dg.DagsterInstance.ephemeral()
    runner = threading.Thread(target=lambda: dg.materialize([deals], instance=instance))
    runner.start()
    try:
        while instance.get_latest_planned_materialization_info(planned) is None:
            runner.join(0.05)
        t = ticker(feed, instance=instance)
        feed.sync("c_crm")
        assert [e.asset_key for e in t.tick().asset_events] == [key("crm_main", "accounts")]
    finally:
        release.set()
        runner.join()
    feed.sync("c_crm")  # the run is over: the next sync is the sensor's to record
    assert len(t.tick().asset_events) == 2


def test_failed_sync_is_logged_with_the_dashboard_url(
    feed: Feed, capfd: pytest.CaptureFixture[str]
) -> None:
    t = ticker(feed)
    feed.sync("c_erp", "FAILURE", reason="password expired")
    t.tick()
    err = capfd.readouterr().err
    assert "sales_ops/erp ended FAILURE: password expired" in err
    assert f"see {DASHBOARD}/connectors/c_erp/status" in err


def test_events_pruned_before_they_were_read_are_reported(
    feed: Feed, capfd: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime, timedelta

    t = ticker(feed)
    feed.sync("c_erp")
    t.tick()
    feed.sync("c_erp")
    feed.log.prune(now=datetime.now(UTC) + timedelta(days=30))
    feed.sync("c_erp")
    capfd.readouterr()
    assert len(t.tick().asset_events) == 1
    assert "webhook events 3..4 were pruned" in capfd.readouterr().err


def test_integrated_transformation_with_unknown_connections_is_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from dataclasses import replace

    conns, transforms = small_estate()
    conns = [replace(ca, snapshot=None) if ca.view.name == "web" else ca for ca in conns]
    with caplog.at_level("WARNING"):
        sensor = build_webhook_sensor(conns, transforms, event_log="unused.sqlite")
    assert sensor.asset_selection is None
    assert any(
        "web of group sales_ops are not in the snapshot" in r.message for r in caplog.records
    )
