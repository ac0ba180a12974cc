"""One apply at a time: applies racing on one estate, a held lock, and plan taking none."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from fivetran_assets.cli import main
from fivetran_assets.state.locks import apply_lock
from fivetran_assets.state.shared import StateLocation
from fivetran_assets_tests.reconcile.conftest import REPO


def _env(demo) -> dict[str, str]:
    return {
        **demo.env,
        "FIVETRAN_ASSETS_STATE_DIR": str(demo.state_dir),
        "FIVETRAN_TIME_SCALE": "60",
        "FIVETRAN_ASSETS_SNAPSHOT": str(demo.state_dir / "snapshot.json"),
    }


def test_apply_waits_for_the_lock_then_names_its_holder_while_plan_runs(demo) -> None:
    runner = CliRunner()
    config = str(demo.path)
    with apply_lock(StateLocation(demo.state_dir), "held-by-this-test", command="a test"):
        demo.clear_requests()
        refused = runner.invoke(
            main, ["apply", "--config", config, "--yes", "--lock-timeout", "1s"], env=_env(demo)
        )
        assert refused.exit_code == 1, refused.output
        assert "Waiting up to" in refused.output
        assert "another apply holds the lock" in refused.output
        assert f"pid {os.getpid()}" in refused.output and "(a test)" in refused.output
        assert demo.requests() == []  # it did not even read the estate
        planned = runner.invoke(main, ["plan", "--config", config], env=_env(demo))
        assert planned.exit_code == 2, planned.output  # plan takes no lock
    applied = runner.invoke(main, ["apply", "--config", config, "--yes"], env=_env(demo))
    assert applied.exit_code == 0, applied.output


def test_two_applies_at_once_create_everything_once(demo, tmp_path: Path) -> None:
    """The race of the first wave (two CI jobs applying at once created the webhook twice): both
    are started while the lock is held, so both wait; released, one applies everything, the
    other then finds nothing to do."""
    command = [str(Path(sys.executable).parent / "fivetran-assets"), "apply", "--yes",
               "--config", str(demo.path)]  # fmt: skip
    env = {**os.environ, **_env(demo)}
    logs = [tmp_path / f"apply-{n}.log" for n in range(2)]
    with apply_lock(StateLocation(demo.state_dir), "held-by-this-test", command="a test"):
        processes = [
            subprocess.Popen(
                command,
                env=env,
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
                cwd=REPO,  # the project root, where the config's relative paths resolve
            )
            for log in logs
        ]
        deadline = time.monotonic() + 300
        while not all("Waiting up to" in log.read_text() for log in logs):
            assert time.monotonic() < deadline, [log.read_text() for log in logs]
            time.sleep(0.2)
    for process in processes:
        process.wait(timeout=600)
    outputs = [log.read_text() for log in logs]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert sum("Nothing to apply." in out for out in outputs) == 1, outputs
    client = demo.client()
    assert len(list(client.list_webhooks())) == 1
    assert sorted(c.schema for c in client.list_connections()) == [
        "engineering",
        "finance",
        "marketing",
        "sales",
    ]
    assert len(list(client.list_transformation_projects())) == 1
    assert len(list(client.list_transformations())) == 1
    assert demo.reconciler().plan().is_empty
