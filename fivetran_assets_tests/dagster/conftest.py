"""The demo estate, live on the local Fivetran, with its snapshot and Dagster definitions.

The estate is created through the client directly (not through `apply`), so these tests
depend only on the client, the estate loader and the local Fivetran. Four department SQLite
databases (the dbt project reads all four), 40 rows each, synced into one DuckDB file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fivetran_assets_tests.conftest import API_KEY, API_SECRET

ROOT = Path(__file__).resolve().parents[2]
DEPARTMENTS = ("sales", "marketing", "engineering", "finance")


@dataclass
class Demo:
    server: Any
    client: Any
    estate: Any
    group_id: str
    connection_ids: dict[str, str]
    transformation_id: str
    warehouse: Path
    sources: Path
    snapshot_path: Path

    def definitions(self, **kwargs: Any) -> Any:
        from fivetran_assets.dagster.build import build_fivetran_definitions
        from fivetran_assets.dagster.estate_view import estate_view
        from fivetran_assets.snapshot.store import read_snapshot

        return build_fivetran_definitions(
            estate_view(self.estate),
            read_snapshot(self.snapshot_path),
            resources=kwargs.pop("resources", None) or self.resources(),
            **kwargs,
        )

    def resources(self, **fivetran: Any) -> dict[str, Any]:
        return local_resources(self.server.base_url, self.warehouse, **fivetran)


def local_resources(base_url: str, warehouse: Path | None, **fivetran: Any) -> dict[str, Any]:
    """The resources tests run assets with: the local Fivetran at 60x, quick polling, and the
    DuckDB warehouse (or no warehouse reads when `warehouse` is None)."""
    from fivetran_assets.dagster.resources import DestinationResource, FivetranResource

    settings: dict[str, Any] = {
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        "base_url": base_url,
        "time_scale": 60.0,
        "poll_first_look_seconds": 3.0,
        "poll_max_interval_seconds": 6.0,
        "sync_timeout_seconds": 1800.0,
        "dashboard_base_url": "http://local/dashboard",
        **fivetran,
    }
    destination = (
        DestinationResource(kind="duckdb", path=str(warehouse))
        if warehouse is not None
        else DestinationResource(kind="none")
    )
    return {"fivetran": FivetranResource(**settings), "destination": destination}


def create_demo_estate(client: Any, estate: Any, sources: Path, warehouse: Path) -> tuple:
    """What `apply` would create for config/fivetran.yaml, made with plain client calls."""
    group = client.create_group("departments")
    client.create_destination(
        group.id, "duckdb", time_zone_offset="0", config={"path": str(warehouse)}
    )
    ids: dict[str, str] = {}
    for name in DEPARTMENTS:
        conn = client.create_connection(
            group.id,
            "sqlite",
            config={"database": str(sources / f"{name}.sqlite"), "schema_prefix": name},
            schedule_type="manual",
            paused=False,
            run_setup_tests=True,
        )
        ids[name] = conn.id
        if client.get_schema_config(conn.id) is None:
            client.reload_schema_config(conn.id)
        client.update_table(conn.id, "main", "payroll", enabled=False)
        client.update_column(conn.id, "main", "employees", "email", enabled=True, hashed=True)
        client.update_column(conn.id, "main", "employees", "ssn", enabled=False)
    project = client.create_transformation_project(
        group.id,
        {
            "git_remote_url": str(ROOT / "config" / "dbt"),
            "default_schema": "analytics",
            "threads": 2,
        },
    )
    transformation = client.create_transformation(
        {
            "project_id": project.id,
            "name": "department_models",
            "steps": [{"name": "run", "command": "dbt run"}],
        },
        {"schedule_type": "INTEGRATED", "connection_ids": list(ids.values())},
        paused=True,
    )
    return group.id, ids, transformation.id


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """One live demo estate per test module (creating it and parsing dbt takes seconds)."""
    from fivetran_assets.emulator.dataplane.seed import seed_demo
    from fivetran_assets.emulator.server import EmulatorServer
    from fivetran_assets.estate import load_estate
    from fivetran_assets.fivetran.client import FivetranClient
    from fivetran_assets.snapshot.store import write_snapshot

    tmp_path = tmp_path_factory.mktemp("demo")
    demo_dir = tmp_path / "demo"
    sources = demo_dir / "sources"
    seed_demo(sources, departments=len(DEPARTMENTS), rows=40)
    with (
        EmulatorServer(
            state_dir=tmp_path / "emulator",
            api_key=API_KEY,
            api_secret=API_SECRET,
            time_scale=60,
            reschedule_seconds=120,
        ) as server,
        pytest.MonkeyPatch.context() as env,
    ):
        env.setenv("FIVETRAN_ASSETS_DEMO_DIR", str(demo_dir))
        env.setenv("FIVETRAN_BASE_URL", server.base_url)
        env.setenv("FIVETRAN_API_KEY", API_KEY)
        env.setenv("FIVETRAN_API_SECRET", API_SECRET)
        env.setenv("FIVETRAN_WEBHOOK_SECRET", "demo-secret")
        estate = load_estate(ROOT / "config")
        client = FivetranClient(API_KEY, API_SECRET, base_url=server.base_url, rate_budget=None)
        warehouse = demo_dir / "warehouse.duckdb"
        group_id, ids, transformation_id = create_demo_estate(client, estate, sources, warehouse)
        snapshot_path = tmp_path / "snapshot.json"
        write_snapshot(client, estate, snapshot_path)
        yield Demo(
            server=server,
            client=client,
            estate=estate,
            group_id=group_id,
            connection_ids=ids,
            transformation_id=transformation_id,
            warehouse=warehouse,
            sources=sources,
            snapshot_path=snapshot_path,
        )


def api_requests(demo: Demo, since: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The local Fivetran's request log after `since`: (API requests, next index)."""
    import requests

    body = requests.get(
        f"{demo.server.base_url}/_local/requests",
        params={"since": since},
        auth=demo.server.auth,
        timeout=5,
    ).json()
    return [e for e in body["items"] if e["path"].startswith("/v1/")], body["next_index"]
