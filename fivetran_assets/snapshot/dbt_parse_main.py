"""`python -m fivetran_assets.snapshot.dbt_parse_main TMP PROJECT`: parse a dbt project once and
list the models each selection picks, with dbt's own `ls` on the parsed manifest, then compile
the models (for their column lineage).

Run in a subprocess by `dbt_manifest` (dbt keeps process-wide state). TMP holds `profiles.yml`
and `selections.json` (a list of argument lists; empty means every model); the manifest goes to
`TMP/target/manifest.json`, the picked unique ids to `TMP/selected.json` and each model's
compiled SQL to `TMP/compiled.json` (`{}` when the project does not compile against an empty
in-memory DuckDB, e.g. a macro that reads the warehouse: only column lineage is lost).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dbt.cli.main import dbtRunner


def main(tmp: str, project: str) -> int:
    from dbt.cli.main import dbtRunner

    common = [
        "--project-dir",
        project,
        "--profiles-dir",
        tmp,
        "--target-path",
        str(Path(tmp, "target")),
        "--log-path",
        str(Path(tmp, "logs")),
    ]
    from dbt.contracts.graph.manifest import Manifest

    parsed = dbtRunner().invoke(["parse", *common])
    if not parsed.success or not isinstance(parsed.result, Manifest):
        return 2
    runner = dbtRunner(manifest=parsed.result)
    selected: list[list[str] | None] = []
    for args in json.loads(Path(tmp, "selections.json").read_text(encoding="utf-8")):
        if not args:
            selected.append(None)
            continue
        listing = ["ls", "--resource-type", "model", "--output", "json", "--quiet"]
        listed = runner.invoke([*listing, "--output-keys", "unique_id", *args, *common])
        if not listed.success:
            print(f"dbt ls {' '.join(args)} failed", file=sys.stderr)
            return 3
        lines = listed.result if isinstance(listed.result, list) else []
        selected.append([json.loads(line)["unique_id"] for line in lines])
    Path(tmp, "selected.json").write_text(json.dumps(selected), encoding="utf-8")
    Path(tmp, "compiled.json").write_text(json.dumps(_compiled(runner, common)), encoding="utf-8")
    return 0


def _compiled(runner: dbtRunner, common: list[str]) -> dict[str, str]:
    """Each model's compiled SQL by unique id; {} (with a line on stderr) when dbt cannot."""
    compiled = runner.invoke(["compile", "--select", "resource_type:model", *common])
    results = getattr(compiled.result, "results", None)
    if not compiled.success or results is None:
        print("dbt compile failed: models get no column lineage", file=sys.stderr)
        return {}
    return {
        r.node.unique_id: r.node.compiled_code
        for r in results
        if getattr(r.node, "compiled_code", None)
    }


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
