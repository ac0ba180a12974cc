"""What the Dagster face needs from the estate config, as small frozen records.

The translator, the jobs and the benchmark read these instead of the estate model itself: one
adapter (`estate_view`) is the only code that knows the estate model's shape, so a change there
is a one-function change here, and the benchmark can build a thousand connections without YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from fivetran_assets.estate import Estate


class ScheduledBy(StrEnum):
    FIVETRAN = "fivetran"
    DAGSTER = "dagster"


class TransformationMode(StrEnum):
    INTEGRATED = "integrated"
    PARTIALLY_INTEGRATED = "partially_integrated"
    INDEPENDENT = "independent"


@dataclass(frozen=True)
class ConnectionView:
    group: str
    name: str
    service: str
    destination_service: str
    scheduled_by: ScheduledBy = ScheduledBy.DAGSTER
    sync_frequency: int = 360  # minutes
    daily_sync_time: str | None = None  # "HH:MM", only with 1440
    cron: str | None = None
    paused: bool = False
    owners: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    key_prefix: tuple[str, ...] = ()


@dataclass(frozen=True)
class TransformationView:
    group: str
    name: str
    scheduled_by: ScheduledBy = ScheduledBy.DAGSTER
    mode: TransformationMode = TransformationMode.INTEGRATED
    connections: tuple[str, ...] = ()  # connection names of the same group it follows
    interval_minutes: int | None = None
    cron: str | None = None
    time_of_day: str | None = None  # "HH:MM"
    owners: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    key_prefix: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountView:
    """How the Dagster resources reach Fivetran: the estate's `account:` section, resolved.

    `base_url` None means "not resolvable at load time" (a reference to an unset variable):
    the resource then falls back to `$FIVETRAN_BASE_URL` at run time.
    """

    base_url: str | None = None
    api_key_env: str = "FIVETRAN_API_KEY"
    api_secret_env: str = "FIVETRAN_API_SECRET"
    requests_per_hour: int = 20_000
    connection_creates_per_minute: int = 20
    connection_creates_per_hour: int = 100
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    legacy_paths: bool = False
    rate_state: str | None = None  # as written: references resolve at run time
    state_dir: str | None = None  # the project's state folder


FIVETRAN_DASHBOARD = "https://fivetran.com/dashboard"


def dashboard_base_for(base_url: str | None) -> str:
    """Fivetran's dashboard when the API is Fivetran's (`api.fivetran.com`, the default), else ""
    (no link): the local Fivetran serves no dashboard, and a link to fivetran.com for one of its
    connections would lead nowhere."""
    host = urlsplit(base_url or "https://api.fivetran.com").hostname or ""
    return FIVETRAN_DASHBOARD if host == "fivetran.com" or host.endswith(".fivetran.com") else ""


@dataclass(frozen=True)
class EstateView:
    connections: tuple[ConnectionView, ...]
    transformations: tuple[TransformationView, ...] = ()
    sync_pool_limit: int | None = None  # concurrent syncs; None = unbounded
    dashboard_base_url: str = FIVETRAN_DASHBOARD  # "" when the API has no dashboard
    account: AccountView = AccountView()
    webhooks: bool = False  # some group declares an active webhook (a receiver is expected)

    @property
    def groups(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for item in (*self.connections, *self.transformations):
            seen.setdefault(item.group, None)
        return tuple(seen)


def estate_view(estate: Estate) -> EstateView:
    """Adapt a loaded estate (`fivetran_assets.estate.load_estate`) to the records above."""
    settings = estate.dagster
    prefix = tuple(settings.asset_key_prefix)
    group_prefix = {g.name: (*prefix, *g.key_prefix) for g in estate.groups}
    connections = tuple(
        ConnectionView(
            group=c.group,
            name=c.name,
            service=c.service,
            destination_service=g.destination.service,
            scheduled_by=ScheduledBy(c.scheduled_by.value),
            sync_frequency=c.sync_frequency or 360,
            daily_sync_time=c.daily_sync_time,
            cron=c.cron,
            paused=c.paused,
            owners=c.owners,
            tags=dict(c.tags),
            key_prefix=group_prefix[g.name],
        )
        for g in estate.groups
        for c in g.connections
    )
    transformations = tuple(
        TransformationView(
            group=t.group,
            name=t.name,
            scheduled_by=ScheduledBy(t.scheduled_by.value),
            mode=TransformationMode(t.mode.value),
            connections=t.connections,
            interval_minutes=t.schedule.interval,
            cron=t.schedule.cron,
            time_of_day=t.schedule.time_of_day,
            owners=t.owners,
            tags=dict(t.tags),
            key_prefix=group_prefix.get(t.group, prefix),
        )
        for t in estate.transformations()
    )
    account = _account_view(estate)
    return EstateView(
        connections=connections,
        transformations=transformations,
        sync_pool_limit=settings.max_concurrent_syncs,
        account=account,
        dashboard_base_url=dashboard_base_for(account.base_url),
        webhooks=any(w.active for g in estate.groups for w in g.webhooks),
    )


def _account_view(estate: Estate) -> AccountView:
    from fivetran_assets.estate import EstateError
    from fivetran_assets.state.shared import state_folder

    account = estate.account
    try:
        base_url: str | None = estate.base_url()
    except EstateError:
        base_url = None
    return AccountView(
        base_url=base_url,
        api_key_env=account.api_key_env,
        api_secret_env=account.api_secret_env,
        requests_per_hour=account.rate_budget.requests_per_hour,
        connection_creates_per_minute=account.rate_budget.connection_creates_per_minute,
        connection_creates_per_hour=account.rate_budget.connection_creates_per_hour,
        connect_timeout=account.connect_timeout,
        read_timeout=account.read_timeout,
        legacy_paths=account.legacy_paths,
        rate_state=account.rate_state,
        state_dir=str(state_folder(estate.root)),
    )
