"""Typed records for access and governance: users, roles, teams, memberships, log services,
approved certificates and fingerprints, and the legacy metadata API's items.

Payloads become these records where they arrive (`from_api`), as in `models.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fivetran_assets.fivetran.models import SetupTest
from fivetran_assets.fivetran.parsing import (
    as_mapping,
    flag,
    obj,
    obj_list,
    opt_datetime,
    opt_str,
    req_str,
    str_tuple,
)


@dataclass(frozen=True)
class User:
    """`UserResponse`: an account user; `role` is the account role (None when it has none)."""

    id: str
    email: str
    given_name: str | None
    family_name: str | None
    role: str | None
    phone: str | None = None
    active: bool = True
    invited: bool = False
    verified: bool = False
    created_at: datetime | None = None
    logged_in_at: datetime | None = None

    @classmethod
    def from_api(cls, data: object) -> User:
        d = as_mapping(data, "User")
        return cls(
            id=req_str(d, "id", "User"),
            email=req_str(d, "email", "User"),
            given_name=opt_str(d, "given_name", "User"),
            family_name=opt_str(d, "family_name", "User"),
            role=opt_str(d, "role", "User") or None,
            phone=opt_str(d, "phone", "User"),
            active=flag(d, "active", "User", default=True),
            invited=flag(d, "invited", "User"),
            verified=flag(d, "verified", "User"),
            created_at=opt_datetime(d, "created_at", "User"),
            logged_in_at=opt_datetime(d, "logged_in_at", "User"),
        )


@dataclass(frozen=True)
class Role:
    """`RoleResponse`: a standard or custom role and the resource kinds it applies to."""

    name: str
    scope: tuple[str, ...]
    description: str | None = None
    is_custom: bool = False
    is_deprecated: bool = False
    replacement_role_name: str | None = None

    @classmethod
    def from_api(cls, data: object) -> Role:
        d = as_mapping(data, "Role")
        return cls(
            name=req_str(d, "name", "Role"),
            scope=str_tuple(d, "scope", "Role"),
            description=opt_str(d, "description", "Role"),
            is_custom=flag(d, "is_custom", "Role"),
            is_deprecated=flag(d, "is_deprecated", "Role"),
            replacement_role_name=opt_str(d, "replacement_role_name", "Role") or None,
        )


@dataclass(frozen=True)
class Team:
    """`TeamResponse`; `role` is the team's account role (None when it has none)."""

    id: str
    name: str
    description: str | None
    role: str | None

    @classmethod
    def from_api(cls, data: object) -> Team:
        d = as_mapping(data, "Team")
        return cls(
            id=req_str(d, "id", "Team"),
            name=opt_str(d, "name", "Team") or "",
            description=opt_str(d, "description", "Team"),
            role=opt_str(d, "role", "Team") or None,
        )


@dataclass(frozen=True)
class Membership:
    """A user's or team's role in a group or connection (`id` is the group's or connection's),
    or a user's role in a team (`MembershipResponse`, `TeamMembershipResponse`: `id` is the
    user's)."""

    id: str
    role: str
    created_at: datetime | None = None

    @classmethod
    def from_api(cls, data: object) -> Membership:
        d = as_mapping(data, "Membership")
        key = "user_id" if "user_id" in d else "id"
        return cls(
            id=req_str(d, key, "Membership"),
            role=req_str(d, "role", "Membership"),
            created_at=opt_datetime(d, "created_at", "Membership"),
        )


@dataclass(frozen=True)
class LogService:
    """External logging (`LogExtendedResponse`): a group's has the group's id. Secret config
    values come back masked."""

    id: str
    service: str
    enabled: bool
    config: Mapping[str, Any] = field(default_factory=dict)
    setup_state: str | None = None
    setup_tests: tuple[SetupTest, ...] = ()

    @classmethod
    def from_api(cls, data: object) -> LogService:
        d = as_mapping(data, "LogService")
        status = obj(d, "status", "LogService")
        return cls(
            id=req_str(d, "id", "LogService"),
            service=req_str(d, "service", "LogService"),
            enabled=flag(d, "enabled", "LogService"),
            config=dict(obj(d, "config", "LogService")),
            setup_state=opt_str(status, "setup_state", "LogService.status"),
            setup_tests=tuple(
                SetupTest.from_api(t) for t in obj_list(d, "setup_tests", "LogService")
            ),
        )


@dataclass(frozen=True)
class Certificate:
    """An approved TLS certificate (`CertificateDetailsResponse`) or, with no `name` and
    hashes, an approved SSH fingerprint (`FingerprintDetailsResponse`)."""

    hash: str
    public_key: str | None
    name: str | None = None
    sha256: str | None = None
    validated_by: str | None = None
    validated_date: datetime | None = None

    @classmethod
    def from_api(cls, data: object) -> Certificate:
        d = as_mapping(data, "Certificate")
        return cls(
            hash=req_str(d, "hash", "Certificate"),
            public_key=opt_str(d, "public_key", "Certificate"),
            name=opt_str(d, "name", "Certificate"),
            sha256=opt_str(d, "sha256", "Certificate"),
            validated_by=opt_str(d, "validated_by", "Certificate"),
            validated_date=opt_datetime(d, "validated_date", "Certificate"),
        )


@dataclass(frozen=True)
class ColumnMetadata:
    """One synced column from the legacy metadata API, with its table's names resolved."""

    schema: str
    table: str
    name_in_source: str
    name_in_destination: str
    type_in_source: str | None
    type_in_destination: str | None
    is_primary_key: bool = False
