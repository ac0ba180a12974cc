"""The demo estate on a local Fivetran that sends its webhooks to a real receiver.

Used by the end-to-end tests and by `bench/webhook_latency.py`. The estate is created with
plain client calls (`create_demo_estate`, shared with the assets tests), a group webhook points
at a `ReceiverServer`, and the connections named in `fivetran_scheduled` are switched to
Fivetran's own schedule (`schedule_type: auto`, every minute: a real second at time scale 60)
and marked `scheduled_by: fivetran` in the estate view the sensor is built from.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from fivetran_assets_tests.conftest import API_KEY, API_SECRET

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "e2e-webhook-secret"
WEBHOOK_EVENTS = (
    "sync_start",
    "sync_end",
    "edit_connector",
    "transformation_run_start",
    "transformation_run_succeeded",
    "transformation_run_failed",
)


@dataclass
class Live:
    server: Any  # EmulatorServer
    receiver: Any  # ReceiverServer
    client: Any
    estate: Any
    view: Any  # EstateView with the Fivetran-scheduled connections marked
    snapshot: Any
    group_id: str
    connection_ids: dict[str, str]
    transformation_id: str
    warehouse: Path

    def resources(self, *, warehouse: bool = True, **fivetran: Any) -> dict[str, Any]:
        """`warehouse=False` while the local Fivetran syncs: in one process, DuckDB refuses a
        read-only connection to a file open read-write, and the other way round, so reading
        row counts then would fail the local Fivetran's syncs (not an issue across processes).
        """
        from fivetran_assets_tests.dagster.conftest import local_resources

        return local_resources(
            self.server.base_url, self.warehouse if warehouse else None, **fivetran
        )

    def assets(self) -> tuple[list, list]:
        from fivetran_assets.dagster.specs import translate

        return translate(self.view, self.snapshot)

    def schedule_by_fivetran(self, *names: str, paused: bool = False) -> None:
        for name in names:
            self.client.update_connection(
                self.connection_ids[name], schedule_type="auto", sync_frequency=1, paused=paused
            )

    def wait_idle(self, *names: str, timeout: float = 20.0) -> None:
        """Until none of the connections is syncing (their last `sync_end` has been sent)."""
        deadline = time.monotonic() + timeout
        while any(
            str(self.client.get_connection(self.connection_ids[n]).status.sync_state) == "syncing"
            for n in names
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"connections {names} still syncing after {timeout} s")
            time.sleep(0.1)


@contextmanager
def live_estate(tmp_path: Path, *, fivetran_scheduled: tuple[str, ...] = ()) -> Iterator[Live]:
    from fivetran_assets.dagster.estate_view import ScheduledBy, estate_view
    from fivetran_assets.emulator.dataplane.seed import seed_demo
    from fivetran_assets.emulator.server import EmulatorServer
    from fivetran_assets.estate import load_estate
    from fivetran_assets.fivetran.client import FivetranClient
    from fivetran_assets.snapshot.store import write_snapshot
    from fivetran_assets.webhooks.server import ReceiverServer
    from fivetran_assets_tests.dagster.conftest import DEPARTMENTS, create_demo_estate

    demo_dir = tmp_path / "demo"
    sources = demo_dir / "sources"
    seed_demo(sources, departments=len(DEPARTMENTS), rows=40)
    with ExitStack() as stack:
        receiver = stack.enter_context(  # entered first, so it stops after the sender
            ReceiverServer(db=tmp_path / "webhooks.sqlite", secrets=[WEBHOOK_SECRET])
        )
        server = stack.enter_context(
            EmulatorServer(
                state_dir=tmp_path / "emulator",
                api_key=API_KEY,
                api_secret=API_SECRET,
                time_scale=60,
            )
        )
        env = stack.enter_context(pytest.MonkeyPatch.context())
        env.setenv("FIVETRAN_ASSETS_DEMO_DIR", str(demo_dir))
        env.setenv("FIVETRAN_BASE_URL", server.base_url)
        env.setenv("FIVETRAN_API_KEY", API_KEY)
        env.setenv("FIVETRAN_API_SECRET", API_SECRET)
        env.setenv("FIVETRAN_WEBHOOK_SECRET", WEBHOOK_SECRET)
        estate = load_estate(ROOT / "config")
        client = FivetranClient(API_KEY, API_SECRET, base_url=server.base_url, rate_budget=None)
        warehouse = demo_dir / "warehouse.duckdb"
        group_id, ids, transformation_id = create_demo_estate(client, estate, sources, warehouse)
        client.create_group_webhook(
            group_id, receiver.webhook_url, list(WEBHOOK_EVENTS), secret=WEBHOOK_SECRET
        )
        snapshot = write_snapshot(client, estate, tmp_path / "snapshot.json")
        view = estate_view(estate)
        view = replace(
            view,
            connections=tuple(
                replace(c, scheduled_by=ScheduledBy.FIVETRAN) if c.name in fivetran_scheduled else c
                for c in view.connections
            ),
            dashboard_base_url="http://local/dashboard",
        )
        yield Live(
            server=server,
            receiver=receiver,
            client=client,
            estate=estate,
            view=view,
            snapshot=snapshot,
            group_id=group_id,
            connection_ids=ids,
            transformation_id=transformation_id,
            warehouse=warehouse,
        )
