"""Assemble the Fivetran Definitions from the estate config and the cached snapshot.

Loading makes no API call: everything comes from the config file and the snapshot on disk
(`fivetran-assets refresh` or `apply` write it). A connection missing from the snapshot gets no
table assets yet and a warning, instead of a failed code-server start.

Webhooks. The receiver's event log is `$FIVETRAN_ASSETS_EVENT_LOG` when set (a path, or a URL
such as `postgresql://...` shared by every process of a deployment; `off` or empty: none),
else `webhooks.sqlite` in the project's state directory (`$FIVETRAN_ASSETS_STATE_DIR`, else
`<project>/.state`: where `make demo`, `make dev` and `fivetran-assets webhooks serve` run
from the project root keep it) when a group declares an active webhook, else none.
With an event log: sync materializations wait on `sync_end` events and transformation runs on
`transformation_run_succeeded`/`_failed` (`event_log_waiter_factory`), failed syncs and
transformations carry the reason from the log (`failure_reason_from_log` as a fallback), and
`fivetran_webhook_sensor` is RUNNING by default, while the polling sensor is defined but
STOPPED (turn it on if the receiver cannot be reached). Without one, polling is RUNNING.

Integrated transformations scheduled by Dagster have one trigger: their models' automation
condition (`automation.integrated_condition`), evaluated by `fivetran_automation_sensor`
(RUNNING by default). The webhook sensor does not request them (`request_integrated_runs`
off): the condition also sees runs Dagster started itself (the `pipeline` job syncs and then
transforms; a webhook-driven request would run the models a second time), and it sees syncs
however they were recorded (a Dagster run, the webhook sensor, the polling sensor).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from fivetran_assets.dagster.assets import connection_multi_asset, transformation_multi_asset
from fivetran_assets.dagster.automation import build_jobs, build_schedules, model_conditions
from fivetran_assets.dagster.estate_view import EstateView, estate_view
from fivetran_assets.dagster.resources import DestinationResource, FivetranResource
from fivetran_assets.dagster.sensors import build_polling_sensor
from fivetran_assets.dagster.specs import TransformationAssets, translate
from fivetran_assets.dagster.translator import FivetranEstateTranslator, SpecHook
from fivetran_assets.dagster.webhook_sensor import build_webhook_sensor
from fivetran_assets.dagster.webhook_waiter import (
    event_log_waiter_factory,
    failure_reason_from_log,
)
from fivetran_assets.snapshot.store import Snapshot, default_snapshot_path, read_snapshot
from fivetran_assets.snapshot.warehouse import warehouse_for
from fivetran_assets.webhooks import EventLogLocation

log = logging.getLogger("fivetran_assets.dagster")

SYNC_POOL = "fivetran_syncs"
CONFIG_ENV = "FIVETRAN_ASSETS_CONFIG"
EVENT_LOG_ENV = "FIVETRAN_ASSETS_EVENT_LOG"
EVENT_LOG_NAME = "webhooks.sqlite"  # in the project's state directory
AUTOMATION_SENSOR = "fivetran_automation_sensor"
POLLING_SENSOR = "fivetran_sync_polling_sensor"
WEBHOOK_SENSOR = "fivetran_webhook_sensor"
_OFF = frozenset({"", "off", "none", "false", "0"})


def default_resources(view: EstateView | None = None) -> dict[str, Any]:
    """Resources from the estate's `account:` section (URL, credential variable names, rate
    budget with its create caps, shared state, timeouts); secrets only through `dg.EnvVar`.
    `$FIVETRAN_TIME_SCALE` (a time-scaled local Fivetran) scales the rate windows and polling
    as the reconciler's client does."""
    from fivetran_assets.estate.connect import TIME_SCALE_ENV

    account = view.account if view is not None else None
    fivetran: dict[str, Any] = {
        "api_key": dg.EnvVar(account.api_key_env if account else "FIVETRAN_API_KEY"),
        "api_secret": dg.EnvVar(account.api_secret_env if account else "FIVETRAN_API_SECRET"),
        "base_url": (account.base_url if account else None)
        or os.environ.get("FIVETRAN_BASE_URL")
        or None,
        "time_scale": float(os.environ.get(TIME_SCALE_ENV) or 1),
    }
    if account is not None:
        fivetran.update(
            requests_per_hour=account.requests_per_hour,
            connection_creates_per_minute=account.connection_creates_per_minute,
            connection_creates_per_hour=account.connection_creates_per_hour,
            connect_timeout=account.connect_timeout,
            read_timeout=account.read_timeout,
            legacy_paths=account.legacy_paths,
            rate_state=account.rate_state,
            state_dir=account.state_dir,
        )
    if view is not None:
        fivetran["dashboard_base_url"] = view.dashboard_base_url
    return {
        "fivetran": FivetranResource(**fivetran),
        "destination": DestinationResource(kind="auto"),
    }


def event_log_path(
    root: Path,
    *,
    webhooks: bool,
    environ: Mapping[str, str] | None = None,
    setting: str | None = None,
) -> str | Path | None:
    """The receiver's event log for the estate rooted at `root` (see the module docstring): a
    URL as given, or a path (relative ones under `root`). `setting` (the component's `webhooks`
    attribute) comes before `$FIVETRAN_ASSETS_EVENT_LOG`."""
    from fivetran_assets.state.shared import state_folder

    env = os.environ if environ is None else environ
    explicit = setting if setting is not None else env.get(EVENT_LOG_ENV)
    if explicit is not None:
        if explicit.strip().lower() in _OFF:
            return None
        if "://" in explicit:
            return explicit.strip()
        return root / explicit.strip()  # an absolute path stays absolute
    if not webhooks:
        return None
    return state_folder(root, env) / EVENT_LOG_NAME


