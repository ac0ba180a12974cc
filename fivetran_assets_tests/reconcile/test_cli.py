"""The plan and apply commands from a shell: exit codes, JSON, masking, no calls on bad config."""

from __future__ import annotations

import json

from click.testing import CliRunner

from fivetran_assets.cli import main
from fivetran_assets_tests.reconcile.conftest import WEBHOOK_SECRET


def _run(demo, *args: str, columns: int = 80):
    env = {
        **demo.env,
        "COLUMNS": str(columns),
        "FIVETRAN_ASSETS_STATE_DIR": str(demo.state_dir),
        "FIVETRAN_TIME_SCALE": "60",
        "FIVETRAN_ASSETS_SNAPSHOT": str(demo.state_dir / "snapshot.json"),
    }
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_plan_apply_plan_exit_codes_and_masking(demo) -> None:
    config = str(demo.path)
    pending = _run(demo, "plan", "--config", config, "--json")
    assert pending.exit_code == 2, pending.output
    data = json.loads(pending.stdout)  # the calls line goes to stderr, so JSON stays clean
    assert data["summary"]["create"] == 18  # 11 estate, 7 access
    assert WEBHOOK_SECRET not in pending.output
    # 6 listings + 4 schema reads + 9 access reads, of the demo's default budget
    assert "Reading the live estate: ~19 calls, <1% of 20,000/h" in pending.stderr

    listed = _run(demo, "plan", "--config", config)
    assert listed.exit_code == 2
    assert "+ connection departments/sales  service=sqlite" in listed.output
    table = _run(demo, "plan", "--config", config, columns=160)
    assert table.exit_code == 2
    assert "connection" in table.output and "config.database=****** (set)" in table.output

    applied = _run(demo, "apply", "--config", config, "--yes")
    assert applied.exit_code == 0, applied.output
    assert "Applying and verifying: ~" in applied.stderr
    assert "Verified: a fresh plan is empty" in applied.output
    assert WEBHOOK_SECRET not in applied.output
    snapshot = json.loads((demo.state_dir / "snapshot.json").read_text())
    assert WEBHOOK_SECRET not in json.dumps(snapshot)

    clean = _run(demo, "plan", "--config", config)
    assert clean.exit_code == 0, clean.output
    assert "No changes" in clean.output

    # Advice rides along as warnings: no dbt_run_* end event, so no per-model results
    events = ["sync_end", "transformation_run_succeeded", "transformation_run_failed"]
    demo.edit(lambda d: d["groups"][0]["webhooks"][0].update(events=events))
    advised = json.loads(_run(demo, "plan", "--config", config, "--json").stdout)
    warned = {w["name"]: w["message"] for w in advised["warnings"]}
    assert sorted(warned) == ["audit_trail", "department_models", "ticket_queue"], warned
    assert all("dbt_run_succeeded and dbt_run_failed" in m for m in warned.values()), warned


def test_apply_refuses_mass_deletes_without_the_flag(demo) -> None:
    config = str(demo.path)
    assert demo.reconciler().apply(demo.reconciler().plan()).verified

    def keep_only_sales(d: dict) -> None:
        group = d["groups"][0]
        group["connections"][0]["for_each"] = [{"name": "sales"}]
        group["transformations"] = group["transformations"][:1]
        group["transformations"][0]["schedule"]["connections"] = ["sales"]

    demo.edit(keep_only_sales)
    refused = _run(demo, "apply", "--config", config, "--yes", "--prune")
    assert refused.exit_code == 1
    assert "--allow-destructive" in refused.output
    assert len(list(demo.client().list_connections())) == 4
    allowed = _run(demo, "apply", "--config", config, "--yes", "--prune", "--allow-destructive")
    assert allowed.exit_code == 0, allowed.output
    assert [c.schema for c in demo.client().list_connections()] == ["sales"]


def test_invalid_config_makes_no_api_call(demo) -> None:
    demo.edit(lambda d: d["groups"][0]["connections"][0].update(sync_frequency=7))
    demo.clear_requests()
    for command in ("plan", "apply"):
        result = _run(
            demo, command, "--config", str(demo.path), *(["--yes"] if command == "apply" else [])
        )
        assert result.exit_code == 1
        assert "sync_frequency" in result.output
    assert demo.requests() == []
    broken = demo.path.with_name("broken.yaml")
    broken.write_text("groups: [\n")
    result = _run(demo, "plan", "--config", str(broken))
    assert result.exit_code == 1
    assert "broken.yaml" in result.output
    assert demo.requests() == []


def test_apply_that_cannot_verify_says_so_and_exits_1(demo) -> None:
    """A 429 storm on the listing the verifying plan needs (after the first plan's read): the
    changes are applied, the verification cannot be read, and apply says exactly that."""
    demo.fault(
        kind="status", path="/v1/groups", method="GET", after=1, count=-1, status=429, retry_after=0
    )
    applied = _run(demo, "apply", "--config", str(demo.path), "--yes")
    assert applied.exit_code == 1, applied.output
    assert "applied 22 changes; could not verify: " in applied.output
    assert "; run plan" in applied.output
    assert "Traceback" not in applied.output and "AttributeError" not in applied.output
    demo.clear_faults()
    assert demo.reconciler().plan().is_empty  # the changes were applied
