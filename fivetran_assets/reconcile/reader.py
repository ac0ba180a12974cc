"""Read the live estate: everything the config could manage, in as few calls as the API allows.

Account-wide listings (groups, destinations, webhooks, connections, transformation projects,
transformations) cost one call per page of 1,000 whatever the number of groups; they run
concurrently. Then one schema-config read per connection of a managed group, started as soon as
the connection's listing page arrives, on a pool of `account.read_concurrency` workers (32 by
default) under the client's shared rate limiter. That is the minimum the API offers: a plan of
1,000 connections costs about 1,006 calls, and every call is a read, so the plan's wall time is
about calls x latency / workers. Groups the config does not name are listed but not read.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fivetran_assets.fivetran.client import FivetranClient
from fivetran_assets.fivetran.models import Connection, Destination, Group, Webhook
from fivetran_assets.fivetran.schema_config import SchemaConfig
from fivetran_assets.fivetran.transformations import Transformation, TransformationProject
from fivetran_assets.reconcile.collector import collector_paused

DEFAULT_READ_WORKERS = 32


class AmbiguousIdentityError(Exception):
    """Two live groups share a name the config manages; identity by name cannot choose."""


@dataclass(frozen=True)
class LiveGroup:
    """One managed group as Fivetran has it. `schema_configs` maps connection id -> config
    (None when the source schema was never captured)."""

    group: Group
    destination: Destination | None = None
    webhooks: tuple[Webhook, ...] = ()
    connections: tuple[Connection, ...] = ()
    schema_configs: Mapping[str, SchemaConfig | None] = field(default_factory=dict)
    projects: tuple[TransformationProject, ...] = ()
    transformations: tuple[Transformation, ...] = ()

    def connection(self, name: str) -> Connection | None:
        return next((c for c in self.connections if c.schema == name), None)


@dataclass(frozen=True)
class LiveEstate:
    """The managed groups that exist (by name) and the groups the config does not name."""

    groups: Mapping[str, LiveGroup] = field(default_factory=dict)
    unmanaged_groups: tuple[Group, ...] = ()

    def count(self) -> int:
        """How many live resources the config manages (the base of the safety threshold)."""
        total = 0
        for live in self.groups.values():
            total += 1 + (live.destination is not None) + len(live.webhooks)
            total += len(live.connections) + len(live.projects) + len(live.transformations)
        return total


def _check_unique_names(groups: Collection[Group]) -> None:
    seen: dict[str, str] = {}
    for group in groups:
        if group.name in seen:
            raise AmbiguousIdentityError(
                f"two Fivetran groups are named '{group.name}' ({seen[group.name]}, {group.id}); "
                "groups are identified by name: rename or delete one of them"
            )
        seen[group.name] = group.id


def _streamed(items: Callable[[], Iterable[Any]], pool: ThreadPoolExecutor) -> Iterator[Any]:
    """Start listing now on a pool worker; iterate its items as the pages arrive (its error,
    if any, is raised at the end)."""
    arrived: queue.SimpleQueue[Any] = queue.SimpleQueue()
    end = object()

    def fetch() -> None:
        try:
            for item in items():
                arrived.put(item)
        finally:
            arrived.put(end)

    fetched = pool.submit(fetch)

    def drain() -> Iterator[Any]:
        while (item := arrived.get()) is not end:
            yield item
        fetched.result()

    return drain()


def _by_group(items: Iterable[Any], group_of: Callable[[Any], str | None]) -> dict[str, list[Any]]:
    buckets: dict[str, list[Any]] = {}
    for item in items:
        buckets.setdefault(group_of(item) or "", []).append(item)
    return buckets


class _Arriving(Mapping[str, SchemaConfig | None]):
    """A group's schema configs (connection id -> config) while the pool reads them: looking
    one up waits for its read (and raises its error)."""

    def __init__(self, reads: Mapping[str, Future[SchemaConfig | None]]) -> None:
        self._order = tuple(reads)
        self._reads = dict(reads)
        self._configs: dict[str, SchemaConfig | None] = {}

    def __getitem__(self, connection_id: str) -> SchemaConfig | None:
        if connection_id not in self._configs:
            self._configs[connection_id] = self._reads[connection_id].result()
        return self._configs[connection_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __repr__(self) -> str:
        return repr(dict(self))

    def settle(self) -> None:
        """Every read is done: keep the configs, let the futures go."""
        for connection_id in self._order:
            self[connection_id]
        self._reads = {}


def read_estate(
    client: FivetranClient,
    group_names: Collection[str],
    *,
    workers: int = DEFAULT_READ_WORKERS,
) -> LiveEstate:
    """Read every managed group's resources (`group_names`), listing the rest as unmanaged.

    Every call is a read, so `workers` may be high: the pool hides latency, the client's rate
    limiter keeps the budget.
    """
    with reading_estate(client, group_names, workers=workers) as live:
        return live


@contextmanager
def reading_estate(
    client: FivetranClient,
    group_names: Collection[str],
    *,
    workers: int = DEFAULT_READ_WORKERS,
) -> Iterator[LiveEstate]:
    """`read_estate`, handed over as soon as the listings are in: each connection's schema
    config is still being read, and looking it up waits for that read. A diff of the first
    groups then runs while the pool reads the later ones (at 10,000 connections the diff is
    a second of CPU that would otherwise follow the last read). Leaving the block waits for
    the reads, raising the first that failed; leaving it with an error drops the reads not
    yet started rather than spending them.
    """
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="plan-read")
    with collector_paused():
        try:
            live, reads = _start_reads(client, set(group_names), pool)
            yield live
            # One wait for all: a `result()` per read would wake this thread 10,000 times to
            # contend for the GIL with the workers; the first failure ends the wait.
            done, pending = wait(reads, return_when=FIRST_EXCEPTION)
            if pending:
                next(f for f in done if f.exception() is not None).result()
            for read in done:
                read.result()
            for group in live.groups.values():
                if isinstance(group.schema_configs, _Arriving):
                    group.schema_configs.settle()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _start_reads(
    client: FivetranClient, wanted: set[str], pool: ThreadPoolExecutor
) -> tuple[LiveEstate, list[Future[SchemaConfig | None]]]:
    """List everything; submit a schema read per managed connection as its page arrives. The
    estate, complete but for the schema configs being read, and those reads."""
    groups_f = pool.submit(lambda: list(client.list_groups()))
    destinations_f = pool.submit(lambda: list(client.list_destinations()))
    webhooks_f = pool.submit(lambda: list(client.list_webhooks()))
    projects_f = pool.submit(lambda: list(client.list_transformation_projects()))
    transformations_f = pool.submit(lambda: list(client.list_transformations()))
    listed = _streamed(client.list_connections, pool)
    groups = groups_f.result()
    managed = {g.id: g for g in groups if g.name in wanted}
    _check_unique_names(managed.values())
    connections: list[Connection] = []
    reads: dict[str, Future[SchemaConfig | None]] = {}
    for connection in listed:
        if connection.group_id in managed:
            connections.append(connection)
            reads[connection.id] = pool.submit(client.get_schema_config, connection.id)
    destinations = {d.id: d for d in destinations_f.result()}
    webhooks = webhooks_f.result()
    projects = [p for p in projects_f.result() if p.group_id in managed]
    transformations = transformations_f.result()

    project_group = {p.id: p.group_id for p in projects}
    # Bucketed once: a 10,000-connection estate has thousands of groups.
    conns_of = _by_group(connections, lambda c: c.group_id)
    hooks_of = _by_group(webhooks, lambda w: w.group_id)
    projects_of = _by_group(projects, lambda p: p.group_id)
    transformations_of = _by_group(transformations, lambda t: project_group.get(t.project_id or ""))
    result: dict[str, LiveGroup] = {}
    for group_id, group in managed.items():
        group_connections = tuple(sorted(conns_of.get(group_id, ()), key=lambda c: c.schema))
        result[group.name] = LiveGroup(
            group=group,
            destination=destinations.get(group_id),
            webhooks=tuple(hooks_of.get(group_id, ())),
            connections=group_connections,
            schema_configs=_Arriving({c.id: reads[c.id] for c in group_connections}),
            projects=tuple(projects_of.get(group_id, ())),
            transformations=tuple(transformations_of.get(group_id, ())),
        )
    unmanaged = tuple(sorted((g for g in groups if g.name not in wanted), key=lambda g: g.name))
    return LiveEstate(groups=result, unmanaged_groups=unmanaged), list(reads.values())
