"""The JSON Schema of the estate config, for editors: `python -m fivetran_assets.estate.schema`.

It is generated from the pydantic models (`EstateFile`) and written to `config/schema.json`; a
test regenerates it and fails when the committed file is out of date. YAML files point editors at
it with `# yaml-language-server: $schema=./schema.json`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from fivetran_assets.estate.models import EstateFile

SCHEMA_PATH = Path("config") / "schema.json"


def estate_json_schema() -> dict[str, Any]:
    """The schema of the config as written (validation mode: what a user may type)."""
    schema = EstateFile.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def render() -> str:
    return json.dumps(estate_json_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the schema to the given path (default config/schema.json)."""
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else SCHEMA_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
