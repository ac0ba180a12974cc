"""Fixtures for reconciler tests: demo sources, a webhook receiver, and a config to edit."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from fivetran_assets.emulator.dataplane.seed import seed_demo
from fivetran_assets.estate import load_estate
from fivetran_assets.fivetran.client import FivetranClient
from fivetran_assets.fivetran.ratelimit import RateBudget
from fivetran_assets.fivetran.retry import RetryPolicy
from fivetran_assets.reconcile.service import Reconciler

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / "config" / "fivetran.yaml"
WEBHOOK_SECRET = "whsec_first_0001"


class _Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def webhook_url() -> Iterator[str]:
    """A receiver that accepts every delivery (Fivetran tests a webhook URL on create)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/fivetran/webhook"
    server.shutdown()
    server.server_close()


@dataclass
class Estate:
    """The demo config in a temp file, its environment, and a way to plan/apply it."""

    emulator: Any
    path: Path
    env: dict[str, str]
    state_dir: Path

    def edit(self, change: Any) -> None:
        data = yaml.safe_load(self.path.read_text())
        change(data)
        self.path.write_text(yaml.safe_dump(data, sort_keys=False))

    def client(self, *, max_retries: int = 8) -> FivetranClient:
        return FivetranClient(
            self.emulator.api_key,
            self.emulator.api_secret,
            base_url=self.emulator.base_url,
            timeout=(5.0, 30.0),
            retry=RetryPolicy(max_retries=max_retries, backoff_base=0.05, backoff_cap=0.5),
            rate_budget=RateBudget(time_scale=60),
        )

    def reconciler(self, **kwargs: Any) -> Reconciler:
        """A reconciler for the config as it is now; no snapshot refresh unless asked (dbt parse
        is slow and tested by the snapshot's owner)."""
        estate = load_estate(self.path, root=REPO)
        kwargs.setdefault("refresh_snapshot", False)
        return Reconciler(
            estate,
            kwargs.pop("client", None) or self.client(),
            environment=estate.environment(self.env),
            state_dir=self.state_dir,
            **kwargs,
        )

    def requests(self) -> list[dict[str, Any]]:
        answer = requests.get(
            self.emulator.base_url + "/_local/requests", auth=self.emulator.auth, timeout=5
        )
        return answer.json()["items"]

    def clear_requests(self) -> None:
        requests.delete(
            self.emulator.base_url + "/_local/requests", auth=self.emulator.auth, timeout=5
        )

    def fault(self, **rule: Any) -> None:
        answer = requests.post(
            self.emulator.base_url + "/_local/faults", json=rule, auth=self.emulator.auth, timeout=5
        )
        answer.raise_for_status()

    def clear_faults(self) -> None:
        requests.delete(
            self.emulator.base_url + "/_local/faults", auth=self.emulator.auth, timeout=5
        )


@pytest.fixture
def demo(emulator: Any, webhook_url: str, tmp_path: Path) -> Estate:
    """The demo estate (4 departments, a 5th seeded for the "add a department" edit)."""
    seed_demo(tmp_path / "demo" / "sources", departments=5, rows=20)
    config = tmp_path / "fivetran.yaml"
    config.write_text(DEMO_CONFIG.read_text())
    env = {
        "FIVETRAN_API_KEY": emulator.api_key,
        "FIVETRAN_API_SECRET": emulator.api_secret,
        "FIVETRAN_BASE_URL": emulator.base_url,
        "FIVETRAN_ASSETS_DEMO_DIR": str(tmp_path / "demo"),
        "FIVETRAN_WEBHOOK_URL": webhook_url,
        "FIVETRAN_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    return Estate(emulator, config, env, tmp_path / "state")
