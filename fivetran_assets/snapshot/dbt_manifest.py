"""dbt models and their lineage, from `dbt parse` of a transformation project (refresh time only).

Each transformation gets the models its steps build (`dbt ls` of their selections) and each
model the names of its data tests (dbt's `attached_node`), for the models' test checks.

Parsing a dbt project takes seconds, so it happens when the snapshot is written, never when
definitions load. The project is parsed into a temporary target with a generated profile
(DuckDB in memory: `dbt parse` never connects), whose schema is the project's
`default_schema`, so node schemas are what Fivetran's run will build. No Dagster import.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from fivetran_assets.snapshot.dbt_lineage import with_column_lineage
from fivetran_assets.snapshot.store import ModelSnapshot, SnapshotError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from fivetran_assets.estate import Estate, Group


def project_dir(estate: Estate, group: Group) -> Path:
    """The local dbt project of a group's transformation project (path or file:// URL)."""
    from fivetran_assets.estate import resolve, reveal

    project = group.transformation_project
    if project is None:
        raise SnapshotError(f"{group.path}: no transformation_project to read models from")
    url = reveal(resolve(project.git_remote_url, estate.environment(), where=group.path))
    if "://" in url and not url.startswith("file://"):
        raise SnapshotError(
            f"{group.path}.transformation_project.git_remote_url: {url} is a remote repository; "
            "models are read from a local checkout (a path or file:// URL)"
        )
    base = estate.project_path(url.removeprefix("file://"))
    return base / project.folder_path if project.folder_path else base


def transformation_models(
    estate: Estate,
    group: Group,
    *,
    tables: Mapping[tuple[str, str], Sequence[str]] | None = None,
    timeout: float = 300,
) -> dict[str, tuple[ModelSnapshot, ...]]:
    """The models each transformation of the group builds, by name: those its `dbt run`,
    `build`, `seed` or `snapshot` steps select (dbt's own selection, so every selector works);
    a step without a selection builds them all. A model two transformations build belongs to
    the first of them in the config (an asset has one key, so one owner).

    `tables` (destination (schema, table) -> column names: what the group's connections land)
    let the models' column lineage reach the synced tables' columns."""
    project = group.transformation_project
    if project is None:
        return {}
    plans = {
        t.name: [sel for s in t.steps if (sel := step_selection(s.command)) is not None]
        for t in group.transformations
    }
    distinct = sorted({sel for sels in plans.values() for sel in sels})
    models, picked = parse_project(
        project_dir(estate, group),
        project.default_schema,
        distinct,
        tables=tables,
        timeout=timeout,
    )
    by_selection = dict(zip(distinct, picked, strict=True))
    out = {}
    owned: set[str] = set()
    for name, selections in plans.items():
        chosen: set[str] = set().union(*(by_selection[sel] for sel in selections)) - owned
        owned |= chosen
        out[name] = tuple(m for m in models if m.unique_id in chosen)
    return out


_BUILDS = frozenset({"run", "build", "seed", "snapshot"})
_SELECTION_FLAGS = {
    "-s": "--select",
    "--select": "--select",
    "-m": "--select",
    "--models": "--select",
    "--exclude": "--exclude",
    "--selector": "--selector",
}


def step_selection(command: str) -> tuple[str, ...] | None:
    """The selection arguments of a model-building dbt step (empty: all models), or None when
    the step builds no model (`dbt test`, `dbt deps`, ...)."""
    words = shlex.split(command)
    if len(words) < 2 or words[0] != "dbt" or words[1] not in _BUILDS:
        return None
    args: list[str] = []
    flag: str | None = None
    for word in words[2:]:
        if word.startswith("-"):
            name, _, value = word.partition("=")
            flag = _SELECTION_FLAGS.get(name)
            if flag is not None:
                args.append(flag)
                if value:
                    args.append(value)
            continue
        if flag is not None:
            args.append(word)
    return tuple(args)


