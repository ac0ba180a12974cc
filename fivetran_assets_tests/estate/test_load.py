"""Loading the demo and production configs, templates, shared selections, folders, schema.json."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from fivetran_assets.estate import (
    EstateError,
    ScheduledBy,
    SchemaChangeHandling,
    SyncMode,
    TransformationMode,
    load_estate,
)
from fivetran_assets.estate.schema import render

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
PRODUCTION = CONFIG / "examples" / "production.yaml"
DEPARTMENTS = ["sales", "marketing", "engineering", "finance"]


def test_demo_config_loads_with_the_names_others_rely_on() -> None:
    estate = load_estate(CONFIG)
    assert estate.root == ROOT
    assert estate.files == (CONFIG / "fivetran.yaml",)
    (group,) = estate.groups
    assert group.name == "departments"
    assert group.destination.service == "duckdb"
    assert group.destination.time_zone_offset == "0"
    assert group.destination.config["path"] == (
        "${env:FIVETRAN_ASSETS_DEMO_DIR:-.state/demo}/warehouse.duckdb"
    )
    assert [c.name for c in group.connections] == DEPARTMENTS
    for name in DEPARTMENTS:
        connection = estate.connection("departments", name)
        assert connection.service == "sqlite"
        assert connection.schema_prefix == name
        assert connection.config == {
            "database": f"${{env:FIVETRAN_ASSETS_DEMO_DIR:-.state/demo}}/sources/{name}.sqlite"
        }
        assert connection.scheduled_by is ScheduledBy.DAGSTER
        assert connection.sync_frequency == 360
        selection = connection.selection
        assert selection.shared == "department_default"
        assert selection.schema_change_handling is SchemaChangeHandling.ALLOW_COLUMNS
        assert selection.column("main", "employees", "email").hashed is True
        assert selection.column("main", "employees", "ssn").enabled is False
        assert selection.table("main", "payroll").enabled is False
        assert selection.table("main", "expenses") is None  # not declared: left alone
    (webhook,) = group.webhooks
    assert webhook.secret == "${env:FIVETRAN_WEBHOOK_SECRET}"
    assert {e.value for e in webhook.events} >= {"sync_start", "sync_end", "edit_connector"}
    project = group.transformation_project
    assert project is not None and project.git_remote_url == "./config/dbt"
    assert (project.default_schema, project.threads) == ("analytics", 4)
    transformation, partial, independent = estate.transformations()
    assert transformation.name == "department_models"
    assert transformation.mode is TransformationMode.INTEGRATED
    assert transformation.connections == tuple(DEPARTMENTS)
    assert transformation.scheduled_by is ScheduledBy.DAGSTER
    assert [s.name for s in transformation.steps] == ["run", "test"]
    assert (partial.mode, partial.connections) == (
        TransformationMode.PARTIALLY_INTEGRATED,
        ("sales", "engineering"),
    )
    assert (partial.schedule.interval, partial.scheduled_by) == (60, ScheduledBy.FIVETRAN)
    assert (independent.mode, independent.schedule.cron) == (
        TransformationMode.INDEPENDENT,
        "*/15 * * * *",
    )
    assert estate.project_path(project.git_remote_url) == ROOT / "config" / "dbt"
    assert str(estate.summary()) == "1 group, 4 connections, 8 tables declared, 3 transformations"


def test_production_example_loads() -> None:
    estate = load_estate(PRODUCTION)
    assert [g.name for g in estate.groups] == ["corporate_snowflake", "analytics_bigquery"]
    assert {g.destination.service for g in estate.groups} == {"snowflake", "big_query"}
    assert estate.summary().connections == 9
    people = estate.connection("corporate_snowflake", "people")
    # template values substituted, item overrides applied, shared selection overlaid
    assert people.config["user"] == "fivetran_people"
    assert people.config["database"] == "hris"
    assert people.config["password"] == "${env:PG_people_PASSWORD}"
    assert people.sync_frequency == 60
    hr = people.selection.schemas["hr"]
    assert hr.tables["compensation"].enabled is False
    assert hr.tables["employees"].columns["ssn"].enabled is False
    assert estate.connection("corporate_snowflake", "sales").sync_frequency == 15
    assert estate.connection("corporate_snowflake", "support").paused is True
    apac = estate.connection("analytics_bigquery", "ops_apac")
    assert (apac.cron, apac.sync_frequency) == ("30 */2 * * *", None)
    assert apac.config["host"] == "10.20.0.13"
    erp = estate.connection("corporate_snowflake", "finance_erp")
    assert (erp.sync_frequency, erp.daily_sync_time) == (1440, "02:00")
    assert erp.selection.table("dbo", "gl_entries").sync_mode is SyncMode.HISTORY
    assert erp.owners == ("team:corporate-analytics", "data-eng@example.com")
    assert erp.tags == {"cost_center": "analytics", "warehouse": "snowflake"}
    modes = {t.name: t.mode for t in estate.transformations()}
    assert modes["finance_reporting"] is TransformationMode.PARTIALLY_INTEGRATED
    assert modes["ops_daily"] is TransformationMode.INDEPENDENT


def test_shared_selection_overrides_are_per_key(tmp_path: Path) -> None:
    (tmp_path / "estate.yaml").write_text(
        """
selections:
  base:
    schema_change_handling: BLOCK_ALL
    tables:
      employees:
        columns: {email: {hashed: true}, ssn: {enabled: false}}
      payroll: {enabled: false}
groups:
  - name: g
    destination: {service: duckdb}
    connections:
      - name: c
        service: sqlite
        schema:
          use: base
          schema_change_handling: ALLOW_ALL
          tables:
            employees:
              sync_mode: HISTORY
              columns: {email: {hashed: false}}
            tickets: {enabled: true}
