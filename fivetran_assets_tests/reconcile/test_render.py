"""The plan and the apply summary in a terminal: a list below 100 columns, a table above, names
whole at every width, and counts that say why 16 resources took 20 steps."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fivetran_assets.cli import main
from fivetran_assets.reconcile.applier import ApplyResult
from fivetran_assets.reconcile.executor import TaskResult, TaskState
from fivetran_assets.reconcile.plan import Create, Delete, FieldDiff, Kind, Plan, Update
from fivetran_assets.reconcile.render import apply_summary, compact_lines, resources_text

NAMES = [
    "connection departments/engineering",
    "connection departments/marketing",
    "transformation_project departments",
    "transformation departments/department_models",
    "webhook departments/http://127.0.0.1:",
]


def _plan_output(demo, *args: str, columns: int) -> list[str]:
    env = {**demo.env, "COLUMNS": str(columns), "FIVETRAN_ASSETS_STATE_DIR": str(demo.state_dir)}
    result = CliRunner().invoke(
        main, ["plan", "--config", str(demo.path), *args], env=env, catch_exceptions=False
    )
    assert result.exit_code == 2, result.output
    return result.output.splitlines()


def test_below_100_columns_the_plan_is_a_list_of_whole_names(demo) -> None:
    lines = _plan_output(demo, columns=80)

    assert all(len(line) <= 80 for line in lines), lines
    creates = [line for line in lines if line.startswith("+ ")]
    assert len(creates) == 18, lines  # one line per resource
    assert "+ connection departments/engineering  service=sqlite " in "\n".join(lines)
    for name in NAMES:
        assert any(name in line for line in creates), name
    assert not any("…" in line for line in lines)
    assert "access:" in lines  # users, teams and members after the estate's resources
    assert lines[-1] == "18 to create, 0 to update, 0 to replace, 0 to delete."


def test_from_100_columns_the_plan_is_one_table_with_whole_names(demo) -> None:
    lines = _plan_output(demo, columns=140)

    assert all(len(line) <= 140 for line in lines), lines
    header = next(line for line in lines if "resource" in line)
    assert header.split()[:5] == ["action", "kind", "resource", "id", "changes"]
    for name in ("departments/engineering", "departments/department_models"):
        assert any(name in line for line in lines), name
    assert any("transformation_project" in line for line in lines)
    assert not any("…" in line for line in lines)
    assert "access" in [line.strip() for line in lines]  # the access table's title
    assert len(lines) < 60, "\n".join(lines)


def test_an_update_lists_each_changed_field() -> None:
    plan = Plan(
        (
            Update(
                Kind.CONNECTION,
                "departments",
                "sales",
                (
                    FieldDiff("sync_frequency", 360, 60),
                    FieldDiff("config.password", secret=True, reason="changed"),
                    FieldDiff("paused", False, True),
                ),
                live_id="conn_1",
            ),
            Delete(Kind.WEBHOOK, "departments", "https://old.example.com/hook", live_id="w1"),
        )
    )
    lines = [t.plain for t in compact_lines(plan, width=60)]
    assert lines == [
        "~ connection departments/sales (id conn_1)",
        "    sync_frequency: 360 -> 60",
        "    config.password=****** (changed)",
        "    paused: false -> true",
        "- webhook departments/https://old.example.com/hook (id w1)",
    ]
    wide = [t.plain for t in compact_lines(plan, width=200)]
    assert wide[0] == (
        "~ connection departments/sales (id conn_1)  sync_frequency: 360 -> 60 "
        "config.password=****** (changed) paused: false -> true"
    )


def _result(*states: TaskState) -> ApplyResult:
    return ApplyResult(
        tuple(TaskResult(f"t{i}", state, f"task {i}") for i, state in enumerate(states))
    )


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        ([Create(Kind.GROUP, "g")], "1 resource created"),
        (
            [
                Create(Kind.GROUP, "g"),
                Create(Kind.DESTINATION, "g"),
                Update(Kind.CONNECTION, "g", "a", live_id="1"),
                Delete(Kind.WEBHOOK, "g", "w", live_id="2"),
            ],
            "2 resources created, 1 updated, 1 deleted",
        ),
        ([], "no resource changed"),
    ],
)
def test_resources_text(changes: list, text: str) -> None:
    assert resources_text(Plan(tuple(changes))) == text


def test_the_apply_summary_explains_the_extra_steps() -> None:
    plan = Plan((Create(Kind.GROUP, "g"), Create(Kind.CONNECTION, "g", "a")))
    assert apply_summary(plan, _result(*[TaskState.DONE] * 3)) == (
        "2 resources created in 3 steps (a connection is created paused, its schema set, "
        "then unpaused)."
    )
    failed = _result(TaskState.DONE, TaskState.FAILED, TaskState.SKIPPED)
    assert apply_summary(plan, failed).startswith(
        "Apply incomplete: 1 of 3 steps done, 1 failed, 1 skipped"
    )
    update = Plan((Update(Kind.CONNECTION, "g", "a", live_id="1"),))
    assert apply_summary(update, _result(TaskState.DONE)) == "1 resource updated in 1 step."


def test_apply_prints_what_it_did_in_resources_and_steps(demo) -> None:
    env = {**demo.env, "COLUMNS": "80", "FIVETRAN_ASSETS_STATE_DIR": str(demo.state_dir)}
    result = CliRunner().invoke(
        main, ["apply", "--config", str(demo.path), "--yes"], env=env, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert (
        "18 resources created in 22 steps (a connection is created paused, its schema set, "
        "then unpaused). Verified: a fresh plan is empty"
    ) in " ".join(result.output.split())
    again = CliRunner().invoke(
        main, ["plan", "--config", str(demo.path), "--json"], env=env, catch_exceptions=False
    )
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["changes"] == []
