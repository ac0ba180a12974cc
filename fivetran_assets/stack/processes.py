"""Background services with pid files, health checks and graceful-then-forceful stop.

The demo leaves the local Fivetran and the receiver running after it returns, and `dev` runs
`dagster dev` beside them, so a later `fivetran-assets stop` (another process, maybe another
terminal) must find them: each service gets `.state/run/<name>.pid` (JSON: pid, port, argv, log)
and a log under `.state/logs/<name>.log`. Each runs in its own session so a stop reaches its whole
process group (uvicorn workers, dagster's webserver and daemon), and the pid file's command line
is compared with /proc before signalling, so a recycled pid is never killed.
"""

from __future__ import annotations

import base64
import contextlib
import enum
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fivetran_assets.stack.ports import require_free_port
from fivetran_assets.stack.settings import StackSettings
from fivetran_assets.state.files import write_atomic

LOG_TAIL_LINES = 25


class ServiceError(RuntimeError):
    """A service could not be started, did not become healthy, or cannot be stopped."""


class HealthTimeoutError(ServiceError):
    """A service started but did not answer its health check before the deadline."""


class StopResult(enum.StrEnum):
    STOPPED = "stopped"  # ended after SIGTERM
    KILLED = "killed"  # needed SIGKILL
    NOT_RUNNING = "not running"  # no pid file
    STALE = "stale pid file removed"  # the recorded process was already gone


@dataclass(frozen=True)
class HealthCheck:
    """`GET url` answering 200 means healthy; `auth` is HTTP Basic (never shown)."""

    url: str
    auth: tuple[str, str] | None = field(default=None, repr=False)

    def ok(self, *, timeout: float = 2.0) -> bool:
        request = urllib.request.Request(self.url, method="GET")
        if self.auth is not None:
            token = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError, ValueError):
            return False


@dataclass(frozen=True)
class ServiceSpec:
    """How to run one service of the stack; `env` holds secrets and is never shown."""

    name: str
    title: str
    argv: tuple[str, ...]
    port: int
    port_env: str
    health: HealthCheck
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    startup_timeout: float = 60.0
    cwd: Path | None = None  # default: the project root


@dataclass(frozen=True)
class PidRecord:
    name: str
    pid: int
    port: int
    argv: tuple[str, ...]
    log: str
    started: float

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "argv": list(self.argv)})

    @classmethod
    def from_json(cls, text: str) -> PidRecord:
        data = json.loads(text)
        return cls(
            name=str(data["name"]),
            pid=int(data["pid"]),
            port=int(data["port"]),
            argv=tuple(str(a) for a in data["argv"]),
            log=str(data["log"]),
            started=float(data["started"]),
        )


@dataclass(frozen=True)
class Started:
    record: PidRecord
    reused: bool
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else "(log is empty)"


