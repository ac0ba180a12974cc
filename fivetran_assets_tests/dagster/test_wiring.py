"""How the Dagster face is wired: event log choice, sync tags and limits, resources from the
estate's account section, the sync pool, and DuckDB's open-with-another-configuration retry."""

from __future__ import annotations

import threading
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from fivetran_assets.dagster.build import (
    EVENT_LOG_ENV,
    SYNC_POOL,
    build_fivetran_definitions,
    default_resources,
    event_log_path,
)
from fivetran_assets.dagster.estate_view import (
    AccountView,
    ConnectionView,
    EstateView,
    ScheduledBy,
    estate_view,
)
from fivetran_assets.snapshot.store import (
    ColumnSnapshot,
    ConnectionSnapshot,
    Snapshot,
    TableSnapshot,
)

ROOT = Path(__file__).resolve().parents[2]


def test_event_log_is_the_receivers_default_only_when_a_webhook_is_declared(
    tmp_path: Path,
) -> None:
    default = tmp_path / ".state" / "webhooks.sqlite"  # where `make demo` runs the receiver
    assert event_log_path(tmp_path, webhooks=True, environ={}) == default
    state = {"FIVETRAN_ASSETS_STATE_DIR": "/var/lib/ft"}  # the stack's state dir, moved
    assert event_log_path(tmp_path, webhooks=True, environ=state) == Path(
        "/var/lib/ft/webhooks.sqlite"
    )
    assert event_log_path(tmp_path, webhooks=False, environ={}) is None
    assert event_log_path(tmp_path, webhooks=True, environ={EVENT_LOG_ENV: "off"}) is None
    explicit = {EVENT_LOG_ENV: "/srv/receiver/events.sqlite"}
    assert event_log_path(tmp_path, webhooks=False, environ=explicit) == Path(
        explicit[EVENT_LOG_ENV]
    )
    relative = {EVENT_LOG_ENV: "var/events.sqlite"}
    assert (
        event_log_path(tmp_path, webhooks=False, environ=relative) == tmp_path / "var/events.sqlite"
    )
    shared = {EVENT_LOG_ENV: "postgresql://ft@db.internal:5432/dagster"}
    assert event_log_path(tmp_path, webhooks=True, environ=shared) == shared[EVENT_LOG_ENV]


def test_the_demo_config_declares_a_webhook_so_its_definitions_run_the_webhook_sensor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fivetran_assets.dagster.build import load_fivetran_definitions

    monkeypatch.delenv(EVENT_LOG_ENV, raising=False)
    defs = load_fivetran_definitions(ROOT / "config")
    sensor = defs.resolve_sensor_def("fivetran_webhook_sensor")
    assert sensor.default_status is dg.DefaultSensorStatus.RUNNING
    monkeypatch.setenv(EVENT_LOG_ENV, "off")
    names = {s.name for s in load_fivetran_definitions(ROOT / "config").sensors or ()}
    assert "fivetran_webhook_sensor" not in names


def _view(limit: int | None) -> tuple[EstateView, Snapshot]:
    columns = (ColumnSnapshot("id", "INTEGER", primary_key=True),)
    conns = tuple(
        ConnectionView(
            group="g",
            name=name,
            service="sqlite",
            destination_service="duckdb",
            scheduled_by=ScheduledBy.DAGSTER,
            sync_frequency=60,
        )
        for name in ("a", "b")
    )
    snapshot = Snapshot(
        written_at="2026-01-01T00:00:00.000000Z",
        connections=tuple(
            ConnectionSnapshot(
                "g",
                c.name,
                f"id_{c.name}",
                "sqlite",
                (TableSnapshot("main", "t", f"{c.name}_main", "t", columns),),
            )
            for c in conns
        ),
    )
    return EstateView(connections=conns, sync_pool_limit=limit), snapshot


def test_syncs_are_bounded_by_their_pool_alone() -> None:
    """One mechanism: the `fivetran_syncs` pool on every connection asset; no run tag for the
    run queue, no executor tag limits, and no op writes the instance's pool limits."""
    from fivetran_assets.dagster.provision import PROVISIONING_POOL, provision_fivetran

    view, snapshot = _view(limit=2)
    defs = build_fivetran_definitions(view, snapshot, resources=default_resources(view))
    assets = [a for a in defs.assets or () if isinstance(a, dg.AssetsDefinition)]
    assert assets and {a.op.pool for a in assets} == {SYNC_POOL}
    for name in ("sync_all", "pipeline", "group_g"):
        job = defs.resolve_job_def(name)
        assert not [t for t in job.tags if t.startswith("fivetran_assets/")], name
        config = job.executor_def.config_schema.resolve_config({}).value["config"]
        assert not config.get("tag_concurrency_limits"), name
    (schedule,) = defs.schedules or ()
    assert not schedule.tags
    assert {node.definition.pool for node in provision_fivetran.nodes} == {PROVISIONING_POOL}
    source = (ROOT / "fivetran_assets" / "dagster").rglob("*.py")
    assert not any("set_concurrency_slots" in p.read_text() for p in source)


def test_executor_runs_at_most_max_concurrent_syncs_steps() -> None:
    view, snapshot = _view(limit=3)
    defs = build_fivetran_definitions(view, snapshot, resources=default_resources(view))
    executor = defs.resolve_job_def("sync_all").executor_def
    config = executor.config_schema.resolve_config({}).value["config"]
    assert config["max_concurrent"] == 3  # not the CPU count


