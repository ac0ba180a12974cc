"""Typed records for Fivetran's account, groups, destinations, webhooks and connections.

Payloads become these records where they arrive (`from_api`); raw dicts do not travel further.
Enum-valued fields hold the enum member, or the raw string when Fivetran sends a value this
client does not know yet. Service-specific `config` stays a mapping: its shape is per service.
Schema configs live in `schema_config.py`, transformations in `transformations.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fivetran_assets.fivetran.enums import (
    DestinationSetupStatus,
    ScheduleType,
    SetupState,
    SetupTestStatus,
    SyncState,
    UpdateState,
    WebhookEvent,
    WebhookType,
    parse_enum,
)
from fivetran_assets.fivetran.parsing import (
    as_mapping,
    flag,
    obj,
    obj_list,
    opt_bool,
    opt_datetime,
    opt_int,
    opt_str,
    req_str,
    str_tuple,
)


@dataclass(frozen=True)
class AccountInfo:
    """`GET /v1/account/info`: which account and user the API key belongs to."""

    account_id: str
    account_name: str | None
    user_id: str | None
    system_key_id: str | None

    @classmethod
    def from_api(cls, data: object) -> AccountInfo:
        d = as_mapping(data, "AccountInfo")
        return cls(
            account_id=req_str(d, "account_id", "AccountInfo"),
            account_name=opt_str(d, "account_name", "AccountInfo"),
            user_id=opt_str(d, "user_id", "AccountInfo"),
            system_key_id=opt_str(d, "system_key_id", "AccountInfo"),
        )


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    created_at: datetime | None

    @classmethod
    def from_api(cls, data: object) -> Group:
        d = as_mapping(data, "Group")
        return cls(
            id=req_str(d, "id", "Group"),
            name=req_str(d, "name", "Group"),
            created_at=opt_datetime(d, "created_at", "Group"),
        )


@dataclass(frozen=True)
class SetupTest:
    """One setup test result of a destination, connection or transformation project."""

    title: str
    status: SetupTestStatus | str | None
    message: str | None

    @property
    def passed(self) -> bool:
        return self.status in (SetupTestStatus.PASSED, SetupTestStatus.SKIPPED)

    @classmethod
    def from_api(cls, data: object) -> SetupTest:
        d = as_mapping(data, "SetupTest")
        return cls(
            title=opt_str(d, "title", "SetupTest") or "",
            status=parse_enum(SetupTestStatus, d.get("status")),
            message=opt_str(d, "message", "SetupTest"),
        )


def _setup_tests(d: Mapping[str, Any], record: str) -> tuple[SetupTest, ...]:
    return tuple(SetupTest.from_api(t) for t in obj_list(d, "setup_tests", record))


@dataclass(frozen=True)
class Destination:
    """A group's destination; its id equals the group id."""

    id: str
    group_id: str
    service: str
    region: str | None
    time_zone_offset: str | None
    setup_status: DestinationSetupStatus | str | None
    setup_tests: tuple[SetupTest, ...]
    config: Mapping[str, Any] = field(default_factory=dict)
    daylight_saving_time_enabled: bool | None = None
    networking_method: str | None = None

    @classmethod
    def from_api(cls, data: object) -> Destination:
        d = as_mapping(data, "Destination")
        r = "Destination"
        return cls(
            id=req_str(d, "id", r),
            group_id=opt_str(d, "group_id", r) or req_str(d, "id", r),
            service=req_str(d, "service", r),
            region=opt_str(d, "region", r),
            time_zone_offset=opt_str(d, "time_zone_offset", r),
            setup_status=parse_enum(DestinationSetupStatus, d.get("setup_status")),
            setup_tests=_setup_tests(d, r),
            config=dict(obj(d, "config", r)),
            daylight_saving_time_enabled=opt_bool(d, "daylight_saving_time_enabled", r),
            networking_method=opt_str(d, "networking_method", r),
        )


@dataclass(frozen=True)
class Webhook:
    """An account or group webhook. Fivetran masks the secret on read: only whether one is set
    (`has_secret`) is kept."""

    id: str
    type: WebhookType | str | None
    url: str
    events: tuple[WebhookEvent | str, ...]
    active: bool
    group_id: str | None
    created_at: datetime | None
    created_by: str | None
    has_secret: bool = False

    @classmethod
    def from_api(cls, data: object) -> Webhook:
        d = as_mapping(data, "Webhook")
        r = "Webhook"
        events = tuple(parse_enum(WebhookEvent, e) or e for e in str_tuple(d, "events", r))
        return cls(
            id=req_str(d, "id", r),
            type=parse_enum(WebhookType, d.get("type")),
            url=req_str(d, "url", r),
            events=events,
            active=flag(d, "active", r, default=True),
            group_id=opt_str(d, "group_id", r),
            created_at=opt_datetime(d, "created_at", r),
            created_by=opt_str(d, "created_by", r),
            has_secret=bool(opt_str(d, "secret", r)),
        )


