"""Read the live estate: everything the config could manage, in as few calls as the API allows.

Account-wide listings (groups, destinations, webhooks, connections, transformation projects,
transformations) cost one call per page of 1,000 whatever the number of groups; they run
concurrently. Then one schema-config read per connection of a managed group, on a bounded pool
under the client's shared rate limiter. That is the minimum the API offers: a plan of 1,000
connections costs about 1,006 calls. Groups the config does not name are listed but not read.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from fivetran_assets.fivetran.client import FivetranClient
from fivetran_assets.fivetran.models import Connection, Destination, Group, Webhook
from fivetran_assets.fivetran.schema_config import SchemaConfig
from fivetran_assets.fivetran.transformations import Transformation, TransformationProject
from fivetran_assets.reconcile.executor import DEFAULT_WORKERS


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


def read_estate(
    client: FivetranClient,
    group_names: Collection[str],
    *,
    workers: int = DEFAULT_WORKERS,
) -> LiveEstate:
    """Read every managed group's resources (`group_names`), listing the rest as unmanaged."""
    wanted = set(group_names)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        groups_f = pool.submit(lambda: list(client.list_groups()))
        destinations_f = pool.submit(lambda: list(client.list_destinations()))
        webhooks_f = pool.submit(lambda: list(client.list_webhooks()))
        connections_f = pool.submit(lambda: list(client.list_connections()))
        projects_f = pool.submit(lambda: list(client.list_transformation_projects()))
        transformations_f = pool.submit(lambda: list(client.list_transformations()))
        groups = groups_f.result()
        managed = {g.id: g for g in groups if g.name in wanted}
        _check_unique_names(managed.values())
        connections = [c for c in connections_f.result() if c.group_id in managed]
        schema_futures = {c.id: pool.submit(client.get_schema_config, c.id) for c in connections}
        destinations = {d.id: d for d in destinations_f.result()}
        webhooks = webhooks_f.result()
        projects = [p for p in projects_f.result() if p.group_id in managed]
        transformations = transformations_f.result()
        schema_configs = {cid: future.result() for cid, future in schema_futures.items()}

    project_group = {p.id: p.group_id for p in projects}
    result: dict[str, LiveGroup] = {}
    for group_id, group in managed.items():
        group_connections = tuple(
            sorted((c for c in connections if c.group_id == group_id), key=lambda c: c.schema)
        )
        group_projects = tuple(p for p in projects if p.group_id == group_id)
        result[group.name] = LiveGroup(
            group=group,
            destination=destinations.get(group_id),
            webhooks=tuple(w for w in webhooks if w.group_id == group_id),
            connections=group_connections,
            schema_configs={c.id: schema_configs[c.id] for c in group_connections},
            projects=group_projects,
            transformations=tuple(
                t for t in transformations if project_group.get(t.project_id or "") == group_id
            ),
        )
    unmanaged = tuple(sorted((g for g in groups if g.name not in wanted), key=lambda g: g.name))
    return LiveEstate(groups=result, unmanaged_groups=unmanaged)
