"""dbt models and their lineage, from `dbt parse` of a transformation project (refresh time only).

Parsing a dbt project takes seconds, so it happens when the snapshot is written, never when
definitions load. The project is parsed into a temporary target with a generated profile
(DuckDB in memory: `dbt parse` never connects), whose schema is the project's
`default_schema`, so node schemas are what Fivetran's run will build. No Dagster import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from fivetran_assets.snapshot.store import ModelSnapshot, SnapshotError

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


def parse_dbt_models(estate: Estate, group: Group, *, timeout: float = 300) -> list[ModelSnapshot]:
    project = group.transformation_project
    if project is None:
        return []
    return parse_project(
        project_dir(estate, group), default_schema=project.default_schema, timeout=timeout
    )


def parse_project(path: Path, *, default_schema: str, timeout: float = 300) -> list[ModelSnapshot]:
    """Run `dbt parse` on the project at `path` and read its models from the manifest."""
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
        target = Path(tmp, "target")
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "dbt.cli.main",
                "parse",
                "--project-dir",
                str(path),
                "--profiles-dir",
                tmp,
                "--target-path",
                str(target),
                "--log-path",
                str(Path(tmp, "logs")),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
            raise SnapshotError(f"dbt parse of {path} failed: " + " | ".join(tail))
        manifest = json.loads(Path(target, "manifest.json").read_text(encoding="utf-8"))
    return models_from_manifest(manifest)


def models_from_manifest(manifest: dict[str, Any]) -> list[ModelSnapshot]:
    """Enabled models with their sources (as destination relations) and refs (model names),
    and what dagster-dbt names them by (configured schema, version, `meta.dagster.asset_key`).
    """
    nodes = manifest.get("nodes", {})
    sources = manifest.get("sources", {})
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
            )
        )
    return models
