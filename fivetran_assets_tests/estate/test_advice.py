"""Advice on valid configs: webhook events nothing can send, transformation ends no event
announces; `validate` prints it and still exits 0."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from fivetran_assets.cli import main
from fivetran_assets.estate import load_estate
from fivetran_assets.estate.advice import advise

ROOT = Path(__file__).resolve().parents[2]

ESTATE = """
groups:
  - name: ops
    destination: {{service: duckdb}}
    webhooks:
      - url: https://hooks.example.com/ops
        events: [{ops_events}]
  - name: finance
    destination: {{service: duckdb}}
    webhooks:
      - url: https://hooks.example.com/finance
        events: [{finance_events}]
    connections: [{{name: ledger, service: sqlite}}]
    transformation_project: {{git_remote_url: ./config/dbt, default_schema: analytics}}
    transformations:
      - name: models
        steps: [dbt run]
        schedule: {{mode: integrated, connections: [ledger]}}
"""


def _advice(tmp_path: Path, ops: str, finance: str) -> list[tuple[str, str]]:
    file = tmp_path / "estate.yaml"
    file.write_text(ESTATE.format(ops_events=ops, finance_events=finance))
    return [(a.path, a.message) for a in advise(load_estate(file))]


def _finance(tmp_path: Path, events: str) -> list[tuple[str, str]]:
    found = _advice(tmp_path, "sync_end", events)
    return [(path, message) for path, message in found if path.startswith("groups[finance]")]


def test_the_guides_list_on_a_group_without_transformations_or_connections(tmp_path: Path) -> None:
    found = _advice(
        tmp_path,
        "sync_start, sync_end, dbt_run_start, dbt_run_succeeded, status",
        "sync_end, dbt_run_succeeded, dbt_run_failed",
    )
    assert found == [
        (
            "groups[ops].webhooks[0].events",
            "can never be sent: dbt_run_start, dbt_run_succeeded (the group declares no "
            "transformation)",
        ),
        (
            "groups[ops].webhooks[0].events",
            "can never be sent: sync_end, sync_start (the group declares no connection)",
        ),
        (
            "groups[ops].webhooks[0].events",
            "can never be sent: status (deprecated: Fivetran sends sync_end instead)",
        ),
    ]


def test_a_transformation_whose_end_no_event_announces(tmp_path: Path) -> None:
    ((path, message),) = _finance(tmp_path, "sync_end, dbt_run_succeeded")
    assert path == "groups[finance].transformations[0]"
    assert "announces the failure of its runs (subscribe one to dbt_run_failed)" in message
    assert "Dagster polls" in message
    ((_, message),) = _finance(tmp_path, "sync_end")
    assert "the success or failure" in message


def test_the_older_family_ends_runs_but_carries_no_model_results(tmp_path: Path) -> None:
    events = "sync_end, transformation_run_succeeded, transformation_run_failed"
    ((_, message),) = _finance(tmp_path, events)
    assert "dbt_run_succeeded and dbt_run_failed" in message and "per-model" in message
    both = f"{events}, dbt_run_succeeded, dbt_run_failed"
    assert _finance(tmp_path, both) == []


def test_validate_prints_advice_and_exits_0(tmp_path: Path) -> None:
    file = tmp_path / "estate.yaml"
    file.write_text(ESTATE.format(ops_events="sync_end", finance_events="sync_end"))
    result = CliRunner().invoke(main, ["validate", str(file)])
    assert result.exit_code == 0, result.output
    assert "is valid" in result.output and "groups[finance].transformations[0]" in result.output
    assert f"{file}:" in result.output  # where the transformation is written
    assert advise(load_estate(ROOT / "config")) == []  # the demo takes its own advice
