"""The `provision_fivetran` job (execute_in_process) and `fivetran_config_sensor` (ticks)."""

from __future__ import annotations

import dagster as dg
import pytest

from fivetran_assets.dagster.provision import (
    PROVISIONING_POOL,
    PROVISIONING_TAG,
    build_config_sensor,
    provision_definitions,
    provision_fivetran,
    run_config,
)
from fivetran_assets.dagster.resources import FivetranResource
from fivetran_assets_tests.reconcile.conftest import DEMO_CONFIG


@pytest.fixture
def environment(demo, monkeypatch):
    for name, value in demo.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FIVETRAN_ASSETS_STATE_DIR", str(demo.state_dir))
    monkeypatch.setenv("FIVETRAN_ASSETS_SNAPSHOT", str(demo.state_dir / "snapshot.json"))
    return demo


def _resources(demo) -> dict:
    return {
        "fivetran": FivetranResource(
            api_key=demo.emulator.api_key,
            api_secret=demo.emulator.api_secret,
            base_url=demo.emulator.base_url,
            time_scale=60,
        )
    }


def _output_metadata(result: dg.ExecuteInProcessResult, op: str) -> dict:
    (event,) = [e for e in result.events_for_node(op) if e.event_type_value == "STEP_OUTPUT"]
    return {k: v.value for k, v in event.event_specific_data.metadata.items()}


def test_job_holds_a_concurrency_limit() -> None:
    assert provision_fivetran.tags[PROVISIONING_TAG] == "exclusive"
    assert {node.definition.pool for node in provision_fivetran.nodes} == {PROVISIONING_POOL}
    fivetran = FivetranResource(api_key="k", api_secret="s", base_url="http://127.0.0.1:9")
    defs = provision_definitions(resources={"fivetran": fivetran})
    assert defs.get_sensor_def("fivetran_config_sensor").job_name == "provision_fivetran"


def test_dry_run_plans_and_changes_nothing_then_apply_converges(environment) -> None:
    demo = environment
    config = run_config(str(demo.path), dry_run=True)
    result = provision_fivetran.execute_in_process(run_config=config, resources=_resources(demo))
    assert result.success
    planned = _output_metadata(result, "fivetran_plan")
    assert planned["create"] == 18 and planned["delete"] == 0
    assert "| create | connection | departments/sales |" in planned["plan"]
    assert "whsec" not in planned["plan"]
    assert not [g for g in demo.client().list_groups()]

    result = provision_fivetran.execute_in_process(
        run_config=run_config(str(demo.path)), resources=_resources(demo)
    )
    assert result.success
    applied = _output_metadata(result, "fivetran_apply")
    # 18 changes: the 4 new connections are each a create task and a finish task.
    assert applied["verified"] is True and applied["applied"] == 22 and applied["failed"] == 0
    assert (demo.state_dir / "snapshot.json").exists()

    again = provision_fivetran.execute_in_process(
        run_config=run_config(str(demo.path)), resources=_resources(demo)
    )
    assert _output_metadata(again, "fivetran_plan")["create"] == 0


def test_apply_failure_is_a_dagster_failure(environment) -> None:
    demo = environment
    demo.edit(
        lambda d: d["groups"][0]["connections"][0].update(
            config={"database": "/nonexistent/x.sqlite"}
        )
    )
    result = provision_fivetran.execute_in_process(
        run_config=run_config(str(demo.path)), resources=_resources(demo), raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "setup tests" in str(failure.event_specific_data.error.message)


def test_sensor_requests_a_run_when_config_changes_and_skips_invalid_config(tmp_path) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "fivetran.yaml").write_text(DEMO_CONFIG.read_text())
    sensor = build_config_sensor(config_path=str(config_dir))

    first = sensor.evaluate_tick(dg.build_sensor_context(cursor=None))
    assert len(first.run_requests) == 1
    assert first.run_requests[0].run_config == run_config(str(config_dir))
    cursor = first.cursor

    unchanged = sensor.evaluate_tick(dg.build_sensor_context(cursor=cursor))
    assert unchanged.run_requests == [] and "unchanged" in unchanged.skip_message

    text = (
        (config_dir / "fivetran.yaml")
        .read_text()
        .replace("sync_frequency: 360", "sync_frequency: 60")
    )
    (config_dir / "fivetran.yaml").write_text(text)
    changed = sensor.evaluate_tick(dg.build_sensor_context(cursor=cursor))
    assert len(changed.run_requests) == 1 and changed.cursor != cursor

    (config_dir / "fivetran.yaml").write_text(
        text.replace("sync_frequency: 60", "sync_frequency: 7")
    )
    invalid = sensor.evaluate_tick(dg.build_sensor_context(cursor=changed.cursor))
    assert invalid.run_requests == []
    assert "invalid" in invalid.skip_message and "sync_frequency" in invalid.skip_message
    assert invalid.cursor not in (None, changed.cursor)


def test_the_job_waits_for_an_apply_in_progress_then_names_it(environment) -> None:
    """`provision_fivetran` takes the same lock as `fivetran-assets apply`."""
    from fivetran_assets.state.locks import apply_lock
    from fivetran_assets.state.shared import StateLocation

    demo = environment
    config = run_config(str(demo.path))
    config["ops"]["fivetran_apply"]["config"]["lock_timeout_seconds"] = 0.5
    with apply_lock(StateLocation(demo.state_dir), "cli", command="fivetran-assets apply"):
        result = provision_fivetran.execute_in_process(
            run_config=config, resources=_resources(demo), raise_on_error=False
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = str(failure.event_specific_data.error.message)
    assert "another apply holds the lock" in message and "(fivetran-assets apply)" in message
    assert not list(demo.client().list_groups())
