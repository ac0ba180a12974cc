"""`python -m fivetran_assets.snapshot.dbt_parse_main TMP PROJECT`: parse a dbt project once and
list the models each selection picks, with dbt's own `ls` on the parsed manifest.

Run in a subprocess by `dbt_manifest` (dbt keeps process-wide state). TMP holds `profiles.yml`
and `selections.json` (a list of argument lists; empty means every model); the manifest goes to
`TMP/target/manifest.json` and the picked unique ids to `TMP/selected.json`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


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
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
