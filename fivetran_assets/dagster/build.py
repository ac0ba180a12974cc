"""Assemble the Fivetran Definitions from the estate config and the cached snapshot.

Loading makes no API call: everything comes from the config file and the snapshot on disk
(`fivetran-assets refresh` or `apply` write it). A connection missing from the snapshot gets no
table assets yet and a warning, instead of a failed code-server start.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from fivetran_assets.dagster.assets import connection_multi_asset, transformation_multi_asset
from fivetran_assets.dagster.automation import build_jobs, build_schedules, model_conditions
from fivetran_assets.dagster.estate_view import EstateView, estate_view
from fivetran_assets.dagster.resources import DestinationResource, FivetranResource
from fivetran_assets.dagster.sensors import build_polling_sensor
from fivetran_assets.dagster.translator import translate
from fivetran_assets.dagster.warehouse import warehouse_for
from fivetran_assets.reconcile.snapshot import Snapshot, default_snapshot_path, read_snapshot

log = logging.getLogger("fivetran_assets.dagster")

SYNC_POOL = "fivetran_syncs"
CONFIG_ENV = "FIVETRAN_ASSETS_CONFIG"


def default_resources(view: EstateView | None = None) -> dict[str, Any]:
    """Resources for the embedded default: credentials and base URL through environment."""
    return {
        "fivetran": FivetranResource(
            api_key=dg.EnvVar("FIVETRAN_API_KEY"),
            api_secret=dg.EnvVar("FIVETRAN_API_SECRET"),
            base_url=os.environ.get("FIVETRAN_BASE_URL") or None,
        ),
        "destination": DestinationResource(kind="auto"),
    }


def build_fivetran_definitions(
    view: EstateView,
    snapshot: Snapshot | None,
    *,
    resources: Mapping[str, Any] | None = None,
    waiter_factory: Callable[[FivetranResource], Any] | None = None,
    failure_reason: Callable[[str], str | None] | None = None,
    checks: bool = True,
    sensor_per_tick: int = 100,
) -> dg.Definitions:
    conns, transforms = translate(view, snapshot, conditions=model_conditions(view.transformations))
    missing = [f"{c.view.group}/{c.view.name}" for c in conns if c.snapshot is None]
    if missing:
        log.warning(
            "no snapshot entry for %d connection(s) (%s): run `fivetran-assets refresh`",
            len(missing),
            ", ".join(missing[:5]),
        )
    warehouses = {
        g.name: warehouse_for(g.destination_service, g.destination_config)
        for g in (snapshot.groups if snapshot else ())
    }
    assets: list[dg.AssetsDefinition] = [
        connection_multi_asset(
            ca,
            pool=SYNC_POOL,
            waiter_factory=waiter_factory,
            warehouse_default=warehouses.get(ca.view.group),
            checks=checks,
        )
        for ca in conns
        if ca.specs
    ]
    assets.extend(
        transformation_multi_asset(
            ta,
            pool=None,
            warehouse_default=warehouses.get(ta.view.group),
            failure_reason=failure_reason,
        )
        for ta in transforms
        if ta.specs
    )
    sensor = build_polling_sensor(conns, per_tick=sensor_per_tick, warehouses=warehouses)
    return dg.Definitions(
        assets=assets,
        jobs=build_jobs(conns, transforms, sync_limit=view.sync_pool_limit),
        schedules=build_schedules(conns, transforms),
        sensors=[sensor] if sensor else [],
        resources=dict(resources) if resources is not None else default_resources(view),
    )


def load_fivetran_definitions(
    config_path: str | Path | None = None,
    snapshot_path: str | Path | None = None,
    **kwargs: Any,
) -> dg.Definitions:
    """Definitions for the estate at `config_path` ($FIVETRAN_ASSETS_CONFIG, else `config/`)."""
    from fivetran_assets.estate import load_estate

    estate = load_estate(Path(config_path or os.environ.get(CONFIG_ENV) or "config"))
    snapshot = read_snapshot(snapshot_path or default_snapshot_path(estate.root))
    return build_fivetran_definitions(estate_view(estate), snapshot, **kwargs)
