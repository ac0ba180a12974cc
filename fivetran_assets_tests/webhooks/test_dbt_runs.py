"""dbt run events: both families read alike, and a run's per-node outcome from dbt's output.

The outputs under `data/` are dbt 1.11's console output of `dbt run` and `dbt test` on the demo
project with a broken model, a model downstream of it and two failing tests.
"""

from __future__ import annotations

from pathlib import Path

from fivetran_assets.webhooks.dbt_runs import DbtRun, parse_output
from fivetran_assets.webhooks.events import WebhookEvent

DATA = Path(__file__).parent / "data"
RUN_OUTPUT = (DATA / "dbt_run_output.txt").read_text()
TEST_OUTPUT = (DATA / "dbt_test_output.txt").read_text()


def _failed_body() -> dict:
    def step(name: str, command: list[str], code: int, output: str) -> dict:
        return {
            "step": {"name": name, "processBuilderCommand": command},
            "success": code == 0,
            "successfulModelRuns": 0,
            "failedModelRuns": 0,
            "commandResult": {"exitCode": code, "output": output, "error": f"{name} broke"},
            "startTime": "2026-05-22T00:00:01.000Z",
            "endTime": "2026-05-22T00:00:05.000Z",
        }

    return {
        "event": "dbt_run_failed",
        "created": "2026-05-22T00:00:09.000Z",
        "destination_group_id": "g_1",
        "data": {
            "dbtJobId": "t_1",
            "dbtJobName": "department_models",
            "startTime": "2026-05-22T00:00:00.000Z",
            "startupDetails": {"type": "integrated_scheduler", "jobId": 7},
            "endTime": "2026-05-22T00:00:09.000Z",
            "result": {
                "stepResults": [
                    step("run", ["dbt", "run"], 1, RUN_OUTPUT),
                    step("test", ["dbt", "test"], 1, TEST_OUTPUT),
                ],
                "description": "Steps: successful 0, failed 2",
            },
        },
    }


def test_model_lines_and_failure_blocks() -> None:
    nodes = {n.name: n for n in parse_output(RUN_OUTPUT)}
    assert {n: nodes[n].status for n in nodes} == {
        "audit_events": "success",
        "broken": "error",
        "after_broken": "skipped",
        "open_tickets": "success",
        "stg_employees": "success",
        "stg_expenses": "success",
        "headcount_by_department": "success",
        "spend_by_department": "success",
    }
    assert nodes["broken"].message.startswith("Catalog Error: Table with name nope_table")
    assert (
        nodes["stg_employees"].duration_seconds == 0.49 and nodes["stg_employees"].message is None
    )
    assert all(n.kind == "model" for n in nodes.values())


def test_test_verdicts_with_their_messages() -> None:
    tests = {n.name: n for n in parse_output(TEST_OUTPUT)}
    failed = {n for n, t in tests.items() if t.failed}
    assert failed == {
        "accepted_values_headcount_by_department_headcount__1",
        "unique_stg_employees_employee_id",
    }
    assert tests["unique_stg_employees_employee_id"].message == (
        "Got 50 results, configured to fail if != 0"
    )
    assert tests["not_null_stg_employees_employee_id"].status == "pass"
    assert all(t.kind == "test" for t in tests.values())


def test_a_dbt_run_event_reads_like_a_transformation_run_event() -> None:
    body = _failed_body()
    event = WebhookEvent.from_payload(body)
    assert event.is_transformation_event
    assert (event.transformation_id, event.transformation_name) == ("t_1", "department_models")
    assert event.transformation_run_id == "7"
    assert event.reason == "run broke"  # no data.reason: the first failed step's error
    body["data"]["reason"] = "step 'run' failed: model.broken"
    assert WebhookEvent.from_payload(body).reason == "step 'run' failed: model.broken"


def test_a_run_from_its_end_event() -> None:
    run = DbtRun.from_payload(_failed_body())
    assert run is not None and not run.succeeded
    assert (run.transformation_id, run.run_id, run.duration_seconds) == ("t_1", "7", 9.0)
    assert [s.name for s in run.steps] == ["run", "test"]
    assert run.ran_tests and not run.steps[0].runs_tests
    assert run.models()["broken"].failed and run.models()["after_broken"].status == "skipped"
    assert run.tests()["unique_stg_employees_employee_id"].failed
    assert DbtRun.from_payload({"event": "dbt_run_start", "data": {}}) is None
    assert DbtRun.from_payload({"event": "dbt_run_failed", "data": {"reason": "x"}}) is None
