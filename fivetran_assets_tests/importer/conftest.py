"""One hand-made account per module (40 connections in 3 groups), and a way to run the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from fivetran_assets.cli import main
from fivetran_assets_tests.conftest import API_KEY, API_SECRET
from fivetran_assets_tests.fixtures.local import LocalControls, webhook_receiver
from fivetran_assets_tests.fixtures.postgres import PostgresServer
from fivetran_assets_tests.importer.estate import HandMade, Raw, build


@dataclass
class Account(LocalControls):
    """The local Fivetran holding the hand-made estate; runs the CLI against it."""

    server: Any
    made: HandMade
    sources: Path
    state_dir: Path

    @property
    def control_url(self) -> str:
        return self.server.base_url

    @property
    def control_auth(self) -> tuple[str, str]:
        return self.server.auth

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "FIVETRAN_API_KEY": API_KEY,
            "FIVETRAN_API_SECRET": API_SECRET,
            "FIVETRAN_BASE_URL": self.server.base_url,
            "FIVETRAN_TIME_SCALE": "60",
            "FIVETRAN_ASSETS_STATE_DIR": str(self.state_dir),
            **extra,
        }

    def run(self, *args: str, **env: str) -> Result:
        return CliRunner().invoke(main, list(args), env=self.env(**env), catch_exceptions=False)

    def api_requests(self) -> list[dict[str, Any]]:
        return [e for e in self.requests() if e["path"].startswith("/v1/")]


@pytest.fixture(scope="module")
def account(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer
) -> Iterator[Account]:
    from fivetran_assets.emulator.server import EmulatorServer

    tmp = tmp_path_factory.mktemp("handmade")
    with (
        webhook_receiver() as url,
        EmulatorServer(
            state_dir=tmp / "emulator", api_key=API_KEY, api_secret=API_SECRET, time_scale=60
        ) as server,
    ):
        made = build(Raw(server.base_url, server.auth), tmp, postgres_server, webhook_url=url)
        yield Account(server, made, tmp / "sources", tmp / "state")
