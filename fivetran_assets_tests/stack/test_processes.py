"""Starting, finding and stopping background services: pid files, health, busy ports.

Small Python programs stand in for the services where the test is about the process manager;
one test runs the real local Fivetran and receiver through the same specs the CLI uses.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from fivetran_assets.stack.cli import preflight
from fivetran_assets.stack.credentials import load_or_create_credentials, stack_env
from fivetran_assets.stack.ports import PortBusyError, port_is_free
from fivetran_assets.stack.processes import (
    HealthCheck,
    HealthTimeoutError,
    PidRecord,
    ServiceError,
    ServiceManager,
    ServiceSpec,
    StopResult,
)
from fivetran_assets.stack.services import emulator_spec, receiver_spec
from fivetran_assets.stack.settings import StackSettings

IGNORE_TERM_SERVER = (
    "import signal, http.server, sys; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "http.server.test(HandlerClass=http.server.SimpleHTTPRequestHandler, "
    "port=int(sys.argv[1]), bind='127.0.0.1')"
)


def _http_server(port: int, *, name: str = "web", ignore_term: bool = False) -> ServiceSpec:
    if ignore_term:
        argv = (sys.executable, "-c", IGNORE_TERM_SERVER, str(port))
    else:
        argv = (sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1")
    return ServiceSpec(
        name=name,
        title=f"the {name} server",
        argv=argv,
        port=port,
        port_env="WEB_PORT",
        health=HealthCheck(f"http://127.0.0.1:{port}/"),
        startup_timeout=20.0,
    )


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def listener(settings: StackSettings) -> Iterator[int]:
    """Another program listening on the emulator's port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", settings.emulator_port))
    sock.listen()
    yield settings.emulator_port
    sock.close()


def test_start_writes_pid_and_log_reuses_then_stops(
    manager: ServiceManager, settings: StackSettings
) -> None:
    spec = _http_server(settings.dagster_port)
    started = manager.start(spec)
    assert not started.reused
    record = manager.read("web")
    assert record == started.record
    assert record.port == settings.dagster_port
    assert manager.pid_path("web").parent == settings.state_dir / "run"
    assert manager.log_path("web") == settings.state_dir / "logs" / "web.log"
    assert not port_is_free("127.0.0.1", settings.dagster_port)

    again = manager.start(spec)
    assert again.reused and again.record.pid == record.pid

    assert manager.stop("web") is StopResult.STOPPED
    assert not manager.pid_path("web").exists()
    assert not _alive(record.pid)
    assert manager.stop("web") is StopResult.NOT_RUNNING


def test_a_process_ignoring_sigterm_is_killed(
    manager: ServiceManager, settings: StackSettings
) -> None:
    started = manager.start(_http_server(settings.dagster_port, ignore_term=True))
    assert manager.stop("web", grace=0.5) is StopResult.KILLED
    assert not _alive(started.record.pid)


def test_health_timeout_shows_the_url_and_the_log_tail(
    manager: ServiceManager, settings: StackSettings
) -> None:
    spec = ServiceSpec(
        name="sleepy",
        title="the sleepy service",
        argv=(
            sys.executable,
            "-c",
            "print('booting slowly', flush=True); import time; time.sleep(60)",
        ),
        port=settings.receiver_port,
        port_env="SLEEPY_PORT",
        health=HealthCheck(f"http://127.0.0.1:{settings.receiver_port}/healthz"),
        startup_timeout=1.0,
    )
    started_at = time.monotonic()
    with pytest.raises(HealthTimeoutError) as info:
        manager.start(spec)
    assert time.monotonic() - started_at < 15
    message = str(info.value)
    assert f"did not answer GET http://127.0.0.1:{settings.receiver_port}/healthz" in message
    assert "within 1 s" in message
    assert "booting slowly" in message
    assert str(manager.log_path("sleepy")) in message
    assert not manager.pid_path("sleepy").exists()


def test_a_service_that_exits_early_reports_its_code_and_log(
    manager: ServiceManager, settings: StackSettings
) -> None:
    spec = ServiceSpec(
        name="crashy",
        title="the crashy service",
        argv=(sys.executable, "-c", "print('config is broken'); raise SystemExit(3)"),
        port=settings.receiver_port,
        port_env="CRASHY_PORT",
        health=HealthCheck(f"http://127.0.0.1:{settings.receiver_port}/"),
    )
    with pytest.raises(ServiceError, match="exited with code 3") as info:
        manager.start(spec)
    assert "config is broken" in str(info.value)


def test_busy_port_names_port_service_and_variable(
    manager: ServiceManager, settings: StackSettings, listener: int
) -> None:
    creds = load_or_create_credentials(settings.state_dir)
    spec = emulator_spec(settings, creds, stack_env(settings, creds))
    for attempt in (lambda: manager.start(spec), lambda: preflight(manager, [spec])):
        with pytest.raises(PortBusyError) as info:
            attempt()
        message = str(info.value)
        assert f"port {listener} on 127.0.0.1 is busy" in message
        assert "the local Fivetran" in message
        assert "FIVETRAN_ASSETS_EMULATOR_PORT" in message
        assert "fivetran-assets stop" in message
    assert manager.read("emulator") is None


def test_a_stale_pid_file_is_removed_not_signalled(manager: ServiceManager) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(done.stdout)
    manager.settings.run_dir.mkdir(parents=True)
    record = PidRecord("ghost", pid, 1, ("ghost-server", "serve"), "ghost.log", time.time())
    manager.pid_path("ghost").write_text(record.to_json())
    assert manager.stop("ghost") is StopResult.STALE
    assert not manager.pid_path("ghost").exists()


def test_a_recycled_pid_is_not_ours(manager: ServiceManager) -> None:
    """A live pid running another command (here: this test) is never signalled."""
    manager.settings.run_dir.mkdir(parents=True)
    record = PidRecord("other", os.getpid(), 1, ("some-server", "serve"), "x.log", time.time())
    manager.pid_path("other").write_text(record.to_json())
    assert manager.stop("other") is StopResult.STALE


def test_real_local_fivetran_and_receiver(manager: ServiceManager, settings: StackSettings) -> None:
    creds = load_or_create_credentials(settings.state_dir)
    env = stack_env(settings, creds)
    specs = [emulator_spec(settings, creds, env), receiver_spec(settings, env)]
    preflight(manager, specs)
    records = [manager.start(spec).record for spec in specs]
    assert all(spec.health.ok() for spec in specs)
    assert not HealthCheck(specs[0].health.url, auth=(creds.api_key, "wrong")).ok()
    for record in records:
        assert creds.api_secret not in record.to_json()
    log = manager.log_path("emulator").read_text()
    assert creds.api_secret not in log
    preflight(manager, specs)  # running services of ours do not count as busy ports
    results = manager.stop_all(order=("receiver", "emulator"))
    assert list(results) == ["receiver", "emulator"]
    assert set(results.values()) == {StopResult.STOPPED}
    assert port_is_free("127.0.0.1", settings.emulator_port)
