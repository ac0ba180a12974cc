"""Config models for access and governance: users, teams, log services, members, certificates.

Under `account:`: `users[]` (invited when missing; removed only with `--prune`), `teams[]` (with
their `members[]`), `log_services[]` (Fivetran's external logging, named so that groups can use
one with `groups[].log_service`). Under a group: `members[]` (a user by email or a team by name,
with a destination role); under a connection: `members[]` (connector roles), `certificates[]`
and `fingerprints[]`; the same two under `destination`. Role names are checked against
Fivetran's `GET /v1/roles` when planning, where the known ones can be named.

A list left out is not managed (whatever Fivetran has stays); a list written, even empty, is
the whole truth for what it covers.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

EMAIL_PATTERN = r"^[^\s@]+@[^\s@]+\.[^\s@]+$"
Email = Annotated[str, Field(pattern=EMAIL_PATTERN, max_length=254)]
RoleName = Annotated[str, Field(min_length=1, description="A role name from GET /v1/roles.")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class UserModel(_Strict):
    """An account user; `role` is an account role (scope ACCOUNT)."""

    email: Email
    given_name: str = Field(min_length=1)
    family_name: str = Field(min_length=1)
    role: RoleName
    phone: str | None = None


class TeamMember(_Strict):
    email: Email
    role: RoleName = Field("Team Member", description="A team role (scope TEAM).")


class TeamModel(_Strict):
    name: str = Field(min_length=1, max_length=100)
    description: str | None = None
    role: RoleName | None = Field(None, description="The team's account role (scope ACCOUNT).")
    members: list[TeamMember] = []


class LogServiceModel(_Strict):
    """External logging, used by the groups that name it in `log_service`."""

    name: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$")]
    service: Annotated[str, Field(min_length=1, description="e.g. datadog_log, cloudwatch.")]
    config: dict[str, Any] = Field(
        {}, description="Service settings; secrets as references (${env:NAME})."
    )
    enabled: bool = True


class Member(_Strict):
    """A user (by `email`) or a team (by `team` name) and its role in a group or connection."""

    email: Email | None = None
    team: str | None = Field(None, min_length=1)
    role: RoleName

    @model_validator(mode="after")
    def _one_principal(self) -> Member:
        if (self.email is None) == (self.team is None):
            raise ValueError("give exactly one of 'email' (a user) and 'team' (a team name)")
        return self

    @property
    def principal(self) -> tuple[str, str]:
        """("user", email) or ("team", name)."""
        return ("user", self.email) if self.email is not None else ("team", self.team or "")


class CertificateModel(_Strict):
    """A TLS certificate to approve: its `hash` and the base64/PEM certificate."""

    hash: str = Field(min_length=1)
    encoded_cert: str = Field(
        min_length=1,
        validation_alias=AliasChoices("encoded_cert", "public_key"),
        description="Base64 (or PEM) X.509 certificate; `public_key` is accepted as a synonym.",
    )


class FingerprintModel(_Strict):
    """An SSH host key to approve: its `hash` and `public_key`."""

    hash: str = Field(min_length=1)
    public_key: str = Field(min_length=1)
