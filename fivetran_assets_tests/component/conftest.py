"""A fresh `dg` project in a temporary folder holding a `FivetranEstateComponent` (defs.yaml)
over a copy of the demo config, and the live demo estate (the Dagster tests' fixture)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from fivetran_assets_tests.dagster.conftest import ROOT, demo  # noqa: F401  (the fixture)

PACKAGE = "estate_proj"
DG = Path(sys.executable).with_name("dg")


def make_project(folder: Path, attributes: dict[str, Any], *, home: Path | None = None) -> Path:
    """A `dg` project by hand (what `dg scaffold project` writes, minus its venv): pyproject,
    a package with `definitions.py` loading its defs folder, and one defs.yaml."""
    root = folder / "proj"
    defs = root / PACKAGE / "defs" / "fivetran"
    defs.mkdir(parents=True)
    shutil.copytree(ROOT / "config", root / "config", ignore=shutil.ignore_patterns("target"))
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "estate-proj"\nversion = "0.0.1"\n\n'
        f'[tool.dg]\ndirectory_type = "project"\n\n[tool.dg.project]\nroot_module = "{PACKAGE}"\n'
    )
    (root / PACKAGE / "__init__.py").write_text("")
    (root / PACKAGE / "defs" / "__init__.py").write_text("")
    (root / PACKAGE / "definitions.py").write_text(
        "from pathlib import Path\n\nimport dagster as dg\n\n"
        "defs = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)\n"
    )
    component = {"type": "fivetran_assets.FivetranEstateComponent", "attributes": attributes}
    (defs / "defs.yaml").write_text(yaml.safe_dump(component, sort_keys=False))
    if home is not None:
        home.mkdir(parents=True, exist_ok=True)
    return root


def instance_yaml(home: Path, state: Path) -> Path:
    """DAGSTER_HOME/dagster.yaml keeping defs state under a `file://` UPath (as S3 or GCS would)."""
    home.mkdir(parents=True, exist_ok=True)
    config = {
        "telemetry": {"enabled": False},
        "defs_state_storage": {
            "module": "dagster._core.storage.defs_state.blob_storage_state_storage",
            "class": "UPathDefsStateStorage",
            "config": {"base_path": state.as_uri()},
        },
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return home


def dg(root: Path, home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the `dg` CLI in `root` with this interpreter's environment and DAGSTER_HOME=`home`."""
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "VIRTUAL_ENV": str(Path(sys.executable).parents[1]),
        "PATH": f"{DG.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(root),  # the project's package, not installed
    }
    env.pop("FIVETRAN_ASSETS_CONFIG", None)
    return subprocess.run(
        [str(DG), *args], cwd=root, env=env, capture_output=True, text=True, timeout=timeout
    )
