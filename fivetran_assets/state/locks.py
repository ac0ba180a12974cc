"""One apply at a time per estate: a lock that dies with its holder and says who holds it.

On PostgreSQL it is a session advisory lock on its own connection, so a holder that crashed
releases it when its session ends; the holder's host, pid, start time and command are written
to `apply_lock_holders` for whoever has to wait. Without a database it is an OS file lock
(`flock`) on `apply.lock` in the state folder, released by the kernel when the holder's process
ends, with the same details written into the locked file. A waiter polls until `timeout`, then
raises `LockTimeout` naming the holder.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fivetran_assets.state.database import Database, StateError
from fivetran_assets.state.shared import StateLocation

LOCK_FILE = "apply.lock"
DEFAULT_LOCK_TIMEOUT = timedelta(minutes=10)


class LockTimeout(StateError):
    """Another apply held the lock for longer than this one was willing to wait."""


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a lock."""

    host: str
    pid: int
    started_at: float
    command: str

    @classmethod
    def me(cls, command: str) -> Holder:
        return cls(socket.gethostname(), os.getpid(), time.time(), command)

    def describe(self) -> str:
        started = datetime.fromtimestamp(self.started_at, UTC).isoformat(timespec="seconds")
        return (
            f"host {self.host}, pid {self.pid}, started {started.replace('+00:00', 'Z')} "
            f"({self.command})"
        )


def current_command() -> str:
    """This process's command line, shortened: how a waiter recognises the holder."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    return " ".join([name, *sys.argv[1:3]])[:200]


@contextlib.contextmanager
def apply_lock(
    location: StateLocation,
    name: str,
    *,
    timeout: timedelta = DEFAULT_LOCK_TIMEOUT,
    command: str | None = None,
    on_wait: Callable[[Holder | None], None] | None = None,
    poll_interval: float = 0.5,
) -> Iterator[Holder]:
    """Hold the apply lock `name` of `location` for the `with` block (see the module docstring).

    `on_wait(holder)` is called once if the lock is busy, before waiting for it.
    """
    me = Holder.me(command or current_command())
    if location.uses_database_lock:
        lock = _DatabaseLock(location, name)
    else:
        lock = _FileLock(location.folder / LOCK_FILE)
    deadline = time.monotonic() + max(0.0, timeout.total_seconds())
    told = False
    while not lock.try_acquire(me):
        if not told and on_wait is not None:
            on_wait(lock.holder())
        told = True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            holder = lock.holder()
            lock.close()
            who = holder.describe() if holder else "a process that did not say who it is"
            raise LockTimeout(
                f"another apply holds the lock on {location.describe()} ({who}); waited "
                f"{_duration(timeout)} (--lock-timeout). Try again when it has finished."
            )
        time.sleep(min(poll_interval, remaining))
    try:
        yield me
    finally:
        lock.release()


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


class _DatabaseLock:
    def __init__(self, location: StateLocation, name: str) -> None:
        location.shared()  # the tables exist before the first holder writes to them
        self.name = name
        self._db = Database(location.database, application_name="fivetran-assets apply lock")

    def try_acquire(self, me: Holder) -> bool:
        got = self._db.scalar("SELECT pg_try_advisory_lock(hashtextextended(?, 0))", (self.name,))
        if got:
            with self._db.transaction():
                self._db.execute("DELETE FROM apply_lock_holders WHERE name = ?", (self.name,))
                self._db.execute(
                    "INSERT INTO apply_lock_holders (name, host, pid, started_at, command)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (self.name, me.host, me.pid, me.started_at, me.command),
                )
        return bool(got)

    def holder(self) -> Holder | None:
        row = self._db.query(
            "SELECT host, pid, started_at, command FROM apply_lock_holders WHERE name = ?",
            (self.name,),
        )
        return Holder(*row[0]) if row else None

    def release(self) -> None:
        with contextlib.suppress(StateError):
            self._db.execute("DELETE FROM apply_lock_holders WHERE name = ?", (self.name,))
            self._db.execute("SELECT pg_advisory_unlock(hashtextextended(?, 0))", (self.name,))
        self.close()

    def close(self) -> None:
        self._db.close()  # ending the session releases the advisory lock in any case


class _FileLock:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Never truncated on open: a waiter must not wipe the holder's details.
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def try_acquire(self, me: Holder) -> bool:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(asdict(me)).encode(), 0)
        return True

    def holder(self) -> Holder | None:
        try:
            return Holder(**json.loads(self.path.read_text() or "null"))
        except (OSError, ValueError, TypeError):
            return None

    def release(self) -> None:
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)
