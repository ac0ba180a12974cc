"""Production: provisioning and syncs through a Dagster instance stored in a real PostgreSQL.

The instance is `deploy/dagster.yaml` itself (only its compute-log folder moved into the test's
temp folder), its `DAGSTER_PG_*` variables pointing at a throwaway PostgreSQL 15 server. The jobs
run as the demo runs them (`dagster job execute` of the project's definitions), with the
multiprocess executor, against a local Fivetran whose syncs each last a few seconds, so the
four department connections must sync side by side for the run to be quick. What is checked is
read back through the instance: run status, materializations, step timings and pool slots.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from fivetran_assets.stack.ports import free_port
from fivetran_assets.stack.processes import ServiceManager
from fivetran_assets.stack.runner import JobRun, execute_job
from fivetran_assets.stack.services import receiver_spec
from fivetran_assets.stack.settings import StackSettings
from fivetran_assets_tests.fixtures.postgres import PostgresServer

PROJECT = Path(__file__).resolve().parents[2]
DEPLOY_YAML = PROJECT / "deploy" / "dagster.yaml"
SEED_ROWS = 50
DEPARTMENTS = ("engineering", "finance", "marketing", "sales")
SYNC_SECONDS = 3.0  # each emulated sync lasts this long, so parallel syncs must overlap
SYNC_POOL = "fivetran_syncs"
RESOURCES = {
    "fivetran": {
        "config": {
            "api_key": {"env": "FIVETRAN_API_KEY"},
            "api_secret": {"env": "FIVETRAN_API_SECRET"},
            "base_url": {"env": "FIVETRAN_BASE_URL"},
            "poll_first_look_seconds": 0.5,
            "poll_max_interval_seconds": 1.0,
        }
    }
}
PARALLEL = {"multiprocess": {"max_concurrent": len(DEPARTMENTS)}}


@dataclass(frozen=True)
class Deployment:
    instance: Any
    dsn: str
    provision: JobRun
    sync: JobRun


def _instance_yaml(home: Path) -> str:
    """deploy/dagster.yaml with its compute logs under `home` (the rest exactly as shipped)."""
    config = yaml.safe_load(DEPLOY_YAML.read_text())
    config["compute_logs"]["config"]["base_dir"] = str(home / "compute_logs")
    return yaml.safe_dump(config)


@pytest.fixture(scope="module")
def deployment(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """`provision_fivetran` then `sync_all`, both recorded in the PostgreSQL-backed instance."""
    from dagster import DagsterInstance

    from fivetran_assets.emulator.dataplane.seed import seed_demo
    from fivetran_assets.emulator.server import EmulatorServer

    root = tmp_path_factory.mktemp("production")
    dsn = postgres_server.create_database("dagster_production")
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(_instance_yaml(home))
    demo = root / "demo"
    seed_demo(demo / "sources", departments=len(DEPARTMENTS), rows=SEED_ROWS)
    settings = StackSettings(project_root=root, receiver_port=free_port())
    services = ServiceManager(settings)
    console = Console(file=io.StringIO(), width=120)
    with (
        EmulatorServer(state_dir=root / "emulator", default_sync_seconds=SYNC_SECONDS) as emulator,
        pytest.MonkeyPatch.context() as patch,
    ):
        env = {
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_HOST": postgres_server.host,
            "DAGSTER_PG_PORT": str(postgres_server.port),
            "DAGSTER_PG_USER": postgres_server.user,
            "DAGSTER_PG_PASSWORD": "unused-trust-auth",
            "DAGSTER_PG_DB": "dagster_production",
            "FIVETRAN_BASE_URL": emulator.base_url,
            "FIVETRAN_API_KEY": emulator.api_key,
            "FIVETRAN_API_SECRET": emulator.api_secret,
            "FIVETRAN_ASSETS_CONFIG": str(PROJECT / "config"),
            "FIVETRAN_ASSETS_DEMO_DIR": str(demo),
            "FIVETRAN_ASSETS_STATE_DIR": str(settings.state_dir),
            # deploy/dagster.yaml keeps the component's state there (the shared state)
            "FIVETRAN_ASSETS_RATE_STATE": postgres_server.url("dagster_production"),
            "FIVETRAN_WEBHOOK_URL": settings.webhook_url,
            "FIVETRAN_WEBHOOK_SECRET": "production-test-webhook-secret",
        }
        for name, value in env.items():
            patch.setenv(name, value)

        def run(job: str, run_config: dict[str, Any]) -> JobRun:
            return execute_job(
                job, settings=settings, env=env, console=console, run_config=run_config,
                workspace=PROJECT / "workspace.yaml", timeout=120,
            )  # fmt: skip

        # Fivetran test-delivers to a webhook's URL when it is created: the receiver must run.
        services.start(receiver_spec(settings, env))
        try:
            provision = run("provision_fivetran", {})
            sync = run("sync_all", {"resources": RESOURCES, "execution": {"config": PARALLEL}})
            with DagsterInstance.get() as instance:
                yield Deployment(instance=instance, dsn=dsn, provision=provision, sync=sync)
        finally:
            services.stop_all(grace=10.0)


def test_the_instance_stores_runs_events_and_schedules_in_postgres(
    deployment: Deployment,
) -> None:
    instance = deployment.instance
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"


def test_provisioning_and_sync_runs_succeeded(deployment: Deployment) -> None:
    for job_run in (deployment.provision, deployment.sync):
        stored = deployment.instance.get_run_by_id(job_run.run_id)
        assert stored is not None, job_run
        assert stored.status.value == "SUCCESS", (job_run.job_name, stored.status)
    assert "plan" in deployment.provision.markdown


def test_materializations_are_stored_in_postgres(deployment: Deployment) -> None:
    """Every synced table's latest materialization, read through the instance and by SQL."""
    import psycopg
    from dagster import AssetKey

    instance = deployment.instance
    keys = [m.asset_key for m in deployment.sync.materializations]
    assert len(keys) == 4 * len(DEPARTMENTS), keys
    for department in DEPARTMENTS:
        key = AssetKey([f"{department}_main", "employees"])
        event = instance.get_latest_materialization_event(key)
        assert event is not None, key
        assert event.run_id == deployment.sync.run_id
        assert event.asset_materialization.metadata["dagster/row_count"].value == SEED_ROWS
    with psycopg.connect(deployment.dsn) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM event_logs WHERE run_id = %s "
            "AND dagster_event_type = 'ASSET_MATERIALIZATION'",
            (deployment.sync.run_id,),
        ).fetchone()
    assert stored == (len(keys),)


