"""Transformation projects and transformations of the local Fivetran, with a real dbt project."""

from __future__ import annotations

import shutil
from pathlib import Path

from fivetran_assets_tests.emulator.support import Api, make_connection, wait_for, wait_sync_end


def dbt_project(root: Path) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text(
        "name: tiny\nversion: '1.0'\nconfig-version: 2\nprofile: tiny\nmodel-paths: [models]\n"
    )
    (root / "models" / "answer.sql").write_text("select 42 as answer\n")
    return root


def _transformation(project_id: str, schedule: dict) -> dict:
    return {
        "type": "DBT_CORE",
        "paused": False,
        "schedule": schedule,
        "transformation_config": {
            "project_id": project_id,
            "name": "nightly",
            "steps": [{"name": "run", "command": "dbt run --select answer"}],
        },
    }


def test_project_crud_and_setup_tests(api: Api, group_id: str, tmp_path: Path) -> None:
    missing = {
        "group_id": group_id,
        "type": "DBT_CORE",
        "project_config": {"git_remote_url": str(tmp_path / "nope")},
    }
    broken = api.post("/v1/transformation-projects", missing, expect=201)["data"]
    assert broken["status"] == "ERROR" and broken["errors"]
    assert api.post("/v1/transformation-projects", missing, expect=409)["code"] == "Conflict"
    project_dir = dbt_project(tmp_path / "dbt")
    patched = api.patch(
        f"/v1/transformation-projects/{broken['id']}",
        {"project_config": {"git_remote_url": str(project_dir)}},
        expect=200,
    )["data"]
    assert patched["status"] == "READY" and patched["errors"] == []
    got = api.get(f"/v1/transformation-projects/{broken['id']}", expect=200)["data"]
    assert got["status"] == "READY"
    tested = api.post(f"/v1/transformation-projects/{broken['id']}/test", expect=200)["data"]
    assert tested["status"] == "READY"
    listed = api.get("/v1/transformation-projects", expect=200)["data"]["items"]
    assert [p["id"] for p in listed] == [broken["id"]]
    api.delete(f"/v1/transformation-projects/{broken['id']}", expect=200)
    error = api.get(f"/v1/transformation-projects/{broken['id']}", expect=404)
    assert error["code"] == "NotFound_TransformationProject"


def test_transformation_bad_input(api: Api, group_id: str, tmp_path: Path) -> None:
    project = api.post(
        "/v1/transformation-projects",
        {"group_id": group_id, "project_config": {"git_remote_url": str(dbt_project(tmp_path))}},
        expect=201,
    )["data"]
    for schedule, field in [
        ({"schedule_type": "WEEKLY"}, "schedule.schedule_type"),
        ({"schedule_type": "INTERVAL"}, "interval"),
        ({"schedule_type": "CRON", "cron": ["not a cron"]}, "schedule.cron"),
        ({"schedule_type": "TIME_OF_DAY", "time_of_day": "25:00"}, "schedule.time_of_day"),
        ({"schedule_type": "TIME_OF_DAY", "time_of_day": "10:15"}, "schedule.time_of_day"),
        ({"schedule_type": "CRON", "cron": ["0 0 * * * 30"]}, "schedule.cron"),
        ({"schedule_type": "INTEGRATED", "connection_ids": ["ghost"]}, "schedule.connection_ids"),
    ]:
        error = api.post("/v1/transformations", _transformation(project["id"], schedule))
        assert api.last.status_code == 400 and field in error["message"], error
    bad_step = _transformation(project["id"], {"schedule_type": "INTERVAL", "interval": 60})
    bad_step["transformation_config"]["steps"] = [{"name": "x", "command": "rm -rf /"}]
    assert "command" in api.post("/v1/transformations", bad_step, expect=400)["message"]
    assert api.get("/v1/transformations", expect=200)["data"]["items"] == []


def test_integrated_schedule_runs_dbt_after_sync(
    api: Api, group_id: str, source: Path, tmp_path: Path
) -> None:
    project_dir = dbt_project(tmp_path / "dbt")
    project = api.post(
        "/v1/transformation-projects",
        {
            "group_id": group_id,
            "type": "DBT_CORE",
            "project_config": {"git_remote_url": str(project_dir), "default_schema": "analytics"},
        },
        expect=201,
    )["data"]
    conn = make_connection(api, group_id, source, "feeds", schedule_type="manual")
    created = api.post(
        "/v1/transformations",
        _transformation(
            project["id"], {"schedule_type": "INTEGRATED", "connection_ids": [conn["id"]]}
        ),
        expect=201,
    )["data"]
    tid = created["id"]
    assert created["status"] == "NEW" and created["last_started_at"] is None
    api.post(f"/v1/connections/{conn['id']}/sync", expect=200)
    wait_sync_end(api, conn["id"])
    done = wait_for(
        lambda: (
            (t := api.get(f"/v1/transformations/{tid}", expect=200)["data"])["status"]
            in ("SUCCEEDED", "FAILED")
            and t
        ),
        timeout=60,
        what="dbt run",
    )
    assert done["status"] == "SUCCEEDED", done
    assert "answer" in done["output_model_names"][0]
    assert done["last_ended_at"] >= done["last_started_at"]

    # a run whose project vanished fails, and cancel of an idle run is a conflict
    shutil.rmtree(project_dir)
    api.post(f"/v1/transformations/{tid}/run", {"full_refresh": True}, expect=200)
    failed = wait_for(
        lambda: (t := api.get(f"/v1/transformations/{tid}")["data"])["status"] == "FAILED" and t,
        what="failed run",
    )
    assert failed["last_ended_at"] >= failed["last_started_at"]
    assert api.post(f"/v1/transformations/{tid}/cancel", expect=409)["code"] == "Conflict"
    paused = api.patch(f"/v1/transformations/{tid}", {"paused": True}, expect=200)["data"]
    assert paused["paused"] is True
    api.delete(f"/v1/transformations/{tid}", expect=200)
    assert api.get(f"/v1/transformations/{tid}", expect=404)["code"] == "NotFound_Transformation"


