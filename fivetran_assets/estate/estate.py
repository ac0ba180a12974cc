"""The loaded estate: concrete, frozen records that the reconciler and the Dagster face consume.

Templates are expanded (each group has a flat list of concrete connections), shared selections are
merged into each connection's `Selection`, defaults are applied (who schedules, owners, tags), and
every record knows its key path and source location for error messages. Values are as written in
the config: references such as `${env:NAME}` are unresolved; resolve them with
`fivetran_assets.estate.references.resolve` (or the helpers below) only when applying.

Declared vs not declared: `None` (or an absent key) means "not managed by this config"; the
reconciler compares only declared values, as overrides of what Fivetran has.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fivetran_assets.estate.access import CertificateModel, FingerprintModel, Member
from fivetran_assets.estate.checks import checked_url
from fivetran_assets.estate.errors import (
    EstateError,
    Location,
    MissingCredentialsError,
    Problem,
    did_you_mean,
)
from fivetran_assets.estate.models import (
    Account,
    ColumnRule,
    DagsterSettings,
    Destination,
    Schedule,
    SchemaRule,
    Step,
    TableRule,
    TransformationProject,
    Webhook,
)
from fivetran_assets.estate.references import Environment, Secret, has_reference, resolve
from fivetran_assets.estate.vocabulary import ScheduledBy, SchemaChangeHandling, TransformationMode


@dataclass(frozen=True)
class Selection:
    """A connection's declared schema selection (shared selection merged with its overrides).

    `schemas` is keyed by source schema name. `tables` holds rules for "the only schema" of a
    single-schema source whose schema name is not known before capture; for known ones (sqlite:
    `main`) they are already folded into `schemas`. Use `for_source` to get the rules against the
    schema names Fivetran captured.
    """

    schema_change_handling: SchemaChangeHandling | None = None
    schemas: Mapping[str, SchemaRule] = field(default_factory=dict)
    tables: Mapping[str, TableRule] = field(default_factory=dict)
    shared: str | None = None

    def for_source(self, source_schemas: Collection[str]) -> dict[str, SchemaRule]:
        """Rules per source schema; `tables` go to the only schema (ValueError if several)."""
        rules = dict(self.schemas)
        if self.tables:
            if len(source_schemas) != 1:
                raise ValueError(
                    "schema.tables applies to a single-schema source, but the source has "
                    f"{len(source_schemas)} schemas ({', '.join(sorted(source_schemas))}); "
                    "use schema.schemas.<name>.tables"
                )
            (only,) = source_schemas
            base = rules.get(only, SchemaRule())
            rules[only] = SchemaRule(enabled=base.enabled, tables={**base.tables, **self.tables})
        return rules

    def table(self, schema: str, table: str) -> TableRule | None:
        """The declared rule of a table, or None when the config says nothing about it."""
        rule = self.schemas.get(schema)
        found = rule.tables.get(table) if rule else None
        return found if found is not None else self.tables.get(table)

    def column(self, schema: str, table: str, column: str) -> ColumnRule | None:
        rule = self.table(schema, table)
        return rule.columns.get(column) if rule else None

    def declared_tables(self) -> int:
        return sum(len(s.tables) for s in self.schemas.values()) + len(self.tables)


@dataclass(frozen=True)
class Connection:
    """One concrete connection. `name` is Fivetran's `schema` and `config.schema_prefix`."""

    group: str
    name: str
    service: str
    config: Mapping[str, Any]
    selection: Selection
    scheduled_by: ScheduledBy
    paused: bool = False
    sync_frequency: int | None = None
    daily_sync_time: str | None = None
    cron: str | None = None
    description: str | None = None
    owners: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    members: tuple[Member, ...] | None = None
    certificates: tuple[CertificateModel, ...] | None = None
    fingerprints: tuple[FingerprintModel, ...] | None = None
    path: str = ""
    location: Location | None = None

    @property
    def schema_prefix(self) -> str:
        return self.name

    @property
    def key(self) -> tuple[str, str]:
        """Identity in the live estate: (group name, schema name)."""
        return (self.group, self.name)


@dataclass(frozen=True)
class Transformation:
    """One dbt transformation of a group's project; steps have names filled in."""

    group: str
    name: str
    steps: tuple[Step, ...]
    schedule: Schedule
    scheduled_by: ScheduledBy
    paused: bool = False
    description: str | None = None
    owners: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    path: str = ""
    location: Location | None = None

    @property
    def mode(self) -> TransformationMode:
        return self.schedule.mode

    @property
    def connections(self) -> tuple[str, ...]:
        """Names of the connections (same group) whose syncs it follows; empty when independent."""
        return tuple(self.schedule.connections or ())


@dataclass(frozen=True)
class Group:
    name: str
    destination: Destination
    webhooks: tuple[Webhook, ...] = ()
    connections: tuple[Connection, ...] = ()
    transformation_project: TransformationProject | None = None
    transformations: tuple[Transformation, ...] = ()
    description: str | None = None
    owners: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    members: tuple[Member, ...] | None = None
    log_service: str | None = None
    path: str = ""
    location: Location | None = None
    key_prefix: tuple[str, ...] = ()

    def connection(self, name: str) -> Connection:
        for connection in self.connections:
            if connection.name == name:
                return connection
        names = [c.name for c in self.connections]
        raise KeyError(f"no connection '{name}' in group '{self.name}'{did_you_mean(name, names)}")

    def transformation(self, name: str) -> Transformation:
        for transformation in self.transformations:
            if transformation.name == name:
                return transformation
        names = [t.name for t in self.transformations]
        raise KeyError(
            f"no transformation '{name}' in group '{self.name}'{did_you_mean(name, names)}"
        )


