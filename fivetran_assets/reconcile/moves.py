"""Moving a group to a new destination (switching warehouses): what the plan says and does.

Fivetran binds a destination to its group: a group's destination cannot change service, and it
cannot be deleted while connections use it. So a changed `groups[].destination.service` is a
move: a new group is made beside the old one, named `<group>__to_<service>` while both exist,
with the new destination, every connection recreated with the same config and selection, the
webhooks and the transformation project and transformations; each connection runs its
historical sync, and only once all have succeeded is the old group deleted (with everything in
it) and the new one renamed to the configured name. Asset keys do not change: they come from
the group, connection and table names, which the move keeps.

Every step is read back from the live estate, so an interrupted move resumes: with both groups
present the plan finishes the new one and waits for its syncs; with only the new group left it
renames it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from fivetran_assets.reconcile.desired import GroupSpec
from fivetran_assets.reconcile.plan import FieldDiff, Kind, Update
from fivetran_assets.reconcile.reader import LiveGroup

SEPARATOR = "__to_"


def staging_name(group: str, service: str) -> str:
    """The new group's name while the old one still exists (Fivetran names are unique)."""
    return f"{group}{SEPARATOR}{service}"


def staging_names(desired: Mapping[str, GroupSpec]) -> list[str]:
    """The staging name of every desired group: the reader looks for them too."""
    return [staging_name(name, spec.destination.service) for name, spec in desired.items()]


@dataclass(frozen=True)
class Move:
    """A group's move as the applier needs it (rides on the plan's group change).

    `old_id` is None once the old group is gone (only the rename is left); `syncs` are the
    connections of the new group whose historical sync has not succeeded yet.
    """

    group: str
    staging: str
    old_id: str | None
    staging_id: str | None
    syncs: tuple[str, ...] = ()
    old_resources: tuple[str, ...] = ()  # live ids deleted with the old group


def is_moving(spec: GroupSpec, old: LiveGroup | None, staging: LiveGroup | None) -> bool:
    """Whether the group is (or is still) moving to the configured destination."""
    if old is None:
        return staging is not None
    destination = old.destination
    return destination is not None and destination.service != spec.destination.service


def for_group(spec: GroupSpec, name: str) -> GroupSpec:
    """The same group spec under another group name (every nested spec follows)."""
    return replace(
        spec,
        name=name,
        destination=replace(spec.destination, group=name),
        webhooks=tuple(replace(w, group=name) for w in spec.webhooks),
        connections=tuple(replace(c, group=name) for c in spec.connections),
        project=replace(spec.project, group=name) if spec.project is not None else None,
        transformations=tuple(replace(t, group=name) for t in spec.transformations),
    )


def pending_syncs(spec: GroupSpec, staging: LiveGroup | None) -> tuple[str, ...]:
    """Connections of the new group still owing their historical sync (paused ones never run)."""
    live = {c.schema: c for c in staging.connections} if staging else {}
    return tuple(
        c.name
        for c in spec.connections
        if not c.paused and (c.name not in live or live[c.name].succeeded_at is None)
    )


def _undeclared(spec: GroupSpec, old: LiveGroup) -> list[str]:
    """What the old group holds that the config does not declare (deleted, not recreated)."""
    names = {c.name for c in spec.connections}
    urls = {w.url for w in spec.webhooks}
    found = [f"connection {c.schema}" for c in old.connections if c.schema not in names]
    found += [f"webhook {w.url}" for w in old.webhooks if w.url not in urls]
    wanted = {t.name for t in spec.transformations}
    found += [f"transformation {t.name}" for t in old.transformations if t.name not in wanted]
    return found


def _old_resources(old: LiveGroup) -> tuple[str, ...]:
    ids = [old.group.id, *(c.id for c in old.connections), *(w.id for w in old.webhooks)]
    ids += [p.id for p in old.projects]
    return tuple(ids)


def move_change(
    spec: GroupSpec, old: LiveGroup | None, staging: LiveGroup | None, *, new_name: str
) -> Update:
    """The plan's headline for a move: what it does, step by step, and the Move it carries."""
    service = spec.destination.service
    syncs = pending_syncs(spec, staging)
    move = Move(
        group=spec.name,
        staging=new_name,
        old_id=old.group.id if old else None,
        staging_id=staging.group.id if staging else None,
        syncs=syncs,
        old_resources=_old_resources(old) if old else (),
    )
    if old is None:
        return Update(
            Kind.GROUP,
            spec.name,
            fields=(FieldDiff("name", new_name, spec.name),),
            live_id=staging.group.id if staging else None,
            steps=(f"finish the move: rename group {new_name} to {spec.name}",),
            desired=move,
        )
    assert old.destination is not None
    count = len(spec.connections)
    transformations = len(spec.transformations)
    steps = [
        f"{'create' if staging is None else 'complete'} group {new_name} with a {service} "
        "destination (Fivetran binds a destination to its group: the group moves)",
        f"recreate {count} connection{'s' * (count != 1)} there with the same config and "
        "schema selections",
    ]
    if spec.project is not None:
        steps.append(
            f"recreate the transformation project and {transformations} transformation"
            f"{'s' * (transformations != 1)}"
        )
    if spec.webhooks:
        steps.append(f"move {len(spec.webhooks)} webhook{'s' * (len(spec.webhooks) != 1)}")
    steps.append(
        f"run the historical sync of {len(syncs)} connection{'s' * (len(syncs) != 1)} and wait "
        "for each to succeed"
        + (f" ({count - len(syncs)} paused or already synced)" if len(syncs) < count else "")
    )
    gone = _undeclared(spec, old)
    steps.append(
        f"only then delete group {spec.name} and its {old.destination.service} destination, "
        "connections and transformations (the data already in the old warehouse stays)"
        + (f"; also deletes what the config does not declare: {', '.join(gone)}" if gone else "")
    )
    steps.append(
        f"rename {new_name} to {spec.name} (an interrupted move resumes at the next apply)"
    )
    return Update(
        Kind.GROUP,
        spec.name,
        fields=(FieldDiff("destination.service", old.destination.service, service),),
        live_id=old.group.id,
        replace=True,
        steps=tuple(steps),
        desired=move,
        existing=old,
    )
