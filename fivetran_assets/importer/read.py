"""Read the live account for an import: only GETs, group by group, within the rate budget.

Account-wide listings (groups, webhooks, transformation projects, transformations) cost one call
a page. Each imported group then costs a destination read, a connection listing, one
schema-config read per connection and one read of its transformation project; each distinct
connection service costs one connector-type read. Access and governance (`access_read.py`) add
the users and teams with their memberships, and two approval reads per connection and
destination. Everything runs on a bounded pool under the client's shared rate limiter:
importing 1,000 connections costs about 3,000 calls, 15% of an hour's budget. A 403 on any read
of a group (an API key scoped to some groups) marks that group as not imported, with the
reason; the others are imported.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fivetran_assets.estate.errors import did_you_mean
from fivetran_assets.fivetran.client import FivetranClient
from fivetran_assets.fivetran.errors import AuthError, NotFoundError
from fivetran_assets.fivetran.models import ConnectorType, Destination, Group, Webhook
from fivetran_assets.fivetran.transformations import Transformation, TransformationProject
from fivetran_assets.importer.access_read import LiveAccess, read_access
from fivetran_assets.reconcile.reader import DEFAULT_READ_WORKERS, LiveGroup

T = TypeVar("T")


class UnknownGroupError(ValueError):
    """`--group` named a group the account does not have."""


@dataclass(frozen=True)
class Unreadable:
    """A part of the account the API key may not read (403), and why."""

    what: str
    reason: str


@dataclass(frozen=True)
class LiveAccount:
    """What an import reads: the groups it could read in full, and what it could not.

    `services` maps each connection service to its connector-type metadata, None when Fivetran
    does not describe it (the importer then writes such connections as read, untemplated).
    """

    base_url: str
    groups: tuple[LiveGroup, ...] = ()
    services: Mapping[str, ConnectorType | None] = field(default_factory=dict)
    account_webhooks: tuple[Webhook, ...] = ()
    unreadable: tuple[Unreadable, ...] = ()
    access: LiveAccess = field(default_factory=LiveAccess)


def _forbidden(exc: AuthError) -> str:
    return f"{exc.status or 403} {exc.message}" + (
        f" ({exc.method} {exc.path})" if exc.method and exc.path else ""
    )


def _listing(
    pool: ThreadPoolExecutor, call: Callable[[], Any], what: str, unreadable: list[Unreadable]
) -> Callable[[], list[Any]]:
    """Start an account-wide listing; its result is [] (and noted) when the key may not read it."""
    future = pool.submit(lambda: list(call()))

    def result() -> list[Any]:
        try:
            return future.result()
        except AuthError as exc:
            unreadable.append(Unreadable(what, _forbidden(exc)))
            return []

    return result


def _destination(client: FivetranClient, group_id: str) -> Destination | None:
    try:
        return client.get_destination(group_id)
    except NotFoundError:
        return None


def _service(client: FivetranClient, service: str) -> ConnectorType | None:
    try:
        return client.get_connector_type(service)
    except (NotFoundError, AuthError):
        return None


def select_groups(groups: list[Group], names: Collection[str]) -> list[Group]:
    """The groups `--group` names (all when none), by name; unknown names are an error."""
    known = {g.name for g in groups}
    missing = [n for n in names if n not in known]
    if missing:
        hints = "; ".join(f"'{n}'{did_you_mean(n, sorted(known))}" for n in missing)
        raise UnknownGroupError(
            f"no group named {hints} in this account (it has: {', '.join(sorted(known))})"
        )
    wanted = set(names)
    return sorted((g for g in groups if not wanted or g.name in wanted), key=lambda g: g.name)


class _GroupReads:
    """The futures of one group's reads; the first 403 among them makes the group unreadable."""

    def __init__(self, group: Group) -> None:
        self.group = group
        self.futures: dict[str, Future[Any]] = {}
        self.failure: str | None = None

    def get(self, key: str) -> Any:
        if self.failure is not None:
            return None
        try:
            return self.futures[key].result()
        except AuthError as exc:
            self.failure = _forbidden(exc)
            return None


def read_account(
    client: FivetranClient, *, groups: Collection[str] = (), workers: int = DEFAULT_READ_WORKERS
) -> LiveAccount:
    """Read every group (or those named in `groups`) with all that the config can declare."""
    selected = select_groups(list(client.list_groups()), groups)
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        account = _read(client, selected, pool)
    finally:
        # On a failure the reads not started yet are dropped, not waited for.
        pool.shutdown(wait=True, cancel_futures=True)
    return account


def _read(client: FivetranClient, selected: list[Group], pool: ThreadPoolExecutor) -> LiveAccount:
    unreadable: list[Unreadable] = []
    webhooks = _listing(pool, client.list_webhooks, "webhooks", unreadable)
    projects = _listing(pool, client.list_transformation_projects, "projects", unreadable)
    transformations = _listing(pool, client.list_transformations, "transformations", unreadable)
    reads = []
    for group in selected:
        one = _GroupReads(group)
        one.futures["destination"] = pool.submit(_destination, client, group.id)
        one.futures["connections"] = pool.submit(
            lambda g=group: sorted(client.list_group_connections(g.id), key=lambda c: c.schema)
        )
        reads.append(one)
    group_ids = {g.id for g in selected}
    live_projects = [p for p in projects() if p.group_id in group_ids]
    for one in reads:
        for connection in one.get("connections") or ():
            one.futures[connection.id] = pool.submit(client.get_schema_config, connection.id)
        for project in live_projects:
            if project.group_id == one.group.id:
                one.futures[project.id] = pool.submit(client.get_transformation_project, project.id)
    services = sorted({c.service for one in reads for c in one.get("connections") or ()})
    service_futures = {s: pool.submit(_service, client, s) for s in services}
    all_hooks, all_transformations = webhooks(), transformations()
    live = [
        g
        for g in (_live_group(one, live_projects, all_hooks, all_transformations) for one in reads)
        if g is not None
    ]
    access = read_access(
        client,
        pool,
        group_ids=[g.group.id for g in live],
        connection_ids=[c.id for g in live for c in g.connections],
    )
    known = {s: f.result() for s, f in service_futures.items()}
    for one in reads:
        if one.failure is not None:
            unreadable.append(Unreadable(f"group {one.group.name}", one.failure))
    unreadable += [Unreadable(what, why) for what, why in access.unreadable]
    return LiveAccount(
        base_url=client.base_url,
        groups=tuple(live),
        services=known,
        account_webhooks=tuple(w for w in all_hooks if w.group_id is None),
        unreadable=tuple(unreadable),
        access=access,
    )


def _live_group(
    one: _GroupReads,
    projects: list[TransformationProject],
    webhooks: list[Webhook],
    transformations: list[Transformation],
) -> LiveGroup | None:
    group_id = one.group.id
    destination = one.get("destination")
    connections = tuple(one.get("connections") or ())
    schema_configs = {c.id: one.get(c.id) for c in connections}
    own = [one.get(p.id) for p in projects if p.group_id == group_id]
    if one.failure is not None:
        return None
    project_ids = {p.id for p in own}
    return LiveGroup(
        group=one.group,
        destination=destination,
        webhooks=tuple(w for w in webhooks if w.group_id == group_id),
        connections=connections,
        schema_configs=schema_configs,
        projects=tuple(own),
        transformations=tuple(t for t in transformations if t.project_id in project_ids),
    )