@dataclass(frozen=True)
class WebhookTestResult:
    """`POST /v1/webhooks/{id}/test`: whether the test delivery was accepted."""

    succeed: bool
    status: int | None
    message: str | None

    @classmethod
    def from_api(cls, data: object) -> WebhookTestResult:
        d = as_mapping(data, "WebhookTestResult")
        r = "WebhookTestResult"
        return cls(
            succeed=flag(d, "succeed", r),
            status=opt_int(d, "status", r),
            message=opt_str(d, "message", r),
        )


@dataclass(frozen=True)
class Alert:
    """A task (needs action) or warning on a connection's status."""

    code: str
    message: str | None
    details: Any = None

    @classmethod
    def from_api(cls, data: object) -> Alert:
        d = as_mapping(data, "Alert")
        return cls(
            code=opt_str(d, "code", "Alert") or "",
            message=opt_str(d, "message", "Alert"),
            details=d.get("details"),
        )


@dataclass(frozen=True)
class ConnectionStatus:
    setup_state: SetupState | str | None
    sync_state: SyncState | str | None
    update_state: UpdateState | str | None
    is_historical_sync: bool
    rescheduled_for: datetime | None
    tasks: tuple[Alert, ...]
    warnings: tuple[Alert, ...]

    @classmethod
    def from_api(cls, data: object) -> ConnectionStatus:
        d = as_mapping(data, "ConnectionStatus")
        r = "ConnectionStatus"
        return cls(
            setup_state=parse_enum(SetupState, d.get("setup_state")),
            sync_state=parse_enum(SyncState, d.get("sync_state")),
            update_state=parse_enum(UpdateState, d.get("update_state")),
            is_historical_sync=flag(d, "is_historical_sync", r),
            rescheduled_for=opt_datetime(d, "rescheduled_for", r),
            tasks=tuple(Alert.from_api(t) for t in obj_list(d, "tasks", r)),
            warnings=tuple(Alert.from_api(w) for w in obj_list(d, "warnings", r)),
        )


@dataclass(frozen=True)
class Connection:
    """A connection (formerly "connector"). `schema` is its name, unique within its group."""

    id: str
    group_id: str
    service: str
    schema: str
    paused: bool
    schedule_type: ScheduleType | str | None
    sync_frequency: int | None
    daily_sync_time: str | None
    succeeded_at: datetime | None
    failed_at: datetime | None
    created_at: datetime | None
    status: ConnectionStatus
    setup_tests: tuple[SetupTest, ...] = ()
    config: Mapping[str, Any] = field(default_factory=dict)
    pause_after_trial: bool | None = None

    @property
    def last_sync_completed_at(self) -> datetime | None:
        """When the last sync ended, either way: a sync has finished once this moves."""
        ends = [t for t in (self.succeeded_at, self.failed_at) if t is not None]
        return max(ends) if ends else None

    @property
    def last_sync_succeeded(self) -> bool | None:
        """True when the last finished sync succeeded; None when none finished yet."""
        if self.succeeded_at is None and self.failed_at is None:
            return None
        if self.failed_at is None:
            return True
        return self.succeeded_at is not None and self.succeeded_at > self.failed_at

    @classmethod
    def from_api(cls, data: object) -> Connection:
        d = as_mapping(data, "Connection")
        r = "Connection"
        return cls(
            id=req_str(d, "id", r),
            group_id=req_str(d, "group_id", r),
            service=req_str(d, "service", r),
            schema=req_str(d, "schema", r),
            paused=flag(d, "paused", r),
            schedule_type=parse_enum(ScheduleType, d.get("schedule_type")),
            sync_frequency=opt_int(d, "sync_frequency", r),
            daily_sync_time=opt_str(d, "daily_sync_time", r),
            succeeded_at=opt_datetime(d, "succeeded_at", r),
            failed_at=opt_datetime(d, "failed_at", r),
            created_at=opt_datetime(d, "created_at", r),
            status=ConnectionStatus.from_api(obj(d, "status", r)),
            setup_tests=_setup_tests(d, r),
            config=dict(obj(d, "config", r)),
            pause_after_trial=opt_bool(d, "pause_after_trial", r),
        )


@dataclass(frozen=True)
class ConnectorType:
    """`GET /v1/metadata/connector-types`: a service Fivetran can connect to.

    `config_properties` names the settable config fields (from the JSON schema in `config`,
    which only `GET /v1/metadata/connector-types/{service}` returns); empty when not given.
    """

    id: str
    name: str | None
    type: str | None
    description: str | None
    service_status: str | None
    link_to_docs: str | None
    config_properties: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, data: object) -> ConnectorType:
        d = as_mapping(data, "ConnectorType")
        r = "ConnectorType"
        return cls(
            id=req_str(d, "id", r),
            name=opt_str(d, "name", r),
            type=opt_str(d, "type", r),
            description=opt_str(d, "description", r),
            service_status=opt_str(d, "service_status", r),
            link_to_docs=opt_str(d, "link_to_docs", r),
            config_properties=tuple(obj(obj(d, "config", r), "properties", r + ".config")),
        )
