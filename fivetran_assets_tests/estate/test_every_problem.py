"""One `validate` run reports every problem of a file: an unknown key (or a wrong value) in a
connection, webhook or transformation never hides that item's other problems."""

from __future__ import annotations

from pathlib import Path

from fivetran_assets.estate.loader import check_estate

CONFIG = """\
groups:
  - name: finance
    destination: {service: duckdb}
    webhooks:
      - url: ftp://hooks.example.com
        events: [sync_end]
        colour: blue
    connections:
      - name: sales
        service: sqlite
        config: {database: ./sales.sqlite, schema_prefix: sales}
        sync_frequncy: 60
        scheduled_by: dagster
        cron: "99 * * * *"
        daily_sync_time: "25:00"
      - service: sqlite
        config: {database: "./{name.sqlite"}
        unknown: 1
        for_each:
          - name: hr
    transformation_project: {git_remote_url: ./config/dbt, default_schema: analytics}
    transformations:
      - name: models
        stepz: [dbt run]
        steps: [dbt run]
        schedule: {mode: independent, cron: "0 0 31 2 *"}
"""


def test_an_unknown_key_never_hides_the_rest(tmp_path: Path) -> None:
    file = tmp_path / "fivetran.yaml"
    file.write_text(CONFIG)
    estate, problems = check_estate(file)
    assert estate is None
    found = {(p.path, p.message.split(" (")[0].split(":")[0]) for p in problems}
    expected = {
        ("groups[finance].webhooks[0].colour", "unknown key 'colour'"),
        ("groups[finance].webhooks[0].url", "webhook url"),
        ("groups[finance].connections[0].sync_frequncy", "unknown key 'sync_frequncy'"),
        ("groups[finance].connections[0].cron", "invalid cron minute field '99'"),
        ("groups[finance].connections[0].daily_sync_time", "invalid daily_sync_time"),
        (
            "groups[finance].connections[0].config.schema_prefix",
            "config.schema_prefix comes from the connection's name; remove it",
        ),
        ("groups[finance].connections[1].unknown", "unknown key 'unknown'"),
        ("groups[finance].connections[1].config.database", "unbalanced '{' at character 3"),
        ("groups[finance].transformations[0].stepz", "unknown key 'stepz'"),
        ("groups[finance].transformations[0].schedule.cron", "this cron expression never fires"),
    }
    assert expected <= found, "\n".join(p.describe() for p in problems)
