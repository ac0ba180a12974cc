"""The apply lock: one holder at a time, a waiter told who holds it, a dead holder releases it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from fivetran_assets.state.locks import Holder, LockTimeout, apply_lock
from fivetran_assets.state.shared import StateLocation

NAME = "fivetran_assets:apply:test"


def test_a_second_apply_waits_then_fails_naming_the_holder(location: StateLocation) -> None:
    told: list[Holder | None] = []
    with apply_lock(location, NAME, command="fivetran-assets apply --yes") as holder:
        started = time.monotonic()
        with (
            pytest.raises(LockTimeout) as raised,
            apply_lock(location, NAME, timeout=timedelta(seconds=1), on_wait=told.append),
        ):
            pytest.fail("the lock was taken twice")
        assert time.monotonic() - started >= 1.0
    message = str(raised.value)
    assert f"host {socket.gethostname()}, pid {os.getpid()}, started 20" in message
    assert "(fivetran-assets apply --yes)" in message
    assert "--lock-timeout" in message
    assert told == [holder]
    with apply_lock(location, NAME, timeout=timedelta(0)):
        pass  # released on the way out of the first `with`


def test_other_accounts_do_not_wait_on_postgres(postgres_location: StateLocation) -> None:
    location = postgres_location
    with apply_lock(location, NAME), apply_lock(location, NAME + "-other", timeout=timedelta(0)):
        pass


HOLDER = """
import sys, time
from pathlib import Path
from fivetran_assets.state.database import DatabaseURL
from fivetran_assets.state.locks import apply_lock
from fivetran_assets.state.shared import StateLocation

url = DatabaseURL.parse(sys.argv[2]) if sys.argv[2] else None
with apply_lock(StateLocation(Path(sys.argv[1]), url), sys.argv[3], command="holder"):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_holder_killed_with_sigkill_releases_the_lock(location: StateLocation) -> None:
    url = location.url.conninfo if location.url else ""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(location.folder), url, NAME],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "held"
        with (
            pytest.raises(LockTimeout, match=rf"pid {process.pid}, .*\(holder\)"),
            apply_lock(location, NAME, timeout=timedelta(milliseconds=200)),
        ):
            pass
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    with apply_lock(location, NAME, timeout=timedelta(seconds=10)) as holder:
        assert holder.pid == os.getpid()