def test_interval_schedule_and_cancel(api: Api, group_id: str, tmp_path: Path) -> None:
    project = api.post(
        "/v1/transformation-projects",
        {"group_id": group_id, "project_config": {"git_remote_url": str(dbt_project(tmp_path))}},
        expect=201,
    )["data"]
    tr = api.post(
        "/v1/transformations",
        _transformation(project["id"], {"schedule_type": "INTERVAL", "interval": 1}),
        expect=201,
    )["data"]
    for query, expected in [
        (f"group_id={group_id}", [tr["id"]]),
        (f"project_id={project['id']}", [tr["id"]]),
        ("type=DBT_CORE", [tr["id"]]),
        ("type=QUICKSTART", []),
        ("group_id=someone_else", []),
        ("project_id=someone_else", []),
    ]:
        listed = api.get(f"/v1/transformations?{query}", expect=200)["data"]["items"]
        assert [t["id"] for t in listed] == expected, query
    running = wait_for(
        lambda: (
            (t := api.get(f"/v1/transformations/{tr['id']}")["data"])["status"] == "RUNNING" and t
        ),
        what="interval run",
    )
    assert running["last_started_at"]
    api.post(f"/v1/transformations/{tr['id']}/cancel", expect=200)
    canceled = wait_for(
        lambda: (
            (t := api.get(f"/v1/transformations/{tr['id']}")["data"])["status"]
            in ("CANCELED", "SUCCEEDED")
            and t
        ),
        timeout=30,
        what="canceled run",
    )
    assert canceled["status"] == "CANCELED"


def test_dbt_core_runs_send_both_event_families(
    api: Api, group_id: str, tmp_path: Path, emulator
) -> None:
    """A webhook subscribed to the guide's list gets `dbt_run_*` with each step's dbt output;
    `transformation_run_*` go beside them with the same run id; run_results.json is kept."""
    from fivetran_assets_tests.emulator.test_webhooks import Receiver

    receiver = Receiver()
    try:
        api.post(
            f"/v1/webhooks/group/{group_id}",
            {
                "url": receiver.url,
                "events": [
                    "sync_start",
                    "sync_end",
                    "dbt_run_start",
                    "dbt_run_succeeded",
                    "dbt_run_failed",
                    "transformation_run_succeeded",
                    "transformation_run_failed",
                ],
                "active": True,
            },
            expect=200,
        )
        project_dir = dbt_project(tmp_path / "dbt")
        (project_dir / "models" / "schema.yml").write_text(
            "version: 2\nmodels:\n  - name: answer\n    columns:\n      - name: answer\n"
            "        data_tests: [not_null, {accepted_values: {arguments: {values: [1]}}}]\n"
        )
        project = api.post(
            "/v1/transformation-projects",
            {"group_id": group_id, "project_config": {"git_remote_url": str(project_dir)}},
            expect=201,
        )["data"]
        body = _transformation(project["id"], {"schedule_type": "INTERVAL", "interval": 1440})
        body["transformation_config"]["steps"].append({"name": "test", "command": "dbt test"})
        tid = api.post("/v1/transformations", body, expect=201)["data"]["id"]
        api.post(f"/v1/transformations/{tid}/run", expect=200)
        failed = wait_for(lambda: receiver.events("dbt_run_failed"), timeout=90, what="dbt run")
        start = receiver.events("dbt_run_start")[0]
        assert list(start) == ["event", "created", "destination_group_id", "data"]
        assert start["destination_group_id"] == group_id
        assert start["data"]["dbtJobId"] == tid and start["data"]["dbtJobName"] == "nightly"
        assert start["data"]["startupDetails"] == {"type": "manual", "jobId": 1}
        data = failed[0]["data"]
        run, test = data["result"]["stepResults"]
        assert data["result"]["description"] == "Steps: successful 1, failed 1"
        assert run["success"] and run["successfulModelRuns"] == 1
        assert run["step"] == {
            "name": "run",
            "processBuilderCommand": ["dbt", "run", "--select", "answer"],
        }
        assert (
            "OK created sql" in run["commandResult"]["output"]
            and run["commandResult"]["exitCode"] == 0
        )
        assert not test["success"] and test["commandResult"]["exitCode"] == 1
        assert "FAIL 1 accepted_values_answer_answer__1" in test["commandResult"]["output"]
        assert "PASS not_null_answer_answer" in test["commandResult"]["output"]
        assert "accepted_values_answer_answer__1" in data["reason"]
        assert data["startTime"] <= run["startTime"] <= run["endTime"] <= data["endTime"]
        other = wait_for(lambda: receiver.events("transformation_run_failed"), what="other family")
        assert other[0]["data"]["run_id"] == str(data["startupDetails"]["jobId"])
        kept = sorted(
            p.name for p in (emulator.settings.state_dir / "dbt" / tid / "runs" / "1").iterdir()
        )
        assert kept == ["1-run.json", "2-test.json"]
        assert not receiver.events("dbt_run_succeeded")
    finally:
        receiver.server.shutdown()