def parse_project(
    path: Path,
    default_schema: str,
    selections: Sequence[tuple[str, ...]] = (),
    *,
    tables: Mapping[tuple[str, str], Sequence[str]] | None = None,
    timeout: float = 300,
) -> tuple[list[ModelSnapshot], list[set[str]]]:
    """`dbt parse` and `dbt compile` of the project at `path` (one subprocess): its models with
    their column lineage (to `tables`' columns and each other's), and for each of `selections`
    (dbt selection arguments; empty: all) the unique ids of the models it picks."""
    from fivetran_assets.extras import has_local, missing_message

    if not has_local("dbt.cli.main", "dbt.adapters.duckdb"):
        raise SnapshotError(missing_message("dbt-core and dbt-duckdb", f"`dbt parse` of {path}"))
    project_file = path / "dbt_project.yml"
    if not project_file.is_file():
        raise SnapshotError(f"{path}: no dbt_project.yml (is git_remote_url right?)")
    profile = yaml.safe_load(project_file.read_text(encoding="utf-8")).get("profile", "default")
    with tempfile.TemporaryDirectory(prefix="fivetran-assets-dbt-") as tmp:
        profiles = {
            profile: {
                "target": "snapshot",
                "outputs": {
                    "snapshot": {"type": "duckdb", "path": ":memory:", "schema": default_schema}
                },
            }
        }
        Path(tmp, "profiles.yml").write_text(yaml.safe_dump(profiles), encoding="utf-8")
        Path(tmp, "selections.json").write_text(json.dumps([list(s) for s in selections]))
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        result = subprocess.run(
            [sys.executable, "-m", "fivetran_assets.snapshot.dbt_parse_main", tmp, str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
            raise SnapshotError(f"dbt parse of {path} failed: " + " | ".join(tail))
        manifest = json.loads(Path(tmp, "target", "manifest.json").read_text(encoding="utf-8"))
        picked = json.loads(Path(tmp, "selected.json").read_text(encoding="utf-8"))
        compiled = json.loads(Path(tmp, "compiled.json").read_text(encoding="utf-8"))
    found = models_from_manifest(manifest)
    if found and not compiled:
        tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
        log.warning(
            "dbt compile of %s failed without a warehouse, so its models get no column lineage: %s",
            path,
            " | ".join(tail),
        )
    models = with_column_lineage(found, compiled, tables or {})
    every = {m.unique_id for m in models}
    return models, [every if ids is None else set(ids) & every for ids in picked]


def models_from_manifest(manifest: dict[str, Any]) -> list[ModelSnapshot]:
    """Enabled models with their sources (as destination relations) and refs (model names),
    and what dagster-dbt names them by (configured schema, version, `meta.dagster.asset_key`).
    """
    nodes = manifest.get("nodes", {})
    sources = manifest.get("sources", {})
    tests: dict[str, list[str]] = {}
    for node in nodes.values():
        if node.get("resource_type") != "test":
            continue
        attached = node.get("attached_node")
        targets = [attached] if attached else node.get("depends_on", {}).get("nodes", [])
        for target in targets:
            tests.setdefault(target, []).append(node["name"])
    models = []
    for uid, node in sorted(nodes.items()):
        if node.get("resource_type") != "model":
            continue
        depends = node.get("depends_on", {}).get("nodes", [])
        config = node.get("config") or {}
        meta = config.get("meta") or node.get("meta") or {}
        asset_key = (meta.get("dagster") or {}).get("asset_key")
        alias = node.get("alias")
        models.append(
            ModelSnapshot(
                name=node["name"],
                schema=node["schema"],
                unique_id=uid,
                sources=tuple(
                    (sources[d]["schema"], sources[d].get("identifier") or sources[d]["name"])
                    for d in depends
                    if d in sources
                ),
                refs=tuple(
                    nodes[d]["name"]
                    for d in depends
                    if d in nodes and nodes[d].get("resource_type") == "model"
                ),
                description=node.get("description") or "",
                materialized=config.get("materialized"),
                columns=tuple(node.get("columns", {})),
                alias=alias if alias and alias != node["name"] else None,
                config_schema=config.get("schema"),
                version=str(node["version"]) if node.get("version") is not None else None,
                asset_key=tuple(str(p) for p in asset_key) if asset_key else None,
                tests=tuple(sorted(tests.get(uid, ()))),
            )
        )
    return models
