"""The browser harness: Debian's Chromium driven by Playwright, and one demo stack to visit.

Chromium is launched by `executable_path` (never `playwright install`, which downloads a browser
this machine cannot fetch). Without chromium or Playwright the UI tests skip with the reason on a
developer's machine, and fail in CI (`CI=true`), where `.ci/run` installs chromium with apt.
Screenshots go to `test-artifacts/` at the project root, and one is taken of every failing test.

The stack is built once per session, as `make demo` and `make dev` build it: the local Fivetran
and the receiver start, the `provision_fivetran` job runs through Dagster (it creates the estate
and writes the snapshot the definitions read), `dg dev` starts over the project's
workspace, then the `pipeline` job runs. Every run goes into the same temporary DAGSTER_HOME
the webserver reads, so its pages show them.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from fivetran_assets.stack.credentials import load_or_create_credentials, stack_env
from fivetran_assets.stack.home import ensure_dagster_home
from fivetran_assets.stack.pipeline import PIPELINE_JOB, PROVISION_JOB
from fivetran_assets.stack.ports import free_port
from fivetran_assets.stack.processes import ServiceManager
from fivetran_assets.stack.runner import JobRun, execute_job
from fivetran_assets.stack.services import (
    STOP_ORDER,
    dagster_dev_spec,
    emulator_spec,
    receiver_spec,
    seed_if_missing,
)
from fivetran_assets.stack.settings import StackSettings

PROJECT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = PROJECT / "test-artifacts"
SEED_ROWS = 50
# The local Fivetran finishes a small sync within a second: look early and often, so the
# session's `pipeline` run takes seconds rather than the production default's minutes.
# Run config replaces the resource's whole config, so the credentials are named again (by env).
FAST_POLLING = {
    "resources": {
        "fivetran": {
            "config": {
                "api_key": {"env": "FIVETRAN_API_KEY"},
                "api_secret": {"env": "FIVETRAN_API_SECRET"},
                "base_url": {"env": "FIVETRAN_BASE_URL"},
                "poll_first_look_seconds": 0.5,
                "poll_max_interval_seconds": 1.0,
            }
        }
    }
}


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: the UI tests must run; .ci/run installs chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found: `apt-get install -y chromium` to run the UI tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed: `pip install -e '.[dev]'`")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


_CALL_FAILED = pytest.StashKey[bool]()


def _artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page (1440x900); a failing test leaves `test-artifacts/<test>-failure.png`.

    A new browser profile gets Dagster's newsletter dialog over its first page; the flag
    Dagster stores in localStorage once it is dismissed is set before any page loads.
    """
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(30_000)
    context.add_init_script("window.localStorage.setItem('communityNux', JSON.stringify('1'));")
    tab = context.new_page()
    yield tab
    if request.node.stash.get(_CALL_FAILED, False):
        tab.screenshot(path=str(_artifact(f"{request.node.name}-failure")), full_page=True)
    context.close()


@pytest.fixture
def screenshot(page: Any) -> Callable[[str], Path]:
    """`screenshot(name)` saves the page to `test-artifacts/<name>.png` and returns the path."""

    def take(name: str) -> Path:
        path = _artifact(name)
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(scope="session")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> StackSettings:
    """Stack paths rooted in a temp folder, free ports: nothing of the developer's is read."""
    return StackSettings(
        project_root=tmp_path_factory.mktemp("ui-stack"),
        emulator_port=free_port(),
        receiver_port=free_port(),
        dagster_port=free_port(),
    )


@pytest.fixture(scope="session")
def stack_env_vars(stack_settings: StackSettings) -> dict[str, str]:
    """The stack's environment: the project's config/, state (snapshot) in the temp folder."""
    creds = load_or_create_credentials(stack_settings.state_dir)
    return {
        **stack_env(stack_settings, creds),
        "FIVETRAN_ASSETS_STATE_DIR": str(stack_settings.state_dir),
        "FIVETRAN_ASSETS_CONFIG": str(PROJECT / "config"),
    }


def _run_job(
    name: str, settings: StackSettings, env: dict[str, str], *, run_config: dict | None = None
) -> JobRun:
    """The project's job launched in its workspace's code location (as the UI launches one),
    into the stack's DAGSTER_HOME (quietly)."""
    console = Console(file=io.StringIO(), width=120)
    with pytest.MonkeyPatch.context() as patch:
        for variable, value in env.items():
            patch.setenv(variable, value)
        return execute_job(
            name,
            settings=settings,
            env=env,
            console=console,
            run_config=run_config,
            workspace=PROJECT / "workspace.yaml",
            timeout=180,
        )


@pytest.fixture(scope="session")
def provisioned_estate(
    stack_settings: StackSettings, stack_env_vars: dict[str, str]
) -> Iterator[JobRun]:
    """The demo estate provisioned on a running local Fivetran by the `provision_fivetran` job.

    Small department databases; the run (with its plan) is in the stack's Dagster instance, and
    the snapshot it wrote lets the code location show connection tables and models.
    """
    manager = ServiceManager(stack_settings)
    creds = load_or_create_credentials(stack_settings.state_dir)
    seed_if_missing(stack_settings, rows=SEED_ROWS)
    ensure_dagster_home(stack_settings.dagster_home)
    try:
        manager.start(emulator_spec(stack_settings, creds, stack_env_vars))
        manager.start(receiver_spec(stack_settings, stack_env_vars))
        yield _run_job(PROVISION_JOB, stack_settings, stack_env_vars)
    finally:
        manager.stop_all(order=STOP_ORDER, grace=15.0)


@pytest.fixture(scope="session")
def pipeline_run(
    provisioned_estate: JobRun, stack_settings: StackSettings, stack_env_vars: dict[str, str]
) -> JobRun:
    """The `pipeline` job (every sync, then the dbt models), run once after provisioning."""
    return _run_job(PIPELINE_JOB, stack_settings, stack_env_vars, run_config=FAST_POLLING)


@pytest.fixture(scope="session")
def dagster_webserver(
    provisioned_estate: JobRun, stack_settings: StackSettings, stack_env_vars: dict[str, str]
) -> Iterator[str]:
    """`dg dev` (webserver and daemon, as `make dev` runs it) on a free port over the
    project's workspace and the stack's home; the daemon launches what the UI queues.

    Started after provisioning, so the code location loads with the snapshot. Yields its URL.
    """
    spec = dagster_dev_spec(
        stack_settings, stack_env_vars, workspace=PROJECT / "workspace.yaml", cwd=PROJECT
    )
    manager = ServiceManager(stack_settings)
    manager.start(spec)
    try:
        yield stack_settings.dagster_url
    finally:
        manager.stop(spec.name, grace=30.0)
