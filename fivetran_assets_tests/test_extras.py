"""Without the `local` extra: the Dagster integration still loads, and what needs the extra says
so in one line naming it (`fivetran-assets[local]`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
LOCAL = ("duckdb", "pyarrow", "dbt", "dagster_webserver")


def test_the_component_loads_with_no_package_of_the_local_extra() -> None:
    blocked = "; ".join(f"sys.modules[{m!r}] = None" for m in LOCAL)
    code = (
        f"import sys; {blocked}\n"
        "import fivetran_assets.definitions as d\n"
        "print(sorted(j.name for j in d.defs.get_repository_def().get_all_jobs()))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "provision_fivetran" in run.stdout and "sync_all" in run.stdout


def test_a_missing_extra_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from fivetran_assets.cli import main
    from fivetran_assets.snapshot.dbt_manifest import parse_project
    from fivetran_assets.snapshot.store import SnapshotError
    from fivetran_assets.snapshot.warehouse import DuckDBWarehouse, WarehouseError

    for module in (*LOCAL, "dbt.cli.main", "dbt.adapters.duckdb"):  # as if never installed
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(WarehouseError, match=r"fivetran-assets\[local\]"):
        DuckDBWarehouse(path="w.duckdb").describe([("s", "t")])
    with pytest.raises(SnapshotError, match=r"dbt parse.*fivetran-assets\[local\]"):
        parse_project(ROOT / "config" / "dbt", default_schema="analytics")
    result = CliRunner().invoke(main, ["emulator", "serve", "--port", "1"])
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line == (
        "Error: the local Fivetran needs duckdb, from the extra fivetran-assets[local]: "
        "pip install 'fivetran-assets[local]'"
    )