def _automation_sensor(
    prefix: str, transforms: list[TransformationAssets]
) -> dg.SensorDefinition | None:
    """Evaluates the integrated transformations' conditions, running by default so `make dev`
    reacts (Dagster's implicit automation sensor starts stopped)."""
    keys = [
        spec.key for ta in transforms for spec in ta.specs if spec.automation_condition is not None
    ]
    if not keys:
        return None
    return dg.AutomationConditionSensorDefinition(
        f"{prefix}{AUTOMATION_SENSOR}",
        target=dg.AssetSelection.assets(*keys),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        description="Runs integrated transformations once all their connections have synced.",
    )


@dataclass(frozen=True)
class DefsOptions:
    """How the estate becomes definitions, beyond the config: the translator and the hook laid
    over each spec (the component's `translation` and `key_prefix`), the prefix of every job,
    schedule and sensor name, whether schedules and automation conditions exist, and the job
    the webhook sensor requests on a schema change (it refreshes the component's state)."""

    translator: FivetranEstateTranslator | None = None
    spec_hook: SpecHook | None = None
    job_prefix: str = ""
    automation: bool = True
    refresh_job: dg.JobDefinition | None = None


def build_fivetran_definitions(
    view: EstateView,
    snapshot: Snapshot | None,
    *,
    resources: Mapping[str, Any] | None = None,
    waiter_factory: Callable[[FivetranResource], Any] | None = None,
    transformation_waiter_factory: Callable[[FivetranResource], Any] | None = None,
    failure_reason: Callable[[str], str | None] | None = None,
    checks: bool = True,
    sensor_per_tick: int = 100,
    event_log: EventLogLocation | None = None,
    options: DefsOptions = DefsOptions(),
) -> dg.Definitions:
    """The estate's assets, jobs, schedules and sensors; `event_log` is the receiver's log
    (module docstring). `waiter_factory` / `transformation_waiter_factory` override how syncs
    and transformation runs are awaited (default: on the event log if any, else polling).
    """
    if event_log is not None:
        waiter_factory = waiter_factory or event_log_waiter_factory(event_log)
        transformation_waiter_factory = transformation_waiter_factory or (
            event_log_waiter_factory(event_log)
        )
        failure_reason = failure_reason or failure_reason_from_log(event_log)
    conns, transforms = translate(
        view,
        snapshot,
        conditions=model_conditions(view.transformations) if options.automation else None,
        translator=options.translator,
        hook=options.spec_hook,
    )
    missing = [f"{c.view.group}/{c.view.name}" for c in conns if c.snapshot is None]
    if missing and snapshot is None:
        # A fresh clone, or an estate never provisioned: nothing is wrong, nothing to warn about.
        log.info(
            "no state captured yet: the %d connections' tables appear once the estate is "
            "provisioned (`make demo`, `fivetran-assets apply` or the provisioning job)",
            len(missing),
        )
    elif missing:
        log.warning(
            "no snapshot entry for %d connection(s) (%s): refresh the state "
            "(`dg utils refresh-defs-state`, `fivetran-assets apply` or `refresh`)",
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
            waiter_factory=transformation_waiter_factory,
        )
        for ta in transforms
        if ta.specs
    )
    external = [spec for ca in conns for spec in ca.sources]
    prefix = options.job_prefix
    polling = build_polling_sensor(
        conns,
        name=f"{prefix}{POLLING_SENSOR}",
        per_tick=sensor_per_tick,
        warehouses=warehouses,
        default_status=dg.DefaultSensorStatus.STOPPED
        if event_log is not None
        else dg.DefaultSensorStatus.RUNNING,
    )
    automation = _automation_sensor(prefix, transforms) if options.automation else None
    sensors = [s for s in (polling, automation) if s is not None]
    if event_log is not None:
        sensors.append(
            build_webhook_sensor(
                conns,
                transforms,
                event_log=event_log,
                name=f"{prefix}{WEBHOOK_SENSOR}",
                request_integrated_runs=False,
                refresh_job=options.refresh_job,
                warehouses=warehouses,
                default_status=dg.DefaultSensorStatus.RUNNING,
            )
        )
    return dg.Definitions(
        assets=[*assets, *external],
        jobs=build_jobs(conns, transforms, sync_limit=view.sync_pool_limit, job_prefix=prefix),
        schedules=build_schedules(conns, transforms, prefix=prefix) if options.automation else [],
        sensors=sensors,
        resources=dict(resources) if resources is not None else default_resources(view),
    )


def load_fivetran_definitions(
    config_path: str | Path | None = None,
    snapshot_path: str | Path | None = None,
    **kwargs: Any,
) -> dg.Definitions:
    """Definitions for the estate at `config_path` ($FIVETRAN_ASSETS_CONFIG, else `config/`)
    from a snapshot file (`fivetran-assets refresh --snapshot`), with the webhook event log
    resolved as the module docstring says unless `event_log` is given. The component
    (`FivetranEstateComponent`) is the way a project loads them; this is the plain-Python one.
    """
    from fivetran_assets.estate import load_estate

    estate = load_estate(Path(config_path or os.environ.get(CONFIG_ENV) or "config"))
    snapshot_path = snapshot_path or default_snapshot_path(estate.root)
    view = estate_view(estate)
    if "event_log" not in kwargs:
        kwargs["event_log"] = event_log_path(estate.root, webhooks=view.webhooks)
    return build_fivetran_definitions(view, read_snapshot(snapshot_path), **kwargs)
