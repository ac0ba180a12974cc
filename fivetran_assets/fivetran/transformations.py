"""Typed records for transformation projects and transformations (the current, non-legacy API).

A dbt Core project belongs to a group; a transformation runs its steps (dbt commands) on a
schedule: INTEGRATED (after listed connections sync), INTERVAL, TIME_OF_DAY or CRON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fivetran_assets.fivetran.enums import (
    TransformationProjectStatus,
    TransformationScheduleType,
    TransformationStatus,
    TransformationType,
    parse_enum,
)
from fivetran_assets.fivetran.models import SetupTest
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

_ACTIVE = frozenset(
    {
        TransformationStatus.NEW,
        TransformationStatus.SCHEDULING,
        TransformationStatus.RUNNING,
        TransformationStatus.TERMINATING,
    }
)


@dataclass(frozen=True)
class ProjectConfig:
    dbt_version: str | None
    default_schema: str | None
    git_remote_url: str | None
    folder_path: str | None
    git_branch: str | None
    threads: int | None
    target_name: str | None
    environment_vars: tuple[str, ...]

    @classmethod
    def from_api(cls, data: object) -> ProjectConfig:
        r = "ProjectConfig"
        d = as_mapping(data, r)
        return cls(
            dbt_version=opt_str(d, "dbt_version", r),
            default_schema=opt_str(d, "default_schema", r),
            git_remote_url=opt_str(d, "git_remote_url", r),
            folder_path=opt_str(d, "folder_path", r),
            git_branch=opt_str(d, "git_branch", r),
            threads=opt_int(d, "threads", r),
            target_name=opt_str(d, "target_name", r),
            environment_vars=str_tuple(d, "environment_vars", r),
        )


@dataclass(frozen=True)
class TransformationProject:
    id: str
    group_id: str | None
    type: TransformationType | str | None
    status: TransformationProjectStatus | str | None
    errors: tuple[str, ...]
    created_at: datetime | None
    project_config: ProjectConfig
    setup_tests: tuple[SetupTest, ...]

    @classmethod
    def from_api(cls, data: object) -> TransformationProject:
        r = "TransformationProject"
        d = as_mapping(data, r)
        return cls(
            id=req_str(d, "id", r),
            group_id=opt_str(d, "group_id", r),
            type=parse_enum(TransformationType, d.get("type")),
            status=parse_enum(TransformationProjectStatus, d.get("status")),
            errors=str_tuple(d, "errors", r),
            created_at=opt_datetime(d, "created_at", r),
            project_config=ProjectConfig.from_api(obj(d, "project_config", r)),
            setup_tests=tuple(SetupTest.from_api(t) for t in obj_list(d, "setup_tests", r)),
        )


@dataclass(frozen=True)
class TransformationSchedule:
    schedule_type: TransformationScheduleType | str | None
    connection_ids: tuple[str, ...]
    interval: int | None
    time_of_day: str | None
    days_of_week: tuple[str, ...]
    cron: tuple[str, ...]
    smart_syncing: bool | None

    @classmethod
    def from_api(cls, data: object) -> TransformationSchedule:
        r = "TransformationSchedule"
        d = as_mapping(data, r)
        return cls(
            schedule_type=parse_enum(TransformationScheduleType, d.get("schedule_type")),
            connection_ids=str_tuple(d, "connection_ids", r),
            interval=opt_int(d, "interval", r),
            time_of_day=opt_str(d, "time_of_day", r),
            days_of_week=str_tuple(d, "days_of_week", r),
            cron=str_tuple(d, "cron", r),
            smart_syncing=opt_bool(d, "smart_syncing", r),
        )


@dataclass(frozen=True)
class TransformationStep:
    name: str
    command: str


@dataclass(frozen=True)
class Transformation:
    """A transformation; for DBT_CORE, `project_id`, `name` and `steps` come from its config."""

    id: str
    type: TransformationType | str | None
    status: TransformationStatus | str | None
    paused: bool
    schedule: TransformationSchedule
    name: str | None
    project_id: str | None
    steps: tuple[TransformationStep, ...]
    output_model_names: tuple[str, ...]
    last_started_at: datetime | None
    last_ended_at: datetime | None
    created_at: datetime | None

    @property
    def is_running(self) -> bool:
        """True while a run is queued or in progress (NEW, SCHEDULING, RUNNING, TERMINATING)."""
        return self.status in _ACTIVE

    @classmethod
    def from_api(cls, data: object) -> Transformation:
        r = "Transformation"
        d = as_mapping(data, r)
        config = obj(d, "transformation_config", r)
        rc = "Transformation.transformation_config"
        steps = tuple(
            TransformationStep(
                name=opt_str(s, "name", rc + ".steps") or "",
                command=req_str(s, "command", rc + ".steps"),
            )
            for s in obj_list(config, "steps", rc)
        )
        return cls(
            id=req_str(d, "id", r),
            type=parse_enum(TransformationType, d.get("type")),
            status=parse_enum(TransformationStatus, d.get("status")),
            paused=flag(d, "paused", r),
            schedule=TransformationSchedule.from_api(obj(d, "schedule", r)),
            name=opt_str(config, "name", rc),
            project_id=opt_str(config, "project_id", rc),
            steps=steps,
            output_model_names=str_tuple(d, "output_model_names", r),
            last_started_at=opt_datetime(d, "last_started_at", r),
            last_ended_at=opt_datetime(d, "last_ended_at", r),
            created_at=opt_datetime(d, "created_at", r),
        )
