"""Where the stack keeps its files and which ports it uses, from the environment.

One frozen value built once per command, so every piece (process manager, credentials, Dagster
home, pipeline) agrees on paths and ports, and tests can build their own in a temp folder.

A stack that started records its host and ports (and the URLs they make) in
`.state/run/stack.json`; a command typed later in another shell, with the port variables unset,
uses the recorded ones, so it finds the stack wherever it runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

EMULATOR_PORT_ENV = "FIVETRAN_ASSETS_EMULATOR_PORT"
RECEIVER_PORT_ENV = "FIVETRAN_ASSETS_RECEIVER_PORT"
DAGSTER_PORT_ENV = "FIVETRAN_ASSETS_DAGSTER_PORT"
DEMO_DIR_ENV = "FIVETRAN_ASSETS_DEMO_DIR"
HOST_ENV = "FIVETRAN_ASSETS_HOST"
BASE_URL_ENV = "FIVETRAN_BASE_URL"  # what the config's account.base_url reads

DEFAULT_EMULATOR_PORT = 8765
DEFAULT_RECEIVER_PORT = 8766
DEFAULT_DAGSTER_PORT = 3000
STACK_RECORD = "stack.json"


class StackConfigError(ValueError):
    """An environment variable for the stack holds a value it cannot use."""


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder holding pyproject.toml and workspace.yaml, from `start` (cwd) upwards.

    The stack's files live beside the project, whatever folder a command is typed in.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "workspace.yaml").is_file():
            return folder
    raise StackConfigError(
        f"no fivetran-assets project (pyproject.toml and workspace.yaml) in {here} or above: "
        "run the command inside the project checkout"
    )


def read_record(project_root: Path) -> dict[str, object]:
    """What `.state/run/stack.json` recorded ({} when absent or unreadable: defaults apply)."""
    path = project_root / ".state" / "run" / STACK_RECORD
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _port(environ: Mapping[str, str], name: str, recorded: object, default: int) -> int:
    """The port in variable `name`; unset: the recorded one (when valid), else `default`."""
    raw = environ.get(name, "").strip()
    if not raw:
        valid = type(recorded) is int and 1 <= recorded <= 65535
        return recorded if valid else default
    try:
        port = int(raw)
    except ValueError:
        raise StackConfigError(f"{name}={raw!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise StackConfigError(f"{name}={port} is outside 1..65535")
    return port


@dataclass(frozen=True)
class StackSettings:
    """Paths and ports of one project's demo/dev stack."""

    project_root: Path
    host: str = "127.0.0.1"
    emulator_port: int = DEFAULT_EMULATOR_PORT
    receiver_port: int = DEFAULT_RECEIVER_PORT
    dagster_port: int = DEFAULT_DAGSTER_PORT
    demo_dir: Path | None = None

    @classmethod
    def from_env(
        cls, *, project_root: Path | None = None, environ: Mapping[str, str] | None = None
    ) -> StackSettings:
        """Variables first; where one is unset, what the last stack started recorded; else
        the default."""
        env = os.environ if environ is None else environ
        root = (project_root or find_project_root()).resolve()
        recorded = read_record(root)
        demo = env.get(DEMO_DIR_ENV, "").strip() or str(recorded.get("demo_dir") or "")
        return cls(
            project_root=root,
            host=env.get(HOST_ENV, "").strip() or str(recorded.get("host") or "127.0.0.1"),
            emulator_port=_port(
                env, EMULATOR_PORT_ENV, recorded.get("emulator_port"), DEFAULT_EMULATOR_PORT
            ),
            receiver_port=_port(
                env, RECEIVER_PORT_ENV, recorded.get("receiver_port"), DEFAULT_RECEIVER_PORT
            ),
            dagster_port=_port(
                env, DAGSTER_PORT_ENV, recorded.get("dagster_port"), DEFAULT_DAGSTER_PORT
            ),
            demo_dir=(root / demo) if demo else None,
        )

    @property
    def record_path(self) -> Path:
        return self.run_dir / STACK_RECORD

    def record(self) -> Path:
        """Write `.state/run/stack.json`: host, ports and URLs of the stack being started."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        data = {
            "host": self.host,
            "emulator_port": self.emulator_port,
            "receiver_port": self.receiver_port,
            "dagster_port": self.dagster_port,
            "emulator_url": self.emulator_url,
            "webhook_url": self.webhook_url,
            "dagster_url": self.dagster_url,
            "demo_dir": str(self.demo_path),
        }
        tmp = self.record_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(self.record_path)
        return self.record_path

    @property
    def state_dir(self) -> Path:
        return self.project_root / ".state"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def demo_path(self) -> Path:
        """The demo's data folder: sources under `sources/`, the warehouse beside them."""
        return self.demo_dir or self.state_dir / "demo"

    @property
    def sources_dir(self) -> Path:
        return self.demo_path / "sources"

    @property
    def warehouse_path(self) -> Path:
        return self.demo_path / "warehouse.duckdb"

    @property
    def emulator_state_dir(self) -> Path:
        return self.state_dir / "emulator"

    @property
    def webhook_db(self) -> Path:
        return self.state_dir / "webhooks.sqlite"

    @property
    def dagster_home(self) -> Path:
        return self.project_root / ".dagster_home"

    @property
    def emulator_url(self) -> str:
        return f"http://{self.host}:{self.emulator_port}"

    @property
    def receiver_url(self) -> str:
        return f"http://{self.host}:{self.receiver_port}"

    @property
    def webhook_url(self) -> str:
        return f"{self.receiver_url}/fivetran/webhook"

    @property
    def dagster_url(self) -> str:
        return f"http://{self.host}:{self.dagster_port}"
