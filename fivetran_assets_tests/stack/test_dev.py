"""`fivetran-assets dev`: the terminal shows Dagster's warnings and errors, the log keeps all.

The unit tests feed lines as `dg dev` prints them; the last test runs the real command on a
small workspace whose code warns once on load, and stops it as Ctrl-C would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fivetran_assets.stack.devlog import LogFilter, LogFollower
from fivetran_assets.stack.ports import free_port

STAMP = "\x1b[32m2026-11-30 19:14:53 +0000\x1b[0m"
DAGSTER_DEV_OUTPUT = [
    "/x/click/core.py:911: SupersessionWarning: Function `dev_command` is superseded. Use 'dg dev'",
    "  return callback(*args, **kwargs)",
    f"{STAMP} - dagster - \x1b[34mINFO\x1b[0m - Launching Dagster services...",
    f"{STAMP} - dagster - \x1b[33mWARNING\x1b[0m - /x/sensor_definition.py:809: BetaWarning: "
    "Parameter `owners` of initializer `SensorDefinition.__init__` is currently in beta",
    "  return SensorDefinition(",
    f"{STAMP} - dagster.daemon.SensorDaemon - INFO - Checking for new runs for sensor: s",
    f"{STAMP} - dagster.daemon.SensorDaemon - ERROR - Sensor s failed:",
    "Traceback (most recent call last):",
    '  File "/x/defs.py", line 3, in s',
    "ValueError: the warehouse is gone",
    "",
    f"{STAMP} - dagster.daemon.SensorDaemon - INFO - Checking for new runs for sensor: s",
    "/x/defs.py:7: UserWarning: connection sales has no snapshot entry",
    "  warnings.warn(...)",
    f"{STAMP} - dagster-webserver - INFO - Serving dagster-webserver on http://127.0.0.1:3000",
]


def test_only_warnings_and_errors_pass_with_their_continuation_lines() -> None:
    log_filter = LogFilter()
    shown = [line for line in map(log_filter.feed, DAGSTER_DEV_OUTPUT) if line is not None]
    assert shown == [
        "2026-11-30 19:14:53 +0000 - dagster.daemon.SensorDaemon - ERROR - Sensor s failed:",
        "Traceback (most recent call last):",
        '  File "/x/defs.py", line 3, in s',
        "ValueError: the warehouse is gone",
        "/x/defs.py:7: UserWarning: connection sales has no snapshot entry",
        "  warnings.warn(...)",
    ]


def test_the_follower_waits_for_whole_lines(tmp_path: Path) -> None:
    log = tmp_path / "dagster.log"
    shown: list[str] = []
    follower = LogFollower(log, show=shown.append)
    follower.pump()  # no log yet
    log.write_text(f"{STAMP} - dagster - WARNING - first\n{STAMP} - dagster - ERR")
    follower.pump()
    assert shown == ["2026-11-30 19:14:53 +0000 - dagster - WARNING - first"]
    with log.open("a") as fh:
        fh.write("OR - second\n")
    follower.pump()
    assert shown[-1].endswith("ERROR - second")


TOY_DEFINITIONS = """
import warnings

import dagster as dg

warnings.warn("TOY-ACTIONABLE: the toy config points at a missing file")


@dg.sensor(minimum_interval_seconds=1, default_status=dg.DefaultSensorStatus.RUNNING,
           owners=["team:toy"], target=dg.AssetSelection.all())
def toy_sensor(context):
    return dg.SkipReason("nothing to do")


@dg.asset
def toy_asset():
    return 1


defs = dg.Definitions(assets=[toy_asset], sensors=[toy_sensor])
"""


def _read_until(path: Path, text: str, *, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text(errors="replace") if path.exists() else ""
        if text in content:
            return content
        time.sleep(0.5)
    raise AssertionError(f"{text!r} not in {path} after {timeout} s:\n{content}")


def test_dev_shows_warnings_and_keeps_the_daemons_routine_in_the_log(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'toy'\n")
    (project / "toy_defs.py").write_text(TOY_DEFINITIONS)
    (project / "workspace.yaml").write_text(
        f"load_from:\n  - python_file:\n      relative_path: toy_defs.py\n"
        f"      working_directory: {project}\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FIVETRAN_", "DAGSTER_"))},
        "FIVETRAN_ASSETS_EMULATOR_PORT": str(free_port()),
        "FIVETRAN_ASSETS_RECEIVER_PORT": str(free_port()),
        "FIVETRAN_ASSETS_DAGSTER_PORT": str(free_port()),
    }
    terminal = tmp_path / "terminal.txt"
    with terminal.open("wb") as out:
        dev = subprocess.Popen(
            [sys.executable, "-c", "from fivetran_assets.cli import main; main()", "dev"],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    log = project / ".state" / "logs" / "dagster.log"
    try:
        _read_until(terminal, "Dagster UI:", timeout=180)
        _read_until(log, "Checking for new runs for sensor: toy_sensor", timeout=60)
        time.sleep(1.0)  # a follower's interval: what the log holds has reached the terminal
    finally:
        dev.send_signal(signal.SIGTERM)
        dev.wait(timeout=60)
    shown = terminal.read_text()
    full = log.read_text()
    assert "TOY-ACTIONABLE: the toy config points at a missing file" in shown
    assert "Checking for new runs" not in shown and "Checking for new runs" in full
    assert "Serving dagster-webserver" not in shown
    assert "BetaWarning" not in shown and "SupersessionWarning" not in shown
    assert "SupersessionWarning" not in full  # `dg dev`: nothing superseded runs
    assert "dagster: stopped" in shown
    assert f"its full log is {log}" in shown