def _sync_intervals(instance: Any, run_id: str) -> dict[str, tuple[datetime, datetime]]:
    from dagster import DagsterEventType

    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    for entry in instance.all_logs(
        run_id, of_type={DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}
    ):
        if not (entry.step_key or "").startswith("fivetran_sync__"):
            continue
        is_start = entry.dagster_event.event_type == DagsterEventType.STEP_START
        (starts if is_start else ends)[entry.step_key] = entry.timestamp
    return {
        step: (datetime.fromtimestamp(starts[step]), datetime.fromtimestamp(ends[step]))
        for step in starts
        if step in ends
    }


def test_the_connections_synced_in_parallel(deployment: Deployment) -> None:
    """The step events show the four syncs' intervals overlapping (more than one at a time)."""
    intervals = _sync_intervals(deployment.instance, deployment.sync.run_id)
    assert len(intervals) == len(DEPARTMENTS), intervals
    for start, end in intervals.values():
        assert (end - start).total_seconds() >= SYNC_SECONDS
    most = max(
        sum(1 for start, end in intervals.values() if start <= moment < end)
        for moment, _ in intervals.values()
    )
    assert most >= 2, intervals


def test_the_sync_pool_is_held_in_postgres_and_released(deployment: Deployment) -> None:
    """The connection assets' pool got its default limit from deploy/dagster.yaml; no slot
    is left claimed once the run is over."""
    storage = deployment.instance.event_log_storage
    assert SYNC_POOL in storage.get_concurrency_keys()
    info = storage.get_concurrency_info(SYNC_POOL)
    assert (
        info.slot_count
        == yaml.safe_load(DEPLOY_YAML.read_text())["concurrency"]["pools"]["default_limit"]
    )
    assert info.active_slot_count == 0
    assert info.pending_step_count == 0
