"""Fixtures for reconciler tests: demo sources, a webhook receiver, and a config to edit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from fivetran_assets.emulator.dataplane.seed import seed_demo
from fivetran_assets.estate import load_estate
from fivetran_assets.fivetran.client import FivetranClient
from fivetran_assets.fivetran.ratelimit import RateBudget
from fivetran_assets.fivetran.retry import RetryPolicy
from fivetran_assets.reconcile.service import Reconciler
from fivetran_assets_tests.fixtures.local import LocalControls, webhook_receiver

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / "config" / "fivetran.yaml"
WEBHOOK_SECRET = "whsec_first_0001"


@pytest.fixture
def webhook_url() -> Iterator[str]:
    """A receiver that accepts every delivery (Fivetran tests a webhook URL on create)."""
    with webhook_receiver() as url:
        yield url


@dataclass
class Estate(LocalControls):
    """The demo config in a temp file, its environment, and a way to plan/apply it."""

    emulator: Any
    path: Path
    env: dict[str, str]
    state_dir: Path

    def edit(self, change: Any) -> None:
        data = yaml.safe_load(self.path.read_text())
        change(data)
        self.path.write_text(yaml.safe_dump(data, sort_keys=False))

    def client(self, *, max_retries: int = 8, read_timeout: float = 30.0) -> FivetranClient:
        return FivetranClient(
            self.emulator.api_key,
            self.emulator.api_secret,
            base_url=self.emulator.base_url,
            timeout=(5.0, read_timeout),
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

    def inventory(self) -> Counter:
        """How many of each identity exist in the demo's group: a duplicate counts above 1."""
        client = self.client()
        groups = [g for g in client.list_groups() if g.name == "departments"]
        counts: Counter = Counter(("group", g.name) for g in groups)
        ids = {g.id for g in groups}
        counts.update(("webhook", w.url) for w in client.list_webhooks() if w.group_id in ids)
        counts.update(
            ("connection", c.schema) for c in client.list_connections() if c.group_id in ids
        )
        projects = [p for p in client.list_transformation_projects() if p.group_id in ids]
        counts.update(("project", p.group_id) for p in projects)
        for project in projects:
            counts.update(
                ("transformation", t.name)
                for t in client.list_transformations(project_id=project.id)
            )
        return counts

    @property
    def control_url(self) -> str:
        return self.emulator.base_url

    @property
    def control_auth(self) -> tuple[str, str]:
        return self.emulator.auth


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
