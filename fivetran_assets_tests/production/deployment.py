"""A deployment as separate processes, each in its own empty folder: what the no-shared-disk test
starts, and how it talks to them (HTTP, GraphQL, the installed CLI).

`Service` starts one command in its own folder (its log there too) with only the environment
it is given, waits until it answers, and stops its whole process group. `dagster_home` writes a
process's own instance from `deploy/dagster.yaml`; `estate_config` writes the estate each
Dagster process gets its own copy of. Nothing here is shared on disk between the services: the
folders only hold each one's config, log and scratch files.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Inherited by every service: what a container image provides (the interpreter, the locale).
BASE_ENV = ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Service:
    """One process of the deployment in `folder`, started by `start()`."""

    name: str
    argv: Sequence[str]
    folder: Path
    env: Mapping[str, str] = field(default_factory=dict)
    ready: Callable[[], bool] | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.folder / f"{self.name}.log"

    def start(self) -> Service:
        self.folder.mkdir(parents=True, exist_ok=True)
        env = {k: os.environ[k] for k in BASE_ENV if k in os.environ} | dict(self.env)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                list(self.argv),
                cwd=self.folder,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_ready(self, timeout: float = 120.0) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while self.ready is not None and not _quietly(self.ready):
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.process.returncode}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s:\n{self.tail()}")
            time.sleep(0.25)

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _quietly(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except (httpx.HTTPError, OSError):
        return False


def answers(url: str, **kwargs: Any) -> Callable[[], bool]:
    return lambda: httpx.get(url, timeout=2, **kwargs).status_code == 200


def cli(*args: str) -> list[str]:
    return [str(BIN / "fivetran-assets"), *args]


def tool(name: str, *args: str) -> list[str]:
    """A console script installed beside this interpreter (`dagster`, `dagster-webserver`...)."""
    return [str(BIN / name), *args]


def dagster_home(folder: Path) -> Path:
    """The process's own DAGSTER_HOME: `deploy/dagster.yaml` with compute logs moved inside."""
    home = folder / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((PROJECT / "deploy" / "dagster.yaml").read_text())
    config["compute_logs"]["config"]["base_dir"] = str(home / "compute_logs")
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return home


def workspace(folder: Path, port: int) -> Path:
    """How the webserver and the daemon reach the code server (deploy/workspace.yaml's shape)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "workspace.yaml"
    grpc = {"host": "127.0.0.1", "port": port, "location_name": "fivetran_assets"}
    path.write_text(yaml.safe_dump({"load_from": [{"grpc_server": grpc}]}))
    return path


def estate_config(folder: Path, *, warehouse: Mapping[str, Any]) -> Path:
    """The estate: two connections Dagster schedules, one Fivetran syncs every 5 (Fivetran)
    minutes, all into a PostgreSQL warehouse, and a webhook to `$FIVETRAN_WEBHOOK_URL`."""

    def connections(scheduled_by: str, names: list[str], **extra: Any) -> dict[str, Any]:
        return {
            "service": "sqlite",
            "config": {"database": "${env:SOURCES_DIR}/{name}.sqlite"},
            "scheduled_by": scheduled_by,
            "for_each": [{"name": n} for n in names],
            **extra,
        }

    estate = {
        "account": {
            "base_url": "${env:FIVETRAN_BASE_URL}",
            "rate_budget": {"requests_per_hour": 20_000},
        },
        "groups": [
            {
                "name": "departments",
                "destination": {
                    "service": "postgres_warehouse",
                    "region": "GCP_US_EAST4",
                    "time_zone_offset": "0",
                    "config": {**warehouse, "password": "${env:WAREHOUSE_PASSWORD}"},
                },
                "webhooks": [
                    {
                        "url": "${env:FIVETRAN_WEBHOOK_URL}",
                        "events": ["sync_start", "sync_end"],
                        "secret": "${env:FIVETRAN_WEBHOOK_SECRET}",
                    }
                ],
                "connections": [
                    connections("dagster", ["sales", "marketing"], sync_frequency=360),
                    connections("fivetran", ["finance"], sync_frequency=5),
                ],
            }
        ],
    }
    path = folder / "config" / "fivetran.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(estate, sort_keys=False))
    return path.parent


LAUNCH = """
mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on RunConfigValidationInvalid { errors { message } } ... on InvalidSubsetError { message }
} }
"""
RUN = "query($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status } } }"
RELOAD = """
mutation($name: String!) { reloadRepositoryLocation(repositoryLocationName: $name) {
  __typename ... on WorkspaceLocationEntry { locationOrLoadError { __typename
    ... on PythonError { message } } } } }
"""
ASSETS = "{ assetNodes { assetKey { path } } }"

MATERIALIZATIONS = """
query($key: AssetKeyInput!) { assetOrError(assetKey: $key) { ... on Asset {
  assetMaterializations(limit: 20) { runId metadataEntries { label
    ... on TextMetadataEntry { text } ... on IntMetadataEntry { intValue } } } } } }
"""


def graphql(url: str, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/graphql", json={"query": query, "variables": dict(variables or {})}, timeout=120
    )
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def launch(url: str, job: str, *, timeout: float = 240.0) -> str:
    """Launch `job` through the webserver (queued; the daemon starts it); its final status."""
    selector = {
        "repositoryLocationName": "fivetran_assets",
        "repositoryName": "__repository__",
        "jobName": job,
    }
    launched = graphql(url, LAUNCH, {"params": {"selector": selector, "runConfigData": {}}})
    result = launched["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess", result
    run_id = result["run"]["runId"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = graphql(url, RUN, {"id": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(1)
    raise AssertionError(f"{job} run {run_id} still {status} after {timeout:.0f} s")


def wait_for_location(url: str, timeout: float = 180.0) -> None:
    """Until the webserver has loaded the code location: reload it while its server is still
    starting (unreachable); any other load error fails at once."""
    deadline = time.monotonic() + timeout
    while True:
        entry = graphql(url, RELOAD, {"name": "fivetran_assets"})["reloadRepositoryLocation"]
        loaded = entry.get("locationOrLoadError") or {}
        if loaded.get("__typename") == "RepositoryLocation":
            return
        message = loaded.get("message", "")
        assert "DagsterUserCodeUnreachableError" in message, loaded
        if time.monotonic() > deadline:
            raise AssertionError(f"the code location did not load in {timeout:.0f} s: {message}")
        time.sleep(1)


def reload_location(url: str) -> None:
    entry = graphql(url, RELOAD, {"name": "fivetran_assets"})["reloadRepositoryLocation"]
    loaded = entry["locationOrLoadError"]
    assert loaded["__typename"] == "RepositoryLocation", loaded


def materializations(url: str, key: list[str]) -> list[dict[str, Any]]:
    """An asset's materializations, newest first, with their metadata as a dict."""
    found = graphql(url, MATERIALIZATIONS, {"key": {"path": key}})["assetOrError"]
    return [
        {
            "run_id": m["runId"],
            **{e["label"]: e.get("text", e.get("intValue")) for e in m["metadataEntries"]},
        }
        for m in found.get("assetMaterializations", [])
    ]
