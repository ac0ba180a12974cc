"""What `FivetranEstateComponent` builds from its state: the estate's assets, jobs, schedules and
sensors, the provisioning job and config sensor, and the state refresh job. No API call: the
config files and the state (the snapshot) are all it reads.

The provisioning job refreshes the component's state after an apply that changed the estate,
and `refresh_fivetran_state` refreshes it on demand (the webhook sensor requests it on a schema
change); both capture with the run's Fivetran client and store through the instance's defs state
storage, so nothing writes a file that another process reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg

from fivetran_assets.dagster.build import DefsOptions, build_fivetran_definitions, event_log_path
from fivetran_assets.dagster.estate_view import estate_view
from fivetran_assets.dagster.provision import build_state_refresh_job, provision_definitions

if TYPE_CHECKING:
    from fivetran_assets.dagster.component import FivetranEstateComponent


def estate_definitions(
    component: FivetranEstateComponent, state_path: Path | None
) -> dg.Definitions:
    """Every definition of the component, from its config and its state (None: no state yet,
    so no table or model assets, but every job, and a warning saying how to capture it)."""
    from fivetran_assets.estate import load_estate
    from fivetran_assets.snapshot.store import read_snapshot

    estate = load_estate(component.config_path)
    view = estate_view(estate)
    snapshot = read_snapshot(state_path) if state_path is not None else None
    _, job_prefix = component.prefixes

    def refresh(context: dg.OpExecutionContext, client: Any) -> str:
        return component.refresh_with(client, context.instance.defs_state_storage)

    refresh_job = build_state_refresh_job(refresh, job_prefix=job_prefix)
    options = DefsOptions(
        translator=component.translator,
        spec_hook=component.spec_hook(),
        job_prefix=job_prefix,
        automation=component.automation,
        refresh_job=refresh_job,
    )
    event_log = event_log_path(estate.root, webhooks=view.webhooks, setting=component.webhooks)
    fivetran = build_fivetran_definitions(view, snapshot, event_log=event_log, options=options)
    provisioning = provision_definitions(
        job_prefix=job_prefix,
        config_path=str(component.config_path),
        after_apply=refresh,
    )
    return dg.Definitions.merge(fivetran, provisioning, dg.Definitions(jobs=[refresh_job]))