"""
    )
    selection = load_estate(tmp_path).connection("g", "c").selection
    assert selection.schema_change_handling is SchemaChangeHandling.ALLOW_ALL
    employees = selection.table("main", "employees")
    assert employees.sync_mode is SyncMode.HISTORY
    assert employees.columns["email"].hashed is False
    assert employees.columns["ssn"].enabled is False
    assert selection.table("main", "payroll").enabled is False
    assert selection.table("main", "tickets").enabled is True
    assert selection.declared_tables() == 3


def test_tables_of_an_unknown_single_schema_source_resolve_against_the_captured_schema(
    tmp_path: Path,
) -> None:
    (tmp_path / "estate.yaml").write_text(
        """
groups:
  - name: g
    destination: {service: duckdb}
    connections:
      - name: crm
        service: salesforce
        schema: {tables: {Account: {enabled: false}}}
"""
    )
    selection = load_estate(tmp_path).connection("g", "crm").selection
    assert selection.schemas == {}
    rules = selection.for_source(["salesforce"])
    assert rules["salesforce"].tables["Account"].enabled is False
    with pytest.raises(ValueError, match="single-schema"):
        selection.for_source(["a", "b"])


def test_a_folder_is_merged_and_duplicates_across_files_name_both(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "selections:\n  s: {tables: {t: {enabled: false}}}\n"
        "groups:\n  - name: one\n    destination: {service: duckdb}\n"
    )
    (tmp_path / "b.yaml").write_text(
        "groups:\n  - name: two\n    destination: {service: duckdb}\n"
        "    connections:\n      - {name: c, service: sqlite, sync_frequency: 7}\n"
    )
    (tmp_path / "ignored.yml.txt").write_text("not: [yaml")
    with pytest.raises(EstateError) as caught:
        load_estate(tmp_path)
    (problem,) = caught.value.problems
    # the second file's group is groups[1] of the merged document, located in b.yaml
    assert problem.path == "groups[two].connections[0].sync_frequency"
    assert problem.location.file == tmp_path / "b.yaml" and problem.location.line == 5
    (tmp_path / "b.yaml").write_text(
        "selections:\n  s: {}\ngroups:\n  - name: two\n    destination: {service: duckdb}\n"
    )
    with pytest.raises(EstateError) as caught:
        load_estate(tmp_path)
    (problem,) = caught.value.problems
    assert "defined twice" in problem.message and problem.location.file == tmp_path / "b.yaml"
    assert problem.related[0][1].file == tmp_path / "a.yaml"
    (tmp_path / "b.yaml").write_text("groups:\n  - name: two\n    destination: {service: duckdb}\n")
    assert [g.name for g in load_estate(tmp_path).groups] == ["one", "two"]


def test_yaml_syntax_error_has_file_line_and_column(tmp_path: Path) -> None:
    file = tmp_path / "estate.yaml"
    file.write_text("groups:\n  - name: [unclosed\n    destination: {}\n")
    with pytest.raises(EstateError) as caught:
        load_estate(file)
    (problem,) = caught.value.problems
    assert problem.message.startswith("YAML syntax error")
    assert problem.location.file == file
    assert problem.location.line is not None and problem.location.column is not None
    assert f"{file}:{problem.location.line}:{problem.location.column}" in str(caught.value)


def test_all_problems_are_reported_not_only_the_first(tmp_path: Path) -> None:
    file = tmp_path / "estate.yaml"
    file.write_text(
        """
groups:
  - name: a
    destination: {service: duckdb, region: NOWHERE}
    connections:
      - {name: x, service: sqlite, sync_frequency: 2}
      - {name: x, service: sqlite}
  - name: b
    destination: {service: duckdb}
    transformation_project: {git_remote_url: ./dbt, default_schema: s}
    transformations:
      - {name: t, steps: [dbt run], schedule: {mode: integrated, connections: [nope]}}
"""
    )
    with pytest.raises(EstateError) as caught:
        load_estate(file)
    paths = [p.path for p in caught.value.problems]
    assert paths == [
        "groups[a].destination.region",
        "groups[a].connections[0].sync_frequency",
        "groups[a].connections[1]",
        "groups[b].transformations[0].schedule.connections[0]",
    ]
    assert [p.location.line for p in caught.value.problems] == [4, 6, 7, 12]


def test_estate_is_frozen_and_lookups_suggest() -> None:
    estate = load_estate(CONFIG)
    connection = estate.connection("departments", "sales")
    with pytest.raises(dataclasses.FrozenInstanceError):
        connection.name = "other"  # type: ignore[misc]
    with pytest.raises(KeyError, match="did you mean 'sales'"):
        estate.connection("departments", "sale")
    with pytest.raises(KeyError, match="did you mean 'departments'"):
        estate.group("department")
    assert estate.group("departments").transformation("department_models").group == "departments"


def test_schema_json_is_in_sync_and_accepts_the_examples() -> None:
    committed = (CONFIG / "schema.json").read_text()
    assert committed == render(), "run: python -m fivetran_assets.estate.schema"
    schema = json.loads(committed)
    for file in (CONFIG / "fivetran.yaml", PRODUCTION):
        jsonschema.validate(yaml.safe_load(file.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"groups": [{"name": "g", "destination": {}}]}, schema)


def test_package_exports_resolve() -> None:
    import fivetran_assets.estate as package

    assert sorted(package.__all__) == sorted(package._MODULE_OF)
    for name in package.__all__:
        assert getattr(package, name) is not None