def test_default_resources_follow_the_account_section(monkeypatch: pytest.MonkeyPatch) -> None:
    view, _ = _view(limit=None)
    account = AccountView(
        base_url="http://fivetran.internal:9000",
        api_key_env="ACME_FT_KEY",
        api_secret_env="ACME_FT_SECRET",
        requests_per_hour=1234,
        connect_timeout=3.0,
        read_timeout=7.0,
    )
    monkeypatch.setenv("FIVETRAN_TIME_SCALE", "60")
    resources = default_resources(EstateView(connections=view.connections, account=account))
    fivetran = resources["fivetran"]
    assert fivetran.base_url == "http://fivetran.internal:9000"
    assert (fivetran.requests_per_hour, fivetran.connect_timeout, fivetran.read_timeout) == (
        1234,
        3.0,
        7.0,
    )
    assert fivetran.time_scale == 60.0
    assert (
        isinstance(fivetran.api_key, dg.EnvVar) and fivetran.api_key.env_var_name == "ACME_FT_KEY"
    )
    assert fivetran.api_secret.env_var_name == "ACME_FT_SECRET"


def test_demo_account_section_reaches_the_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    from fivetran_assets.estate import load_estate

    monkeypatch.setenv("FIVETRAN_BASE_URL", "http://127.0.0.1:1")
    view = estate_view(load_estate(ROOT / "config"))
    assert view.webhooks and view.account.base_url == "http://127.0.0.1:1"
    assert default_resources(view)["fivetran"].base_url == "http://127.0.0.1:1"


def test_scaled_time_shrinks_the_rate_margin() -> None:
    from fivetran_assets.dagster.resources import FivetranResource

    scaled = FivetranResource(api_key="k", api_secret="s", time_scale=60.0).get_client()
    real = FivetranResource(api_key="k", api_secret="s").get_client()
    assert scaled._http.limiter.budget.margin_seconds == 0.1
    assert real._http.limiter.budget.margin_seconds == 1.0


def test_duckdb_open_with_another_configuration_is_waited_out(tmp_path: Path) -> None:
    from fivetran_assets.snapshot.warehouse import DuckDBWarehouse, WarehouseError

    path = tmp_path / "w.duckdb"
    writer = duckdb.connect(str(path))  # read-write in this process: read-only opens fail
    writer.execute("create table t as select 1 as id")
    with pytest.raises(WarehouseError, match="different configuration"):
        DuckDBWarehouse(path=str(path), lock_retry_seconds=0.2).describe([("main", "t")])
    threading.Timer(0.5, writer.close).start()
    stats = DuckDBWarehouse(path=str(path), lock_retry_seconds=10).describe([("main", "t")])
    assert stats[("main", "t")].row_count == 1


def test_first_look_is_timed_from_a_webhook_recorded_fivetran_sync() -> None:
    """No Dagster-run history, but the webhook sensor recorded a Fivetran-run sync's start and
    end: that duration times the first poll."""
    from datetime import UTC, datetime, timedelta

    from fivetran_assets.dagster.assets import DURATION_KEY, previous_duration

    key = dg.AssetKey(["g", "a_main", "t"])
    instance = dg.DagsterInstance.ephemeral()
    assert previous_duration(instance, [key]) is None
    ended = datetime(2026, 1, 1, tzinfo=UTC)
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=key,
            metadata={
                "fivetran/sync_started_at": dg.MetadataValue.timestamp(
                    ended - timedelta(minutes=9)
                ),
                "fivetran/sync_ended_at": dg.MetadataValue.timestamp(ended),
            },
        )
    )
    assert previous_duration(instance, [key]) == 540.0
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=key, metadata={DURATION_KEY: 42.0})
    )
    assert previous_duration(instance, [key]) == 42.0


def test_every_path_builds_its_client_from_the_account_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's client and the Dagster resource's (so the provisioning job's) get the same
    budget, create caps included, paced by one limiter in the same shared state."""
    from fivetran_assets.estate import load_estate
    from fivetran_assets.estate.connect import client_for
    from fivetran_assets.state.ratelimit import SharedRateLimiter

    config = yaml.safe_load((ROOT / "config" / "fivetran.yaml").read_text())
    config["account"]["rate_budget"] = {
        "requests_per_hour": 1000,
        "connection_creates_per_minute": 7,
        "connection_creates_per_hour": 50,
    }
    (tmp_path / "fivetran.yaml").write_text(yaml.safe_dump(config))
    for name, value in {
        "FIVETRAN_API_KEY": "key-value",
        "FIVETRAN_API_SECRET": "secret-value",
        "FIVETRAN_BASE_URL": "http://127.0.0.1:1",
        "FIVETRAN_ASSETS_STATE_DIR": str(tmp_path / "state"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("FIVETRAN_ASSETS_RATE_STATE", raising=False)
    monkeypatch.delenv("FIVETRAN_TIME_SCALE", raising=False)
    estate = load_estate(tmp_path / "fivetran.yaml", root=tmp_path)
    cli = client_for(estate)
    resource = default_resources(estate_view(estate))["fivetran"].process_config_and_initialize()
    dagster = resource.get_client()
    for client in (cli, dagster):
        limiter = client.rate_limiter
        assert isinstance(limiter, SharedRateLimiter)
        assert (limiter.budget.requests_per_hour, limiter.budget.creates_per_minute) == (1000, 7)
        assert limiter.budget.creates_per_hour == 50
        assert limiter.state.url.path == tmp_path / "state" / "state.sqlite"
    assert cli.rate_limiter is dagster.rate_limiter
