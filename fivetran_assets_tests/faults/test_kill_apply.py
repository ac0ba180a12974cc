"""`fivetran-assets apply` killed with SIGKILL at random moments, each followed by a rerun: the
rerun converges and no resource exists twice, wherever the first one died (before its first
call, between a create and its schema, mid-request, while writing the snapshot).

Each round starts from an empty account (`/_local/reset`). The apply runs in its own process,
started ahead of time and told to go, so that the moment of the kill is measured from the start
of the apply itself and not from Python's imports. The moments come from a seeded generator:
one round in five while the apply still plans, the others after a random number of its writes
(seen in the local Fivetran's request log), so kills land at every stage. `make test` runs 20
rounds; `make bench` (`--campaign bench`) 50.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
import requests

from fivetran_assets_tests.reconcile.conftest import REPO, Estate, demo, webhook_url  # noqa: F401

ROUNDS = {"test": 20, "bench": 50}
WRITES = ("POST", "PATCH", "DELETE")

_CHILD = """
import sys
from fivetran_assets.cli import main
print("ready", flush=True)
sys.stdin.readline()
main(["apply", "--yes", "--config", sys.argv[1]])
"""


class WarmApply:
    """An `apply` process with its imports done, waiting for the word to start."""

    def __init__(self, estate: Estate) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            **estate.env,
            "FIVETRAN_ASSETS_STATE_DIR": str(estate.state_dir),
            "FIVETRAN_ASSETS_SNAPSHOT": str(estate.state_dir / "snapshot.json"),
            "FIVETRAN_TIME_SCALE": "60",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(estate.path)],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def go(self) -> None:
        assert self.process.stdout is not None and self.process.stdin is not None
        assert self.process.stdout.readline().strip() == "ready"
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def kill(self) -> int | None:
        """SIGKILL; the exit status if it had already finished (None if it was killed)."""
        finished = self.process.poll()
        if finished is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        return finished


def _reset(estate: Estate) -> None:
    answer = requests.post(
        f"{estate.emulator.base_url}/_local/reset", auth=estate.emulator.auth, timeout=30
    )
    answer.raise_for_status()


def _writes(estate: Estate) -> int:
    return sum(1 for e in estate.requests() if e["method"] in WRITES)


def _uninterrupted(estate: Estate, warm: WarmApply) -> tuple[float, int]:
    """Seconds from the word go to an uninterrupted apply's first write, and how many writes it
    makes (then the process is stopped: the snapshot it writes next is not measured)."""
    times: list[float] = []
    started = time.monotonic()
    warm.go()
    seen = 0
    while seen < 9 or time.monotonic() - started - times[-1] < 2.0:
        assert time.monotonic() - started < 120, f"the apply made only {seen} writes in 120 s"
        if (writes := _writes(estate)) > seen:
            seen = writes
            times.append(time.monotonic() - started)
        time.sleep(0.02)
    warm.kill()
    return times[0], seen


def _kill_when(estate: Estate, warm: WarmApply, *, seconds: float, writes: int) -> None:
    """Kill after `seconds`, or once the apply has made `writes` writes (whichever is later)."""
    started = time.monotonic()
    warm.go()
    time.sleep(seconds)
    while writes and _writes(estate) < writes and time.monotonic() - started < 60:
        time.sleep(0.01)
    warm.kill()


@pytest.mark.timeout(1200)
def test_apply_killed_at_random_moments_then_rerun_converges(
    demo: Estate,  # noqa: F811
    request: pytest.FixtureRequest,
    capsys: Any,
) -> None:
    rounds = ROUNDS[request.config.getoption("campaign")]
    warm = WarmApply(demo)
    first, total = _uninterrupted(demo, warm)
    # A random moment each round: one in five while it plans (before its first write), the
    # others after a random number of its writes, so kills land at every stage of the apply.
    generator = random.Random(14)
    moments = [
        (generator.uniform(0.0, first), 0) if n % 5 == 0 else (0.0, generator.randint(1, total))
        for n in range(rounds)
    ]
    writes_at_kill: list[int] = []
    warm = WarmApply(demo)
    for seconds, writes in moments:
        _reset(demo)
        demo.clear_requests()
        _kill_when(demo, warm, seconds=seconds, writes=writes)
        warm = WarmApply(demo)  # its imports overlap the rerun
        writes_at_kill.append(_writes(demo))
        where = f"killed after {writes_at_kill[-1]} writes"
        rerun = demo.reconciler().apply(demo.reconciler().plan())
        assert rerun.ok, f"{where}: {rerun.describe()}"  # ok means a fresh plan was empty
        counts = demo.inventory()
        assert set(counts.values()) == {1}, f"{where}: duplicates {counts}"
        assert len([key for key in counts if key[0] == "connection"]) == 4
    warm.kill()
    with capsys.disabled():
        print(
            f"\nkill -9 of apply: {rounds}/{rounds} reruns converged, 0 duplicates; writes "
            f"done before each kill (of {total}): {sorted(writes_at_kill)}"
        )
    assert len(set(writes_at_kill)) >= min(5, rounds // 2), "the kills all fell at one point"