def _default_sigint() -> None:
    """In the child: take SIGINT back from SIG_IGN (inherited from shells that run jobs in the
    background), so Python services turn it, and the SIGTERM they relay, into a clean stop."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _reap(pid: int) -> None:
    """Collect a child's exit status so it stops counting as alive (when we are its parent)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _group_alive(pgid: int) -> bool:
    _reap(pgid)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_ours(record: PidRecord) -> bool:
    """Whether the recorded pid still runs the recorded command (not a recycled pid)."""
    _reap(record.pid)
    try:
        os.kill(record.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    cmdline = _cmdline(record.pid)
    if cmdline is None:
        return True
    if not cmdline:
        return False  # a zombie: exited, not yet reaped by its parent
    tail = list(record.argv[1:])
    return cmdline[-len(tail) :] == tail if tail else record.argv[0] in cmdline[0]


class ServiceManager:
    """Starts, finds and stops the stack's services of one project."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings

    def pid_path(self, name: str) -> Path:
        return self.settings.run_dir / f"{name}.pid"

    def log_path(self, name: str) -> Path:
        return self.settings.logs_dir / f"{name}.log"

    def read(self, name: str) -> PidRecord | None:
        path = self.pid_path(name)
        try:
            return PidRecord.from_json(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            raise ServiceError(
                f"{path}: unreadable pid file; check no {name} process is left running, then "
                "delete the file"
            ) from None

    def records(self) -> list[PidRecord]:
        if not self.settings.run_dir.is_dir():
            return []
        found = (self.read(p.stem) for p in sorted(self.settings.run_dir.glob("*.pid")))
        return [r for r in found if r is not None]

    def start(self, spec: ServiceSpec) -> Started:
        """Start `spec` detached (or find it already running and healthy) and wait for health;
        its output goes to its log file."""
        existing = self.read(spec.name)
        if existing is not None:
            if is_ours(existing):
                if existing.port == spec.port and spec.health.ok():
                    return Started(existing, reused=True)
                raise ServiceError(
                    f"{spec.title} (pid {existing.pid}, port {existing.port}) is running but "
                    f"not answering {spec.health.url}: run `fivetran-assets stop` first"
                )
            self.pid_path(spec.name).unlink(missing_ok=True)
        require_free_port(self.settings.host, spec.port, service=spec.title, env_var=spec.port_env)
        self.settings.run_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path(spec.name)
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as log_file:
            process = subprocess.Popen(
                list(spec.argv),
                cwd=spec.cwd or self.settings.project_root,
                env={**os.environ, **spec.env},
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_default_sigint,
            )
        record = PidRecord(
            name=spec.name,
            pid=process.pid,
            port=spec.port,
            argv=spec.argv,
            log=str(log),
            started=time.time(),
        )
        write_atomic(self.pid_path(spec.name), record.to_json(), mode=0o644)
        try:
            self._wait_healthy(spec, process, log)
        except ServiceError:
            self.stop(spec.name)
            raise
        return Started(record, reused=False, process=process)

    def _wait_healthy(self, spec: ServiceSpec, process: subprocess.Popen[bytes], log: Path) -> None:
        deadline = time.monotonic() + spec.startup_timeout
        delay = 0.05
        while True:
            code = process.poll()
            if code is not None:
                raise ServiceError(
                    f"{spec.title} exited with code {code} before answering {spec.health.url}. "
                    f"Last lines of {log}:\n{log_tail(log)}"
                )
            if spec.health.ok():
                return
            if time.monotonic() >= deadline:
                raise HealthTimeoutError(
                    f"{spec.title} (pid {process.pid}) did not answer GET {spec.health.url} "
                    f"within {spec.startup_timeout:g} s. Last lines of {log}:\n{log_tail(log)}"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def stop(
        self, name: str, *, grace: float = 20.0, stop_signal: int = signal.SIGTERM
    ) -> StopResult:
        """Signal the service's leader, SIGKILL its whole group after `grace` seconds.

        Only the leader gets `stop_signal`: `dagster dev` shuts its webserver, daemon and code
        servers down in order, which signalling them all at once would race.
        """
        record = self.read(name)
        if record is None:
            return StopResult.NOT_RUNNING
        path = self.pid_path(name)
        if not is_ours(record):
            path.unlink(missing_ok=True)
            return StopResult.STALE
        result = StopResult.STOPPED
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.pid, stop_signal)
        deadline = time.monotonic() + grace
        while _group_alive(record.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _group_alive(record.pid):
            result = StopResult.KILLED
            with contextlib.suppress(ProcessLookupError):
                os.killpg(record.pid, signal.SIGKILL)
            kill_deadline = time.monotonic() + 5
            while _group_alive(record.pid) and time.monotonic() < kill_deadline:
                time.sleep(0.05)
            if _group_alive(record.pid):
                raise ServiceError(f"{name} (pid {record.pid}) survived SIGKILL; pid file kept")
        path.unlink(missing_ok=True)
        return result

    def stop_all(
        self, *, order: tuple[str, ...] = (), grace: float = 20.0
    ) -> dict[str, StopResult]:
        """Stop every recorded service, those named in `order` first (dependents before deps)."""
        names = [r.name for r in self.records()]
        ranked = [n for n in order if n in names] + [n for n in names if n not in order]
        return {name: self.stop(name, grace=grace) for name in ranked}