@dataclass(frozen=True)
class Summary:
    groups: int
    connections: int
    tables: int
    transformations: int

    def __str__(self) -> str:
        return ", ".join(
            _count(number, noun)
            for number, noun in (
                (self.groups, "group"),
                (self.connections, "connection"),
                (self.tables, "table declared"),
                (self.transformations, "transformation"),
            )
        )


def _count(number: int, noun: str) -> str:
    word, _, rest = noun.partition(" ")
    plural = word if number == 1 else f"{word}s"
    return f"{number} {plural}{' ' + rest if rest else ''}"


@dataclass(frozen=True)
class Estate:
    """The whole estate, loaded and validated by `load_estate`."""

    account: Account
    dagster: DagsterSettings
    groups: tuple[Group, ...]
    root: Path
    files: tuple[Path, ...] = ()

    def group(self, name: str) -> Group:
        for group in self.groups:
            if group.name == name:
                return group
        raise KeyError(f"no group '{name}'{did_you_mean(name, [g.name for g in self.groups])}")

    def connection(self, group: str, name: str) -> Connection:
        return self.group(group).connection(name)

    def connections(self) -> Iterator[Connection]:
        for group in self.groups:
            yield from group.connections

    def transformations(self) -> Iterator[Transformation]:
        for group in self.groups:
            yield from group.transformations

    def webhooks(self) -> Iterator[tuple[Group, Webhook]]:
        for group in self.groups:
            for webhook in group.webhooks:
                yield group, webhook

    def summary(self) -> Summary:
        return Summary(
            groups=len(self.groups),
            connections=sum(len(g.connections) for g in self.groups),
            tables=sum(c.selection.declared_tables() for c in self.connections()),
            transformations=sum(len(g.transformations) for g in self.groups),
        )

    def project_path(self, path: str | Path) -> Path:
        """A path from the config, made absolute against the project root."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.root / candidate

    def environment(self, variables: Mapping[str, str] | None = None) -> Environment:
        """Where references resolve: the given variables (default os.environ) and the root."""
        if variables is None:
            return Environment(root=self.root)
        return Environment(variables=dict(variables), root=self.root)

    def references(self) -> Iterator[tuple[str, Any]]:
        """Every value holding a reference, as (key path, value as written)."""
        yield "account.base_url", self.account.base_url
        for index, service in enumerate(self.account.log_services):
            yield f"account.log_services[{index}].config", dict(service.config)
        if self.account.rate_state is not None:
            yield "account.rate_state", self.account.rate_state
        for group in self.groups:
            yield f"{group.path}.destination.config", dict(group.destination.config)
            for index, webhook in enumerate(group.webhooks):
                yield f"{group.path}.webhooks[{index}].url", webhook.url
                if webhook.secret is not None:
                    yield f"{group.path}.webhooks[{index}].secret", webhook.secret
            for connection in group.connections:
                yield f"{connection.path}.config", dict(connection.config)
            project = group.transformation_project
            if project is not None:
                yield f"{group.path}.transformation_project.git_remote_url", project.git_remote_url
                env_vars = dict(project.environment_vars)
                yield f"{group.path}.transformation_project.environment_vars", env_vars

    def check_environment(self, variables: Mapping[str, str] | None = None) -> list[Problem]:
        """All references that cannot be resolved in this environment (apply's preflight)."""
        environment = self.environment(variables)
        problems: list[Problem] = []
        for where, value in self.references():
            if not _contains_reference(value):
                continue
            try:
                resolve(value, environment, where=where)
            except EstateError as exc:
                problems.extend(exc.problems)
        problems.extend(self._missing_credentials(environment))
        return problems

    def base_url(self, variables: Mapping[str, str] | None = None) -> str:
        """The API root with references resolved (a URL is configuration, shown unmasked)."""
        value = resolve(
            self.account.base_url, self.environment(variables), where="account.base_url"
        )
        url = value.reveal() if isinstance(value, Secret) else value
        return checked_url(url, where="account.base_url")

    def credentials(self, variables: Mapping[str, str] | None = None) -> tuple[Secret, Secret]:
        """(api_key, api_secret) read from the variables the account section names."""
        environment = self.environment(variables)
        missing = self._missing_credentials(environment)
        if missing:
            names = [
                name
                for name in (self.account.api_key_env, self.account.api_secret_env)
                if name not in environment.variables
            ]
            raise MissingCredentialsError(missing, variables=names)
        key_env, secret_env = self.account.api_key_env, self.account.api_secret_env
        return (
            Secret(environment.variables[key_env], f"${{env:{key_env}}}"),
            Secret(environment.variables[secret_env], f"${{env:{secret_env}}}"),
        )

    def _missing_credentials(self, environment: Environment) -> list[Problem]:
        return [
            Problem(
                f"environment variable {name} is not set",
                path=where,
                expected=f"the Fivetran API {what} in {name}",
            )
            for name, where, what in (
                (self.account.api_key_env, "account.api_key_env", "key"),
                (self.account.api_secret_env, "account.api_secret_env", "secret"),
            )
            if name not in environment.variables
        ]


def _contains_reference(value: Any) -> bool:
    if isinstance(value, str):
        return has_reference(value)
    if isinstance(value, Mapping):
        return any(_contains_reference(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_contains_reference(v) for v in value)
    return False
